"""Diversity-aware selection: it covers every region, is deterministic, keeps the row order."""

from __future__ import annotations

import numpy as np
import pytest

from curate.audit.select import cluster_balanced, farthest_point, select_diverse
from curate.errors import InputError


def blobs(sizes, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.eye(len(sizes), 6) * 10
    points = [centres[i] + rng.normal(scale=0.3, size=(n, 6)) for i, n in enumerate(sizes)]
    labels = np.repeat(np.arange(len(sizes)), sizes)
    return np.vstack(points), labels


def test_farthest_point_reaches_every_blob_even_a_tiny_one():
    x, labels = blobs([40, 40, 2])
    picked = farthest_point(x, 3)
    assert sorted(labels[picked].tolist()) == [0, 1, 2]
    assert farthest_point(x, 3) == picked  # deterministic
    # random picks of 3 would miss the 2-point blob most of the time
    assert len(set(picked)) == 3


def test_cluster_balanced_gives_each_cluster_its_share():
    x, labels = blobs([60, 20, 10])
    picked = cluster_balanced(x, 9, n_clusters=3)
    counts = np.bincount(labels[picked], minlength=3)
    assert counts.tolist() == [3, 3, 3]


def test_select_diverse_keeps_order_and_checks_its_input(sft_frame):
    frame = sft_frame([(f"question {i}", f"answer {i}") for i in range(12)])
    x, _ = blobs([6, 6])
    out = select_diverse(frame, 4, embeddings=x)
    assert out.height == 4 and out["row"].to_list() == sorted(out["row"].to_list())
    assert select_diverse(frame, 50, embeddings=x).height == 12
    balanced = select_diverse(frame, 4, method="balanced", embeddings=x)
    assert sorted(r // 6 for r in balanced["row"].to_list()) == [0, 0, 1, 1]
    with pytest.raises(InputError, match="k must be"):
        select_diverse(frame, 0, embeddings=x)
    with pytest.raises(InputError, match="unknown method"):
        select_diverse(frame, 3, method="random", embeddings=x)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="embeddings for"):
        select_diverse(frame, 3, embeddings=x[:5])


def test_select_diverse_with_the_real_embedder(sft_frame, minilm_path):
    topics = ["cooking pasta", "python programming", "football tactics"]
    frame = sft_frame(
        [
            (f"Tell me about {t}, part {i}.", f"Some notes on {t} number {i}.")
            for t in topics
            for i in range(5)
        ]
    )
    out = select_diverse(frame, 3)
    assert {r // 5 for r in out["row"].to_list()} == {0, 1, 2}
