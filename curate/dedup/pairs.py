"""Every pair of vectors at or above a cosine, found exactly, and the switch to the ANN index.

``similar_pairs`` compares every pair, but most pairs never reach a full product. Each vector is
turned to its set's principal axes, which keeps every dot product, and split into a *head* (the
first ``HEAD`` axes, where most of the set's length lies) and a tail. By Cauchy-Schwarz,
``a . b <= head(a) . head(b) + |tail(a)| |tail(b)|``, and that bound is one product of
``HEAD + 1`` numbers. Only pairs whose bound reaches the threshold are scored in full, and they
are scored on the original vectors. No pair is missed and none is added: the result is the
exhaustive product's.

On the 9,229 alpaca texts (static model, 256 dimensions, threshold 0.95), about 6,200 of 42.6
million pairs reach the bound, and the search takes 0.13 s against 0.24 to 0.30 s for full
products. At 0.85 and below most pairs reach it, and the search is as fast as full products
(``bench/pair_search.py``, docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from curate.dedup.ann import ann_pairs

HEAD = 32
"""Principal axes in the bound's head. Measured at 9,229 texts: 32 axes leave 6,289 candidate
pairs, 64 leave 523, and each of 32 to 96 takes 0.10 to 0.13 s (the comparison of every bound
with the threshold costs as much as the thinner product saves)."""

MARGIN = 1e-4
"""Slack on the bound for float32 rounding (about 1e-6 on a product of unit vectors), scaled
by the longest vector's squared length where that is over 1."""

_SAMPLE = 4096
"""Rows (evenly spaced) whose products find the principal axes."""

_ROWS = 65_536
"""Rows turned to the principal axes at a time (in float64)."""

DENSE = 0.01
"""Where more than this share of a block's pairs reaches the bound (a low threshold, a set of
near copies), that block and every later one is scored in full, without the bound."""


def similar_pairs(
    vectors: np.ndarray, threshold: float, block: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """All pairs ``i < j`` with ``vectors[i] . vectors[j] >= threshold``, exactly.

    Memory is ``block x n`` floats at a time, never ``n x n``. Each block is compared only with
    itself and the rows after it (the upper triangle), and in full only with the columns where
    one of its pairs reached the bound: where most do (a low threshold, a set of near copies),
    that is the whole block again.

    Args:
        vectors: one row per item (any length; L2-normalised rows give cosines).
        threshold: the product at or above which a pair is reported.
        block: rows compared at a time.

    Returns:
        ``(left, right)`` int64 arrays, sorted by ``(left, right)``.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    bounds = _bounds(vectors)
    longest = float(np.einsum("ij,ij->i", bounds, bounds).max()) if n else 0.0
    floor = threshold - MARGIN * max(longest, 1.0)
    lefts, rights = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    dense = bounds is vectors  # no bound to prune with
    for lo in range(0, n, block):
        width = n - lo  # the block's columns: its own rows and every row after them
        if not dense:
            passed = np.flatnonzero(bounds[lo : lo + block] @ bounds[lo:].T >= floor)
            # once a block has many pairs to score, it and every later block is scored in full
            dense = len(passed) > DENSE * min(block, width) * width
        if dense:
            full = np.flatnonzero(vectors[lo : lo + block] @ vectors[lo:].T >= threshold)
            rows, cols = _upper(full, width, lo)
        else:  # the block's products with the columns where some pair reached the bound
            rows, cols = _upper(passed, width, lo)
            wanted = np.zeros(n, dtype=bool)
            wanted[cols] = True
            at = np.cumsum(wanted) - 1
            keep = (vectors[lo : lo + block] @ vectors[wanted].T)[rows - lo, at[cols]] >= threshold
            rows, cols = rows[keep], cols[keep]
        lefts.append(rows)
        rights.append(cols)
    return np.concatenate(lefts).astype(np.int64), np.concatenate(rights).astype(np.int64)


SearchPath = Literal["exhaustive", "ann"]


def search_path(n: int, exhaustive_max: int) -> SearchPath:
    """How ``pairs_above`` searches ``n`` vectors: every pair, or the nearest-neighbour index."""
    return "exhaustive" if n <= exhaustive_max else "ann"


def pairs_above(
    vectors: np.ndarray, threshold: float, *, exhaustive_max: int, neighbours: int
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs at or above ``threshold``: exact up to ``exhaustive_max`` vectors, through the
    nearest-neighbour index (``curate.dedup.ann``) above it (``search_path`` says which)."""
    if search_path(len(vectors), exhaustive_max) == "exhaustive":
        return similar_pairs(vectors, threshold)
    return ann_pairs(vectors, threshold, neighbours=neighbours)


def _bounds(vectors: np.ndarray) -> np.ndarray:
    """Rows whose products bound the vectors' own from above: each vector's coordinates on the
    set's first ``HEAD`` principal axes, then the length of the rest. Vectors of ``HEAD + 1``
    dimensions or fewer are their own bound."""
    n, dim = vectors.shape
    if dim <= HEAD + 1 or n < 2:
        return vectors
    # The axes need not be exact, only orthonormal (eigh's are, to float64 precision), so an
    # evenly spaced sample of the set finds them.
    sample = vectors[:: max(1, n // _SAMPLE)]
    gram = (sample.T @ sample).astype(np.float64)
    _, axes = np.linalg.eigh(gram)  # ascending eigenvalues: the last axes hold the most
    top = axes[:, ::-1][:, :HEAD]
    out = np.empty((n, HEAD + 1), dtype=np.float32)
    for lo in range(0, n, _ROWS):
        part = vectors[lo : lo + _ROWS].astype(np.float64)
        head = part @ top
        rest = np.einsum("ij,ij->i", part, part) - np.einsum("ij,ij->i", head, head)
        out[lo : lo + _ROWS, :HEAD] = head
        out[lo : lo + _ROWS, HEAD] = np.sqrt(np.maximum(rest, 0.0))
    return out


def _upper(flat: np.ndarray, width: int, lo: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``(row, col)`` pairs, ``row < col``, at the flat positions (row-major, ``width``
    columns) where a block of rows from ``lo`` (against the columns from ``lo``) passed."""
    # flat positions, then (row, col): five times faster than a 2-D np.nonzero, same order
    rows, cols = np.divmod(flat, width)
    rows, cols = rows + lo, cols + lo
    keep = cols > rows
    return rows[keep], cols[keep]
