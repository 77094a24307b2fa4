"""Semantic deduplication with the real models: paraphrases cluster, the cache is used, the
approximate path finds what the exact one does, and a run embeds each text once."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from curate.dedup.ann import ann_pairs
from curate.dedup.pairs import similar_pairs
from curate.dedup.semantic import SemanticConfig, SemanticDedup
from curate.models.embed import Embedder, cache_model, embed_texts

PAIRS = [
    ("How do I reset my password?", "Click 'Forgot password' on the login page."),
    ("How can I reset my password?", "Click 'Forgot password' on the login page."),
    ("What is the boiling point of water at sea level?", "100 degrees Celsius."),
    ("At sea level, what temperature does water boil at?", "100 degrees Celsius."),
    ("Write a haiku about autumn leaves.", "Red leaves drift and fall / ..."),
    ("Give me a recipe for pancakes.", "Mix flour, eggs and milk, then fry."),
]


def _clustered(n_clusters: int, size: int, dim: int = 32, noise: float = 0.03) -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(n_clusters, dim))
    v = np.repeat(centres, size, axis=0) + rng.normal(scale=noise, size=(n_clusters * size, dim))
    v = np.vstack([v, rng.normal(size=(n_clusters * size, dim))]).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _pairs(left: np.ndarray, right: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(left.tolist(), right.tolist(), strict=True))


def test_ann_pairs_equal_exact_pairs_even_for_clusters_larger_than_k():
    # 40 tight clusters of 50: every member has 49 neighbours above the threshold, more than
    # the 8 asked for first, so the result is whole only if saturated lists are asked again.
    v = _clustered(40, 50)
    exact = _pairs(*similar_pairs(v, 0.9))
    found = ann_pairs(v, 0.9, neighbours=8)
    assert _pairs(*found) == exact
    assert len(exact) == 40 * 50 * 49 // 2
    assert np.all(found[0] < found[1])


def test_ann_pairs_are_the_same_searched_a_few_vectors_at_a_time(monkeypatch):
    # The index is searched _QUERIES vectors at a time (bounded memory); saturated lists asked
    # again come from several of those batches. Batches of 7 give the one-batch result.
    import curate.dedup.ann as ann

    v = _clustered(40, 50)
    whole = ann_pairs(v, 0.9, neighbours=8)
    monkeypatch.setattr(ann, "_QUERIES", 7)
    batched = ann_pairs(v, 0.9, neighbours=8)
    assert np.array_equal(whole[0], batched[0]) and np.array_equal(whole[1], batched[1])
    assert len(whole[0]) == 40 * 50 * 49 // 2


def test_ann_path_is_deterministic():
    v = _clustered(30, 20, noise=0.2)
    first, again = ann_pairs(v, 0.8), ann_pairs(v, 0.8)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])


def test_the_static_model_embeds_without_torch():
    code = (
        "import sys; from curate.models.embed import embed_texts; "
        "v = embed_texts(['a cat sat', 'a cat sat down', 'stock prices fell']); "
        "print(v.shape, round(float(v[0] @ v[1]), 3) > round(float(v[0] @ v[2]), 3), "
        "'torch' in sys.modules)"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["(3,", "256)", "True", "False"]


def test_paraphrased_records_cluster_and_unrelated_do_not(sft_frame, store):
    frame = sft_frame(PAIRS)
    result = SemanticDedup(SemanticConfig(threshold=0.85), store=store).run(frame)
    found = result.findings
    assert result.figures.model == "minilm-static" and result.figures.path == "exhaustive"
    assert sorted(found["row"].to_list()) == [1, 3]  # same answers: the earliest row is kept
    for row in found.iter_rows(named=True):
        evidence = json.loads(row["evidence"])
        assert evidence["similarity"] >= 0.85
        assert evidence["duplicate_of"] == frame["id"][row["row"] - 1]
        assert row["cluster_id"] == f"semantic:{evidence['duplicate_of']}"
    # The approximate path (forced by a tiny exhaustive limit) finds the same clusters.
    ann = SemanticDedup(SemanticConfig(threshold=0.85, exhaustive_max=2), store=store).run(frame)
    assert ann.figures.path == "ann"
    assert ann.findings.equals(found)


def test_default_threshold_keeps_a_reworded_question_apart(sft_frame):
    # 0.95 is calibrated for precision: a light rewording (0.99) is a duplicate, a question
    # asked in other words (about 0.93 with the static model) is kept.
    frame = sft_frame(PAIRS)
    found = SemanticDedup().run(frame).findings
    assert found["row"].to_list() == [1]


KEY = "sk-proj-Xq3vT9mL2kR7wP4nZ8yB1cD6fG0hJ5sA3eU9iO2lK7xN4"
OTHER_KEY = "sk-proj-Lp8wQ2nV5tR1xK9mZ3bY7cF4gD6hJ0sA2eU8iO5lK1xM3"


def test_a_shared_key_does_not_make_records_duplicates_and_other_keys_do_not_part_copies(
    sft_frame,
):
    frame = sft_frame(
        [
            (f"{KEY} is my key, why does the API reject it?", f"Rotate {KEY} today."),
            ("Finish the config file", f"api_key = {KEY} and then the rest of the"),
            ("Store this token in the vault for me", f"Stored {KEY} in the vault."),
            ("Store this token in the vault for me", f"Stored {OTHER_KEY} in the vault."),
        ]
    )
    answers = frame["completion"].list.first().struct.field("content").to_list()
    vectors = Embedder()(answers)
    assert float(vectors[0] @ vectors[1]) < 0.8  # the key alone made these two alike
    found = SemanticDedup().run(frame).findings
    # records 0 and 1 share only the key: kept; 2 and 3 differ only by their key: one record
    assert found["row"].to_list() == [3]


def test_one_embedder_embeds_each_text_once_across_calls(store):
    embed = Embedder(store=store)
    first = embed(["alpha beta", "gamma delta", "alpha beta"])
    again = embed(["gamma delta", "epsilon"])
    assert embed.encoded == 3  # "alpha beta", "gamma delta", "epsilon"
    assert np.array_equal(first[1], again[0])
    # A second embedder (a later run) finds every vector in the store.
    later = Embedder(store=store)
    assert np.array_equal(later(["epsilon", "alpha beta"]), np.stack([again[1], first[0]]))
    assert later.encoded == 0


def test_embeddings_are_cached_in_the_store(store):
    texts = ["alpha beta", "gamma delta", "alpha beta"]
    first = embed_texts(texts, store=store)
    assert first.shape == (3, 256) and np.allclose(np.linalg.norm(first, axis=1), 1, atol=1e-5)
    assert np.array_equal(first[0], first[2])
    (rows,) = store.con.execute("SELECT count(*) FROM embeddings").fetchone()
    assert rows == 2
    (key,) = store.con.execute("SELECT DISTINCT model FROM embeddings").fetchone()
    assert key == cache_model("minilm-static", 128) and key.startswith("minilm-static@")
    store.con.execute("UPDATE embeddings SET vector = list_transform(vector, lambda x: 0.0)")
    again = embed_texts(texts, store=store)  # served from the store, not recomputed
    assert np.all(again == 0)


@pytest.mark.slow
def test_a_sentence_transformers_model_stays_selectable(sft_frame, store, minilm_path):
    frame = sft_frame(PAIRS)
    config = SemanticConfig(model="minilm", threshold=0.85)
    result = SemanticDedup(config, store=store).run(frame)
    assert result.figures.model == "minilm"
    assert sorted(result.findings["row"].to_list()) == [1, 3]
    (dims,) = store.con.execute(
        "SELECT DISTINCT len(vector) FROM embeddings WHERE model = 'minilm#128'"
    ).fetchone()
    assert dims == 384
