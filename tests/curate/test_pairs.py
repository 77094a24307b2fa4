"""Exact pair search: the bound prunes, but the pairs are every pair a full product finds."""

from __future__ import annotations

import numpy as np
import pytest

from curate.dedup import pairs
from curate.dedup.pairs import HEAD, similar_pairs


def _truth(v: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    sims = v.astype(np.float64) @ v.astype(np.float64).T
    i, j = np.nonzero(np.triu(sims >= threshold, k=1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


def _found(v: np.ndarray, threshold: float, **kw) -> set[tuple[int, int]]:  # type: ignore[no-untyped-def]
    left, right = similar_pairs(v, threshold, **kw)
    assert np.all(left < right)
    order = np.lexsort((right, left))
    assert np.array_equal(order, np.arange(len(left)))  # sorted by (left, right)
    found = set(zip(left.tolist(), right.tolist(), strict=True))
    assert len(found) == len(left)  # no pair twice
    return found


def _paraphrases(n: int, dim: int, noise: float, seed: int = 0) -> np.ndarray:
    """Unit rows: half random, half copies of the first half with noise up to ``noise`` (a
    different amount each), turned by a random rotation so that no coordinate holds more of
    their length than another."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n // 2, dim))
    scale = rng.uniform(0.0, noise, size=(n // 2, 1))
    v = np.vstack([base, base + scale * rng.normal(size=base.shape)])
    rotation, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    v = (v @ rotation).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("threshold", [0.99, 0.95, 0.9, 0.5, 0.0])
def test_pairs_equal_brute_force_at_every_threshold(threshold):
    v = _paraphrases(600, 128, noise=0.6)
    truth = _truth(v, threshold)
    assert _found(v, threshold, block=64) == truth
    if threshold >= 0.9:
        assert 0 < len(truth) < 600  # the bound had pairs to keep and pairs to prune


def test_the_bound_prunes_without_missing_near_the_threshold():
    # A pair a hair above the threshold and one a hair below, among many far apart.
    v = _paraphrases(400, 96, noise=2.0)
    cut = float(v[0] @ v[200])
    for threshold in (cut - 1e-6, cut + 1e-6):
        assert _found(v, threshold) == _truth(v, threshold)


def test_zero_rows_short_vectors_and_long_vectors():
    v = _paraphrases(300, 64, noise=0.1)
    v[::7] = 0.0  # a text with no known token embeds to zero: similar to nothing
    assert _found(v, 0.9) == _truth(v, 0.9)
    long = v * 3.0  # not normalised: products up to 9, the bound still holds
    assert _found(long, 8.0) == _truth(long, 8.0)
    short = _paraphrases(200, HEAD - 4, noise=0.1)  # no head to prune with: plain products
    assert _found(short, 0.9) == _truth(short, 0.9)
    assert _found(v[:1], 0.5) == set() and _found(v[:0], 0.5) == set()


def test_a_dense_block_is_scored_in_full(monkeypatch):
    v = _paraphrases(500, 64, noise=0.05)
    v[:200] = v[0]  # 200 copies of one vector: every pair among them passes
    monkeypatch.setattr(pairs, "DENSE", 0.0)  # every block dense from the first
    dense = _found(v, 0.95, block=50)
    monkeypatch.setattr(pairs, "DENSE", 1.0)  # never dense: every block through the bound
    pruned = _found(v, 0.95, block=50)
    assert dense == pruned == _truth(v, 0.95)
    assert len(dense) >= 200 * 199 // 2
