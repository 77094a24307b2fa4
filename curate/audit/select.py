"""Cut a set down to k records that cover it: diversity-aware selection.

For users who must keep 1,000–5,000 good examples out of many more. Two methods over
embeddings of each record (prompt and answer):

- ``farthest``: greedy farthest-point (k-center) selection. It starts from the record nearest
  the centroid, then repeatedly adds the record farthest (cosine distance) from everything
  chosen so far; it covers outliers and every region of the space.
- ``balanced``: k-means into clusters, then round-robin over clusters, each cluster giving its
  records nearest the centre first; every topic gets its share, outliers do not dominate.

Both are deterministic: ties go to the earlier record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import polars as pl

from curate.audit.diversity import choose_k, kmeans, normalize_rows
from curate.audit.format_profile import answer_text
from curate.errors import InputError
from curate.records import text_of

Method = Literal["farthest", "balanced"]


def farthest_point(embeddings: np.ndarray, k: int) -> list[int]:
    """Indices of k rows chosen by greedy farthest-point selection (cosine distance)."""
    x = normalize_rows(np.asarray(embeddings, dtype=np.float64))
    n = len(x)
    if k >= n:
        return list(range(n))
    centroid = x.mean(axis=0)
    first = int(np.argmax(x @ centroid))
    chosen = [first]
    nearest = 1.0 - x @ x[first]  # distance from each row to its nearest chosen row
    nearest[first] = -np.inf
    for _ in range(k - 1):
        nxt = int(np.argmax(nearest))  # argmax returns the first maximum: earlier rows win ties
        chosen.append(nxt)
        nearest = np.minimum(nearest, 1.0 - x @ x[nxt])
        nearest[chosen] = -np.inf
    return chosen


def cluster_balanced(
    embeddings: np.ndarray, k: int, n_clusters: int | None = None, seed: int = 0
) -> list[int]:
    """Indices of k rows, round-robin over k-means clusters, nearest the centre first."""
    x = normalize_rows(np.asarray(embeddings, dtype=np.float64))
    n = len(x)
    if k >= n:
        return list(range(n))
    m = n_clusters or min(k, choose_k(n, max_k=50))
    labels, centres = kmeans(x, m, seed)
    queues = []
    for c in range(m):
        members = np.flatnonzero(labels == c)
        dist = np.linalg.norm(x[members] - centres[c], axis=1)
        queues.append(members[np.lexsort((members, dist))].tolist())
    queues.sort(key=lambda q: (-len(q), q[0] if q else n))
    chosen: list[int] = []
    depth = 0
    while len(chosen) < k:
        for q in queues:
            if depth < len(q) and len(chosen) < k:
                chosen.append(q[depth])
        depth += 1
    return chosen


def select_diverse(
    frame: pl.DataFrame,
    k: int,
    *,
    method: Method = "farthest",
    embeddings: np.ndarray | None = None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    seed: int = 0,
) -> pl.DataFrame:
    """Pick k records of a frame that cover it, kept in their original order.

    Args:
        frame: records (``RECORD_SCHEMA``).
        k: how many to keep; the whole frame when k >= its length.
        method: ``farthest`` (greedy k-center) or ``balanced`` (round-robin over k-means).
        embeddings: one row per record; computed with ``embed`` (default: the built-in MiniLM
            through ``curate.models.embed.embed_texts``) from prompt and answer when None.
        embed: texts -> embeddings, used when ``embeddings`` is None.
        seed: k-means seed for ``balanced``.

    Raises:
        InputError: k < 1, an unknown method, or embeddings of the wrong length.
    """
    if k < 1:
        raise InputError(f"select_diverse: k must be at least 1, got {k}")
    if method not in ("farthest", "balanced"):
        raise InputError(f"select_diverse: unknown method {method!r} (farthest or balanced)")
    if len(frame) <= k:
        return frame
    if embeddings is None:
        texts = [
            text_of(r["prompt"]) + "\n\n" + answer_text(r)
            for r in frame.select("kind", "prompt", "completion", "chosen").iter_rows(named=True)
        ]
        if embed is None:
            from curate.models.embed import embed_texts

            embed = embed_texts
        embeddings = embed(texts)
    if len(embeddings) != len(frame):
        raise InputError(f"select_diverse: {len(embeddings)} embeddings for {len(frame)} records")
    picked = (
        farthest_point(embeddings, k)
        if method == "farthest"
        else cluster_balanced(embeddings, k, seed=seed)
    )
    return frame[sorted(picked)]
