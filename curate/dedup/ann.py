"""Pairs of nearly parallel vectors on large sets, through an approximate nearest-neighbour index.

``ann_pairs`` finds what ``curate.dedup.pairs.similar_pairs`` finds — every pair ``i < j``
whose cosine is at or above a threshold — without comparing every pair: a faiss inverted-file
index (``IndexIVFFlat``) splits the vectors into ``2·√n`` cells by spherical k-means, and each
vector's ``k`` nearest neighbours are looked for in the ``PROBES`` cells nearest to it; the
neighbours at or above the threshold are the pairs. A vector whose ``k``-th neighbour is still
above the threshold may have more, so it is asked again with twice the ``k`` until its list ends
below the threshold (a large duplicate cluster is found whole, not cut at ``k``).

The index stores the vectors themselves, so every reported similarity is the exact inner
product: the approximation can miss a pair, never invent one. Each candidate's cosine is
recomputed here in float32 and compared with the threshold, as the exact path does.

Deterministic: k-means starts from a fixed seed on a fixed sample and runs on one thread; the
assignment to cells and the search are exact computations over the cells, and use every thread.

faiss was chosen over usearch, and the inverted file over faiss's HNSW graph, by measurement on
this project's data (docs/benchmarks.md): at 200k vectors and threshold 0.95 the inverted file
took 54 s with a pair recall of 0.99986 against exact, the HNSW graph (M=32, one build thread
for determinism) 153 s with 0.9983.
"""

from __future__ import annotations

import math
import os

import numpy as np

from curate.errors import MissingExtra

NEIGHBOURS = 32
"""Neighbours asked for per vector in the first round."""
CELLS_PER_ROOT = 2
"""Cells of the inverted file: this many times the square root of the number of vectors."""
PROBES = 8
"""Cells searched per vector (the nearest to it): more finds more pairs, more slowly."""
TRAIN_PER_CELL = 40
"""Vectors per cell the k-means is trained on (a fixed sample; faiss wants at least 39)."""
KMEANS_ITERATIONS = 20
KMEANS_SEED = 1234
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
        index = _inverted_file(faiss, vectors)
        faiss.omp_set_num_threads(threads or os.cpu_count() or 1)
        index.add(vectors)
        lefts, rights = [], []
        todo = np.arange(n)
        k = min(neighbours, n)
        while len(todo):
            full = []  # whose every neighbour passed: they may have more
            for lo in range(0, len(todo), _QUERIES):
                asked = todo[lo : lo + _QUERIES]
                sims, ids = index.search(vectors[asked], k)
                rows = np.repeat(asked, k)
                cols = ids.ravel().astype(np.int64)
                keep = (cols >= 0) & (cols != rows) & (sims.ravel() >= threshold - MARGIN)
                lefts.append(np.minimum(rows[keep], cols[keep]))
                rights.append(np.maximum(rows[keep], cols[keep]))
                full.append(asked[sims[:, -1] >= threshold - MARGIN])
            if k >= n:
                break
            # ask those again with twice as many
            todo = np.concatenate(full)
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


def _inverted_file(faiss, vectors: np.ndarray):  # type: ignore[no-untyped-def]
    """An empty ``IndexIVFFlat`` whose cells are trained, on one thread, from a fixed sample."""
    n, dims = vectors.shape
    cells = max(1, min(n // TRAIN_PER_CELL, round(CELLS_PER_ROOT * math.sqrt(n))))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dims), dims, cells, faiss.METRIC_INNER_PRODUCT)
    index.cp.spherical = True  # centroids on the unit sphere, as the vectors are
    index.cp.niter = KMEANS_ITERATIONS
    index.cp.seed = KMEANS_SEED
    rng = np.random.default_rng(KMEANS_SEED)
    sample = np.sort(rng.choice(n, size=min(n, TRAIN_PER_CELL * cells), replace=False))
    faiss.omp_set_num_threads(1)
    index.train(vectors[sample])
    index.nprobe = min(PROBES, cells)
    return index


_CHUNK = 200_000
"""Pairs whose cosine is recomputed at a time (two rows of vectors each)."""

_QUERIES = 65_536
"""Vectors searched at a time. A search returns ``k`` neighbours and their products for each
vector, and pairs are made from them: for 500,000 vectors at ``k=32`` that is about 0.5 GB of
temporaries at once. A vector's neighbours do not depend on the others searched with it."""
