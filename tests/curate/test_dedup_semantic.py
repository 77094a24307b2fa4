"""Semantic deduplication with the real MiniLM model: paraphrases cluster, the cache is used."""

from __future__ import annotations

import json

import numpy as np
import pytest

from curate.dedup.semantic import SemanticConfig, SemanticDedup, similar_pairs
from curate.models.embed import embed_texts

PAIRS = [
    ("How do I reset my password?", "Click 'Forgot password' on the login page."),
    ("How can I reset my password?", "Click 'Forgot password' on the login page."),
    ("What is the boiling point of water at sea level?", "100 degrees Celsius."),
    ("At sea level, what temperature does water boil at?", "100 degrees Celsius."),
    ("Write a haiku about autumn leaves.", "Red leaves drift and fall / ..."),
    ("Give me a recipe for pancakes.", "Mix flour, eggs and milk, then fry."),
]


def test_similar_pairs_equals_brute_force():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(300, 16)).astype(np.float32)
    v[150:] = v[:150] + rng.normal(scale=0.05, size=(150, 16)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    left, right = similar_pairs(v, 0.9, block=64)
    sims = v @ v.T
    truth = {(i, j) for i in range(300) for j in range(i + 1, 300) if sims[i, j] >= 0.9}
    assert set(zip(left.tolist(), right.tolist(), strict=True)) == truth
    assert len(truth) >= 150


@pytest.mark.slow
def test_paraphrased_records_cluster_and_unrelated_do_not(sft_frame, store, minilm_path):
    frame = sft_frame(PAIRS)
    result = SemanticDedup(SemanticConfig(threshold=0.85), store=store).run(frame)
    found = result.findings
    assert sorted(found["row"].to_list()) == [1, 3]  # same answers: the earliest row is kept
    for row in found.iter_rows(named=True):
        evidence = json.loads(row["evidence"])
        assert evidence["similarity"] >= 0.85
        assert evidence["duplicate_of"] == frame["id"][row["row"] - 1]
        assert row["cluster_id"] == f"semantic:{evidence['duplicate_of']}"
    # The k-means path (forced by a tiny exhaustive limit) finds the same clusters here.
    clustered = SemanticDedup(
        SemanticConfig(threshold=0.85, exhaustive_max=2, cluster_size=10), store=store
    ).run(frame)
    assert clustered.figures.path == "kmeans"
    assert sorted(clustered.findings["row"].to_list()) == [1, 3]


@pytest.mark.slow
def test_embeddings_are_cached_in_the_store(store, minilm_path):
    texts = ["alpha beta", "gamma delta", "alpha beta"]
    first = embed_texts(texts, store=store)
    assert first.shape == (3, 384) and np.allclose(np.linalg.norm(first, axis=1), 1, atol=1e-5)
    assert np.array_equal(first[0], first[2])
    (rows,) = store.con.execute("SELECT count(*) FROM embeddings").fetchone()
    assert rows == 2
    store.con.execute("UPDATE embeddings SET vector = list_transform(vector, lambda x: 0.0)")
    again = embed_texts(texts, store=store)  # served from the store, not recomputed
    assert np.all(again == 0)
