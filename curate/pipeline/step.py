"""Findings and steps: the contract every curation check follows.

A step is one object with one method over a Polars frame of records (``RECORD_SCHEMA``). It
returns findings (one row per record it has something to say about, with a reason code) and its
figures. ``run_steps`` applies the severity policy after each step: records with a ``drop``
finding leave the frame the next step sees; ``review`` and ``info`` findings only annotate.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import polars as pl
from pydantic import BaseModel, ConfigDict

Severity = Literal["drop", "review", "info"]

FINDING_SCHEMA: dict[str, pl.DataType] = {
    "record_id": pl.Utf8(),
    "row": pl.Int64(),
    "check": pl.Utf8(),
    "severity": pl.Utf8(),
    "reason": pl.Utf8(),
    "evidence": pl.Utf8(),
    "cluster_id": pl.Utf8(),
}
"""Polars schema of findings; ``evidence`` is JSON text (ids it relates to, similarity, spans)."""


class Finding(BaseModel):
    """What one check says about one record."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    record_id: str
    """The record's id."""
    row: int | None
    """The record's row in its source file."""
    check: str
    """The check that wrote it (``exact_dedup``, ``quality``, ``pii``, ...)."""
    severity: Severity
    """``drop`` removes the record from the curated set; ``review`` and ``info`` annotate."""
    reason: str
    """A reason code, counted in the report (``near_duplicate``, ``empty_output``, ...)."""
    evidence: dict[str, Any] = {}
    """Why: the id it duplicates and the similarity, the matched span, the eval item, ..."""
    cluster_id: str | None = None
    """The cluster it belongs to, for duplicate and conflict clusters."""


def findings_frame(findings: Sequence[Finding]) -> pl.DataFrame:
    """Findings to a frame of ``FINDING_SCHEMA``."""
    rows = [
        {**f.model_dump(), "evidence": json.dumps(f.evidence, sort_keys=True, default=str)}
        for f in findings
    ]
    return pl.DataFrame(rows, schema=FINDING_SCHEMA)


@dataclass
class StepResult:
    """What a step returns: its findings and its figures."""

    findings: pl.DataFrame
    """A frame of ``FINDING_SCHEMA``."""
    figures: dict[str, Any] = field(default_factory=dict)
    """Counts, thresholds used, timings: anything the report should show."""


class Step(Protocol):
    """A curation step: one object, one method."""

    name: str

    def run(self, records: pl.DataFrame) -> StepResult:
        """Examine the records (a frame of ``RECORD_SCHEMA``) and return findings and figures."""
        ...


@dataclass
class PipelineOutcome:
    """The result of ``run_steps``: what was kept, every finding, each step's figures."""

    kept: pl.DataFrame
    findings: pl.DataFrame
    figures: dict[str, dict[str, Any]]
    timings: dict[str, float]


def run_steps(
    records: pl.DataFrame,
    steps: Sequence[Step],
    severity: Mapping[str, Severity] | None = None,
) -> PipelineOutcome:
    """Run steps in order, dropping records with a ``drop`` finding before the next step.

    Args:
        records: a frame of ``RECORD_SCHEMA``.
        steps: the pipeline, a plain list.
        severity: overrides by check name or by reason code (reason wins), from the config.
    """
    severity = dict(severity or {})
    kept = records
    all_findings: list[pl.DataFrame] = []
    figures: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}
    for step in steps:
        start = time.perf_counter()
        result = step.run(kept)
        timings[step.name] = round(time.perf_counter() - start, 4)
        found = apply_severity(result.findings, severity)
        all_findings.append(found)
        figures[step.name] = result.figures
        dropped = found.filter(pl.col("severity") == "drop")["record_id"]
        if len(dropped):
            kept = kept.filter(~pl.col("id").is_in(dropped.implode()))
    findings = pl.concat(all_findings) if all_findings else pl.DataFrame(schema=FINDING_SCHEMA)
    return PipelineOutcome(kept=kept, findings=findings, figures=figures, timings=timings)


def apply_severity(findings: pl.DataFrame, overrides: Mapping[str, str]) -> pl.DataFrame:
    """Replace severities by check or reason code as the config says (reason wins)."""
    if not overrides or findings.is_empty():
        return findings
    by_check = pl.col("check").replace_strict(overrides, default=pl.col("severity"))
    return findings.with_columns(
        pl.col("reason").replace_strict(overrides, default=by_check).alias("severity")
    )
