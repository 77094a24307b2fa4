"""Connected components of a large edge list, distributed and bounded in memory.

The algorithm is Kiveris et al.'s *large-star / small-star* ("Connected Components in MapReduce
and Beyond", SoCC 2014). Each pass groups the edges by one endpoint (``by_partition``: a
partition holds about 1/P of the edges, never the whole graph) and rewires every node's edges to
the smallest node it sees:

- large-star at ``u``: with ``m = min(u, neighbours)``, every neighbour ``v > u`` gets the edge
  ``(v, m)``;
- small-star at ``u``: with ``m = min(neighbours <= u)``, ``u`` and every smaller neighbour get the
  edge ``(·, m)``.

Alternating the two converges in O(log² n) rounds (a handful on duplicate graphs) to a forest of
stars whose centres are the smallest node of each component: the labels are those centres. We
chose it over min-label propagation, which needs a join of labels with edges per round and as
many rounds as the graph's diameter (long near-duplicate chains), and over hash-to-min, whose
per-node sets can grow to a whole component in one task. Each pass is a stage of the work folder,
so an interrupted run resumes at the pass it was in.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from curate.executors.ray_data import by_partition, dataset, read_frame, write_dataset
from curate.executors.workdir import WorkDir

EDGE_SCHEMA: dict[str, pl.DataType] = {"u": pl.Int64(), "v": pl.Int64(), "changed": pl.Boolean()}
"""Edges between stages: ``u < v`` always, and whether the pass that wrote it rewired it."""

MAX_ROUNDS = 64
"""A bound no real graph reaches (rounds grow as log² of the component size)."""


def components(work: WorkDir, edges: str, partitions: int) -> pl.DataFrame:
    """Label every node that has an edge with the smallest node of its component.

    Args:
        work: the step's work folder; ``edges`` names a finished stage of it with columns
            ``left``/``right`` (int64 node ids).
        edges: the stage holding the edges.
        partitions: shuffle partitions per pass.

    Returns:
        A frame ``node``/``root`` (int64), one row per node that has an edge, sorted by node.
    """
    source = edges
    columns = ["left", "right"]
    for rnd in range(MAX_ROUNDS):
        changed = 0
        for kind, fn in (("large", large_star), ("small", small_star)):
            stage = f"cc-{rnd:02d}-{kind}"

            def compute(folder, src=source, cols=columns, fn=fn):  # type: ignore[no-untyped-def]
                ds = dataset(work.path(src), cols).map_batches(
                    lambda t, c=cols: _both_ways(t, c), batch_format="pyarrow", batch_size=None
                )
                write_dataset(by_partition(ds, "u", partitions, fn), folder, EDGE_SCHEMA)
                return {"changed": int(read_frame(folder, ["changed"])["changed"].sum())}

            changed += work.stage(stage, compute)["changed"]
            source, columns = stage, ["u", "v"]
        if changed == 0:
            break
    else:
        raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")
    final = read_frame(work.path(source), ["u", "v"])
    return final.select(pl.col("v").alias("node"), pl.col("u").alias("root")).unique().sort("node")


def _both_ways(table, columns: list[str]):  # type: ignore[no-untyped-def]
    """Each undirected edge as two directed rows ``(u, v)``, so grouping by ``u`` sees every
    neighbour of ``u``."""
    import pyarrow as pa

    a = table.column(columns[0]).to_numpy().astype(np.int64)
    b = table.column(columns[1]).to_numpy().astype(np.int64)
    return pa.table({"u": np.r_[a, b], "v": np.r_[b, a]})


def _neighbourhoods(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct directed edges sorted by ``(u, v)``, and each row's group start."""
    uv = frame.select("u", "v").unique().sort("u", "v")
    u, v = uv["u"].to_numpy(), uv["v"].to_numpy()
    start = np.r_[True, u[1:] != u[:-1]]
    return u, v, start


def _edges(lo: np.ndarray, hi: np.ndarray, changed: np.ndarray) -> pl.DataFrame:
    out = pl.DataFrame({"u": lo, "v": hi, "changed": changed}, schema=EDGE_SCHEMA)
    # An edge written twice in one partition counts as changed if either copy was.
    return out.group_by("u", "v").agg(pl.col("changed").any()).sort("u", "v")


def large_star(frame: pl.DataFrame) -> pl.DataFrame:
    """Every neighbour ``v > u`` of ``u`` is linked to ``m = min(u, neighbours of u)``."""
    u, v, start = _neighbourhoods(frame)
    if not len(u):
        return pl.DataFrame(schema=EDGE_SCHEMA)
    first = np.flatnonzero(start)
    # v is sorted within each group, so the group minimum is its first v.
    m = np.minimum(u, np.repeat(v[first], np.diff(np.r_[first, len(u)])))
    pick = v > u
    return _edges(m[pick], v[pick], m[pick] != u[pick])


def small_star(frame: pl.DataFrame) -> pl.DataFrame:
    """``u`` and its smaller neighbours are linked to ``m``, the smallest of those neighbours."""
    u, v, _ = _neighbourhoods(frame)
    keep = v < u
    u, v = u[keep], v[keep]
    if not len(u):
        return pl.DataFrame(schema=EDGE_SCHEMA)
    start = np.r_[True, u[1:] != u[:-1]]
    first = np.flatnonzero(start)
    sizes = np.diff(np.r_[first, len(u)])
    m = np.repeat(v[first], sizes)
    alone = np.repeat(sizes == 1, sizes)  # u's only smaller neighbour is m: nothing moves
    lo = np.r_[m[v != m], m[start]]
    hi = np.r_[v[v != m], u[start]]
    changed = np.r_[np.ones(int((v != m).sum()), dtype=bool), ~alone[start]]
    return _edges(lo, hi, changed)
