"""Pairs of nearly parallel vectors on large sets, through an approximate nearest-neighbour index.

``ann_pairs`` finds what ``curate.dedup.semantic.similar_pairs`` finds — every pair ``i < j``
whose cosine is at or above a threshold — without comparing every pair: a faiss HNSW graph gives
each vector its ``k`` nearest neighbours, and the neighbours at or above the threshold are the
pairs. A vector whose ``k``-th neighbour is still above the threshold may have more, so it is
asked again with twice the ``k`` until its list ends below the threshold (a large duplicate
cluster is found whole, not cut at ``k``).

The index stores the vectors themselves (``IndexHNSWFlat``), so every reported similarity is the
exact inner product: the approximation can miss a pair, never invent one. Each candidate's cosine
is recomputed here in float32 and compared with the threshold, as the exact path does.

The graph is built on one thread: HNSW insertion on several threads depends on their timing,
and a curation must give the same findings every run (measured: single-threaded builds were
identical run to run). Searching is read-only and uses every thread.

faiss was chosen over usearch by measurement on this project's data (docs/benchmarks.md).
"""

from __future__ import annotations

import os

import numpy as np

from curate.errors import MissingExtra

NEIGHBOURS = 32
"""Neighbours asked for per vector in the first round."""
CONNECTIVITY = 32
"""HNSW links per node (``M``)."""
EF_CONSTRUCTION = 128
"""Candidates kept while inserting a node: higher builds a better graph, more slowly."""
MARGIN = 1e-3
"""Candidates are taken this far below the threshold, then checked against it exactly, so that
a pair on the threshold is judged by the same float32 dot product as on the exact path."""


def ann_pairs(
    vectors: np.ndarray,
    threshold: float,
    *,
    neighbours: int = NEIGHBOURS,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """All pairs ``i < j`` with ``vectors[i] . vectors[j] >= threshold``, found approximately.

    Args:
        vectors: L2-normalised float32 rows.
        threshold: the cosine at or above which a pair is reported.
        neighbours: neighbours per vector in the first round (doubled where they all pass).
        threads: search threads (None: every CPU).

    Returns:
        ``(left, right)`` int64 arrays, sorted by ``(left, right)``.

    Raises:
        MissingExtra: faiss is not installed.
    """
    try:
        import faiss
    except ImportError as e:  # a core dependency; missing only in a trimmed install
        raise MissingExtra("approximate neighbour search needs: pip install faiss-cpu") from e
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    before = faiss.omp_get_max_threads()
    try:
        faiss.omp_set_num_threads(1)
        index = faiss.IndexHNSWFlat(vectors.shape[1], CONNECTIVITY, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = EF_CONSTRUCTION
        index.add(vectors)
        faiss.omp_set_num_threads(threads or os.cpu_count() or 1)
        lefts, rights = [], []
        todo = np.arange(n)
        k = min(neighbours, n)
        while len(todo):
            index.hnsw.efSearch = max(64, 2 * k)
            sims, ids = index.search(vectors[todo], k)
            rows = np.repeat(todo, k)
            cols = ids.ravel().astype(np.int64)
            keep = (cols >= 0) & (cols != rows) & (sims.ravel() >= threshold - MARGIN)
            lefts.append(np.minimum(rows[keep], cols[keep]))
            rights.append(np.maximum(rows[keep], cols[keep]))
            if k >= n:
                break
            # Whose every neighbour passed may have more: ask again with twice as many.
            todo = todo[sims[:, -1] >= threshold - MARGIN]
            k = min(2 * k, n)
    finally:
        faiss.omp_set_num_threads(before)
    # One int64 per pair (left * n + right): its sort is the (left, right) order.
    codes = np.unique(np.concatenate(lefts) * n + np.concatenate(rights))
    left, right = codes // n, codes % n
    keep = np.zeros(len(codes), dtype=bool)
    for lo in range(0, len(codes), _CHUNK):
        part = slice(lo, lo + _CHUNK)
        sims = np.einsum("ij,ij->i", vectors[left[part]], vectors[right[part]])
        keep[part] = sims >= threshold
    return left[keep], right[keep]


_CHUNK = 200_000
"""Pairs whose cosine is recomputed at a time (two rows of vectors each)."""
