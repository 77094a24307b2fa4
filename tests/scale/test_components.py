"""The distributed connected-components pass (large-star / small-star), run here without Ray:
each pass's function on the whole edge list is what one partition computes on its share."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from curate.executors.components import large_star, small_star


def _both(edges: pl.DataFrame) -> pl.DataFrame:
    return pl.concat(
        [edges.select("u", "v"), edges.select(pl.col("v").alias("u"), pl.col("u").alias("v"))]
    )


def _partitioned(fn, edges: pl.DataFrame, parts: int) -> pl.DataFrame:
    """Run a pass as Ray would: grouped by ``u % parts``, outputs concatenated."""
    directed = _both(edges)
    out = [fn(directed.filter(pl.col("u") % parts == p)) for p in range(parts)]
    return pl.concat(out)


def _labels(n: int, left: np.ndarray, right: np.ndarray, parts: int) -> tuple[np.ndarray, int]:
    edges = pl.DataFrame({"u": left, "v": right}, schema={"u": pl.Int64, "v": pl.Int64})
    rounds = 0
    while rounds < 64:
        rounds += 1
        changed = 0
        for fn in (large_star, small_star):
            edges = _partitioned(fn, edges, parts)
            changed += int(edges["changed"].sum())
        if changed == 0:
            break
    labels = np.arange(n)
    labels[edges["v"].to_numpy()] = edges["u"].to_numpy()
    return labels, rounds


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("parts", [1, 3])
def test_matches_scipy_on_random_graphs(seed: int, parts: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    m = int(rng.integers(50, 500))
    left, right = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = left != right
    left, right = np.minimum(left, right)[keep], np.maximum(left, right)[keep]
    labels, _ = _labels(n, left, right, parts)
    _, expected = connected_components(
        coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n)), directed=False
    )
    assert _same_partition(labels, expected)
    # Every label is the smallest node of its component.
    for label in set(labels.tolist()):
        assert label == np.flatnonzero(labels == label).min()


def test_long_chain_converges_in_few_rounds() -> None:
    # A path of 2,000 nodes in shuffled order: min-label propagation would need ~2,000 rounds.
    rng = np.random.default_rng(0)
    order = rng.permutation(2_000)
    left, right = order[:-1], order[1:]
    labels, rounds = _labels(2_000, np.minimum(left, right), np.maximum(left, right), 4)
    assert (labels == 0).all()
    assert rounds <= 30


def test_stars_and_pairs_need_one_round() -> None:
    labels, rounds = _labels(6, np.array([0, 0, 4]), np.array([1, 2, 5]), 2)
    assert labels.tolist() == [0, 0, 0, 3, 4, 4]
    assert rounds == 1
