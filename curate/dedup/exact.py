"""Exact duplicates: the same normalised text, over the whole record and over the prompt alone.

Whole-record copies (prompt and answers equal after ``curate.text.normalize``) are duplicates: one
representative is kept per cluster, the others get an ``exact_duplicate`` finding (``drop`` by
default). Records that share a prompt but differ in their answers are *not* duplicates: they get a
``same_prompt_different_answer`` finding (``info`` by default) with a ``prompt:`` cluster id, the
material the contradiction check works from.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict

from curate.dedup.clusters import choose_representatives, duplicate_findings, json_object, quoted
from curate.pipeline.step import FINDING_SCHEMA, OmitNone, StepResult
from curate.text.normalize import answer_text, hash_expr, messages_text, normalize_expr, record_text


class ExactConfig(BaseModel):
    """Exact deduplication."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    """Run the check."""
    prompt_groups: bool = True
    """Also group records by prompt alone and flag same-prompt, different-answer groups."""


class ExactFigures(BaseModel):
    """What exact deduplication found."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    duplicates: int
    """Records that copy another (``exact_duplicate`` findings)."""
    same_prompt_records: OmitNone[int] = None
    """Records sharing their prompt with a record whose answer differs (with ``prompt_groups``)."""
    same_prompt_groups: OmitNone[int] = None
    """Groups of such records, one per prompt (with ``prompt_groups``)."""
    clusters: int
    """Clusters of copies, each keeping one representative."""


def exact_keys(records: pl.DataFrame) -> pl.DataFrame:
    """The per-record work: hashes of the normalised record, prompt and answer (one row each).

    Row-wise, so any batching of the records gives the same keys.
    """
    return records.select(
        hash_expr(normalize_expr(record_text())).alias("record_key"),
        hash_expr(normalize_expr(messages_text("prompt"))).alias("prompt_key"),
        hash_expr(normalize_expr(answer_text())).alias("answer_key"),
    )


class ExactDedup:
    """Clusters of records whose normalised text is identical."""

    name = "exact_dedup"

    def __init__(self, config: ExactConfig | None = None) -> None:
        self.config = config or ExactConfig()

    def run(self, records: pl.DataFrame) -> StepResult[ExactFigures]:
        """Find whole-record copies (drop) and same-prompt groups (info)."""
        return self.from_keys(records, exact_keys(records))

    def from_keys(self, records: pl.DataFrame, keys: pl.DataFrame) -> StepResult[ExactFigures]:
        """The findings, given ``exact_keys(records)`` (computed here or by another executor)."""
        copies = self._copies(records, keys)
        groups = None
        if self.config.prompt_groups:
            groups = self._prompt_groups(records, keys, copies["record_id"])
        figures = ExactFigures(
            duplicates=len(copies),
            same_prompt_records=None if groups is None else len(groups),
            same_prompt_groups=None if groups is None else groups["cluster_id"].n_unique(),
            clusters=copies["cluster_id"].n_unique(),
        )
        found = [copies] if groups is None else [copies, groups]
        return StepResult(findings=pl.concat(found), figures=figures)

    def _copies(self, records: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
        labels = keys["record_key"].rank("dense").to_numpy().astype(np.int64)
        members = choose_representatives(records, labels).join(
            keys.with_row_index("idx").select(pl.col("idx").cast(pl.Int64), "record_key"),
            on="idx",
        )
        return duplicate_findings(
            members,
            check=self.name,
            reason="exact_duplicate",
            severity="drop",
            cluster_ids=pl.lit("exact:") + pl.col("record_key"),
            similarity=pl.lit(1.0),
        )

    def _prompt_groups(
        self, records: pl.DataFrame, keys: pl.DataFrame, dropped: pl.Series
    ) -> pl.DataFrame:
        frame = pl.concat([records.select("id", "row"), keys], how="horizontal").filter(
            ~pl.col("id").is_in(dropped.implode())
        )
        grouped = frame.filter(pl.len().over("prompt_key") > 1).filter(
            pl.col("answer_key").n_unique().over("prompt_key") > 1
        )
        if grouped.is_empty():
            return pl.DataFrame(schema=FINDING_SCHEMA)
        grouped = grouped.sort("row", "id").with_columns(
            pl.col("id").implode().over("prompt_key").alias("same_prompt_as"),
            pl.len().over("prompt_key").alias("size"),
        )
        ids = pl.col("same_prompt_as").list.eval(quoted(pl.element())).list.join(", ")
        evidence = json_object(
            {
                "same_prompt_as": pl.lit("[") + ids + pl.lit("]"),
                "group_size": pl.col("size").cast(pl.Utf8),
            }
        )
        return grouped.select(
            pl.col("id").alias("record_id"),
            "row",
            pl.lit(self.name).alias("check"),
            pl.lit("info").alias("severity"),
            pl.lit("same_prompt_different_answer").alias("reason"),
            evidence.alias("evidence"),
            (pl.lit("prompt:") + pl.col("prompt_key")).alias("cluster_id"),
        ).cast(FINDING_SCHEMA)  # type: ignore[arg-type]
