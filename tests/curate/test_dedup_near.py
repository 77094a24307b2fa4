"""Near deduplication: the MinHash engine equals datasketch, LSH parameters, clusters, findings."""

from __future__ import annotations

import json
import random

import datasketch
import numpy as np
import pytest

from curate.dedup.minhash import (
    exact_jaccard,
    optimal_bands,
    shingle_hash,
    shingle_hashes,
    shingles,
    signatures,
)
from curate.dedup.near import NearConfig, NearDedup
from curate.text.normalize import normalize_text

TEXTS = [
    "give three tips for staying healthy",
    "give three tips for staying wealthy",
    "a",
    "",
    "naïve café 東京 tower",
    "one two",
    " ".join(f"word{i}" for i in range(60)),
]


@pytest.mark.parametrize(("kind", "n"), [("char", 5), ("word", 3), ("char", 2)])
def test_signatures_equal_datasketch_with_the_same_hash(kind, n):
    hashes, counts = shingle_hashes(TEXTS, kind, n)
    sigs = signatures(hashes, counts, 128, seed=7)
    for text, sig in zip(TEXTS, sigs, strict=True):
        m = datasketch.MinHash(num_perm=128, seed=7, hashfunc=shingle_hash)
        for s in shingles(text, kind, n):
            m.update(s)
        assert np.array_equal(m.hashvalues, sig), text


def test_sha1_mode_equals_plain_datasketch():
    hashes, counts = shingle_hashes(TEXTS, "char", 5, hashfunc="sha1")
    sigs = signatures(hashes, counts, 64, seed=1)
    for text, sig in zip(TEXTS, sigs, strict=True):
        m = datasketch.MinHash(num_perm=64)
        m.update_batch([s.encode("utf-8") for s in shingles(text, "char", 5)])
        assert np.array_equal(m.hashvalues, sig), text


def test_shingles_of_short_texts_are_the_text_itself():
    assert shingles("abc", "char", 5) == ["abc"]
    assert shingles("one two", "word", 3) == ["one two"]
    assert shingles("", "char", 5) == []
    assert shingles("abcdef", "char", 5) == ["abcde", "bcdef"]


@pytest.mark.parametrize(("num_perm", "fn_weight"), [(64, 0.5), (128, 0.5), (128, 0.8)])
def test_bands_and_rows_are_datasketchs_optimum(num_perm, fn_weight):
    for threshold in (0.5, 0.65, 0.7, 0.8, 0.9, 0.95):
        lsh = datasketch.MinHashLSH(
            threshold=threshold, num_perm=num_perm, weights=(1 - fn_weight, fn_weight)
        )
        assert optimal_bands(threshold, num_perm, fn_weight) == (lsh.b, lsh.r)


def test_exact_jaccard_matches_python_sets():
    rng = random.Random(0)
    words = ["the", "cat", "sat", "on", "a", "mat", "with", "another", "hat", "and", "bat"]
    texts = [" ".join(rng.choices(words, k=rng.randint(1, 30))) for _ in range(40)]
    hashes, counts = shingle_hashes(texts, "word", 2)
    left = np.array([rng.randrange(40) for _ in range(100)])
    right = np.array([rng.randrange(40) for _ in range(100)])
    got = exact_jaccard(hashes, counts, left, right)
    for k, (i, j) in enumerate(zip(left, right, strict=True)):
        a, b = set(shingles(texts[i], "word", 2)), set(shingles(texts[j], "word", 2))
        assert got[k] == pytest.approx(len(a & b) / len(a | b))


def _corpus(sft_frame):
    base = [
        (
            "Write a short poem about the sea and the wind at night.",
            "The sea sings softly to the wind, the night is deep and wide.",
        ),
        (
            "Explain why the sky is blue in two sentences.",
            "Sunlight scatters off air molecules. Blue light scatters most, so the sky looks blue.",
        ),
        ("Translate 'good morning' into French.", "Bonjour."),
        ("Name three prime numbers greater than ten.", "11, 13 and 17."),
    ]
    edited = [
        (
            "Write a short poem about the sea and the wind at night!",
            "The sea sings softly to the wind; the night is deep and so wide.",
        ),
        (
            "Explain why the sky is blue in 2 sentences.",
            "Sunlight scatters off air molecules. Blue light scatters the most, so the sky looks blue.",
        ),
    ]
    return sft_frame(base + edited)


def test_lightly_edited_copies_are_clustered_with_their_source(sft_frame):
    frame = _corpus(sft_frame)
    result = NearDedup(NearConfig(threshold=0.7)).run(frame)
    found = result.findings
    assert sorted(found["row"].to_list()) == [0, 1]  # the longer edited copies are kept
    for row in found.iter_rows(named=True):
        evidence = json.loads(row["evidence"])
        assert evidence["similarity"] >= 0.7
        assert row["cluster_id"] == f"near:{evidence['duplicate_of']}"
        assert evidence["duplicate_of"] == frame["id"][row["row"] + 4]
    assert result.figures.bands * result.figures.rows <= 128


def test_unrelated_records_and_high_threshold_find_nothing(sft_frame):
    frame = _corpus(sft_frame)
    assert NearDedup().run(frame.head(4)).findings.is_empty()
    assert NearDedup(NearConfig(threshold=0.99)).run(frame).findings.is_empty()


@pytest.mark.parametrize("verify", ["exact", "signature", "none"])
def test_every_verification_mode_finds_the_edited_copies(sft_frame, verify):
    frame = _corpus(sft_frame)
    found = NearDedup(NearConfig(verify=verify)).run(frame).findings
    assert sorted(found["row"].to_list()) == [0, 1]


def test_long_records_use_word_shingles_in_auto_mode(sft_frame):
    long = " ".join(f"token{i}" for i in range(500))
    frame = sft_frame([("Summarise", long), ("Summarise", long.replace("token7 ", "token7x "))])
    result = NearDedup().run(frame)
    assert result.figures.shingles.model_dump() == {"char": 0, "word": 2}
    assert len(result.findings) == 1


def test_clusters_are_transitive_and_keep_one_representative(sft_frame):
    text = "the quick brown fox jumps over the lazy dog near the quiet river bank today"
    chain = [
        text,
        text.replace("quick", "quack"),
        text.replace("quick", "quack").replace("lazy", "lazzy"),
    ]
    frame = sft_frame([(t, "Okay.") for t in chain] + [("Something else entirely", "No.")])
    found = NearDedup(NearConfig(threshold=0.8)).run(frame).findings
    assert len(found) == 2 and found["cluster_id"].n_unique() == 1
    reps = {json.loads(e)["duplicate_of"] for e in found["evidence"]}
    assert reps == {frame["id"][0]}  # equal completeness and length: the earliest row


def test_normalised_text_is_what_gets_shingled():
    assert shingles(normalize_text("Hello, World!"), "char", 5) == shingles(
        "hello world", "char", 5
    )
