"""Summaries of a run's findings for ``CurationResult``: counts by key, drops by reason, clusters."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from curate.checks.pii import mask_text
from curate.pipeline.result import ClusterSummary

MAX_CLUSTERS_PER_KIND = 50
"""Clusters listed in the report per kind (``exact``, ``near``, ...); all are in the findings."""

EXAMPLE_CHARS = 200
"""Characters of the representative's prompt shown as a cluster's example (PII and secrets in
it masked, as the findings' evidence masks them)."""


def counts_by(frame: pl.DataFrame, column: str) -> dict[str, int]:
    """Rows counted by the values of a column, keys sorted."""
    if frame.is_empty():
        return {}
    counts = frame.group_by(column).len().sort(column)
    return {str(k): int(v) for k, v in counts.iter_rows()}


def dropped_by_reason(findings: pl.DataFrame) -> dict[str, int]:
    """Dropped records by the reason that removed them: each record once, under its first
    ``drop`` finding (findings are in step order), so the counts sum to the records dropped."""
    drops = findings.filter(pl.col("severity") == "drop").unique(
        "record_id", keep="first", maintain_order=True
    )
    return counts_by(drops, "reason")


def cluster_summaries(findings: pl.DataFrame, records: pl.DataFrame) -> dict[str, Any]:
    """``n_clusters`` and ``clusters`` for ``CurationResult``: the largest clusters of each kind
    with their size, representative and the start of its prompt."""
    clustered = findings.filter(pl.col("cluster_id").is_not_null())
    if clustered.is_empty():
        return {"n_clusters": {}, "clusters": []}
    per = (
        clustered.group_by("cluster_id", maintain_order=True)
        .agg(
            pl.col("check").first(),
            pl.len().alias("findings"),
            pl.col("evidence").first(),
            pl.col("record_id").first().alias("first_member"),
        )
        .with_columns(pl.col("cluster_id").str.split(":").list.first().alias("kind"))
    )
    n_clusters = counts_by(per, "kind")
    rows = []
    for row in per.iter_rows(named=True):
        evidence = json.loads(row["evidence"] or "{}")
        rep = evidence.get("duplicate_of")
        size = evidence.get("cluster_size") or row["findings"] + (1 if rep else 0)
        rows.append({**row, "rep": rep, "size": int(size)})
    ranked = pl.DataFrame(rows).sort(
        ["kind", "size", "cluster_id"], descending=[False, True, False]
    )
    top = ranked.group_by("kind", maintain_order=True).head(MAX_CLUSTERS_PER_KIND)
    shown = top.with_columns(pl.coalesce("rep", "first_member").alias("example_id"))
    prompts = _prompts(records, shown["example_id"])
    clusters = [
        ClusterSummary(
            cluster_id=r["cluster_id"],
            check=r["check"],
            size=r["size"],
            representative_id=r["rep"],
            # masked before it is cut: half a key would no longer be recognised as one
            example=mask_text(prompts.get(r["example_id"], ""))[:EXAMPLE_CHARS],
        )
        for r in shown.sort(["size", "cluster_id"], descending=[True, False]).iter_rows(named=True)
    ]
    return {"n_clusters": n_clusters, "clusters": clusters}


def _prompts(records: pl.DataFrame, ids: pl.Series) -> dict[str, str]:
    last_user = pl.col("prompt").list.eval(pl.element().struct.field("content")).list.last()
    found = records.filter(pl.col("id").is_in(ids.implode())).select("id", last_user.alias("p"))
    return {i: p or "" for i, p in found.iter_rows()}


def kind_counts(records: pl.DataFrame) -> dict[str, int]:
    """Records by kind, KTO split by label: desirable and undesirable answers are counted apart."""
    kind = (
        pl.when(pl.col("kind") != "kto")
        .then(pl.col("kind"))
        .when(pl.col("label"))
        .then(pl.lit("kto_desirable"))
        .otherwise(pl.lit("kto_undesirable"))
    )
    counts = records.select(kind.alias("k"))["k"].value_counts()
    return {k: int(n) for k, n in sorted(counts.iter_rows())}
