"""Findings and steps: the contract every curation check follows.

A step is one object with one method over a Polars frame of records (``RECORD_SCHEMA``). It
returns findings (one row per record it has something to say about, with a reason code) and its
figures (a pydantic model of the step's own, defined beside it). ``run_steps`` applies the
config's severity overrides after each step: records with a ``drop`` finding leave the frame the
next step sees; ``review`` and ``info`` findings only annotate.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["drop", "review", "info"]

T = TypeVar("T")
OmitNone = Annotated[T | None, Field(exclude_if=lambda v: v is None)]
"""A figure a step reports only in some runs: ``None`` leaves its key out of the JSON."""

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


F = TypeVar("F", bound=BaseModel)


@dataclass
class StepResult(Generic[F]):
    """What a step returns: its findings and its figures."""

    findings: pl.DataFrame
    """A frame of ``FINDING_SCHEMA``."""
    figures: F
    """The step's figures model (``ExactFigures``, ``QualityFigures``, ...): counts, thresholds
    used, anything the report should show; ``curate.pipeline.result.Figures`` gathers them."""


class Step(Protocol):
    """A curation step: one object, one method."""

    name: str

    def run(self, records: pl.DataFrame) -> StepResult[Any]:
        """Examine the records (a frame of ``RECORD_SCHEMA``) and return findings and figures."""
        ...


@dataclass
class PipelineOutcome:
    """The result of ``run_steps``: what was kept, every finding, each step's figures."""

    kept: pl.DataFrame
    findings: pl.DataFrame
    figures: dict[str, BaseModel]
    """Each step's figures by step name."""
    timings: dict[str, float]


class SeverityOverrides(BaseModel):
    """Every severity override of a config, resolved into one policy (``apply_severity``).

    Precedence: a reason code in ``by_check_or_reason`` beats a check name there, which beats
    ``by_step``, which beats the severity the step wrote.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    by_check_or_reason: dict[str, Severity] = {}
    """Keyed by check name (``near_dedup``) or reason code (``near_duplicate``): the config's
    ``severity`` section."""
    by_step: dict[str, dict[str, Severity]] = {}
    """Keyed by check, then by that check's reason codes: a step section's own ``severity``
    (``[quality.severity]``), the same overrides scoped to one check."""


def run_steps(
    records: pl.DataFrame,
    steps: Sequence[Step],
    severity: SeverityOverrides | None = None,
) -> PipelineOutcome:
    """Run steps in order, dropping records with a ``drop`` finding before the next step.

    Args:
        records: a frame of ``RECORD_SCHEMA``.
        steps: the pipeline, a plain list.
        severity: the config's overrides (``CurateConfig.severity_overrides``).
    """
    severity = severity or SeverityOverrides()
    kept = records
    all_findings: list[pl.DataFrame] = []
    figures: dict[str, BaseModel] = {}
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


def apply_severity(findings: pl.DataFrame, overrides: SeverityOverrides) -> pl.DataFrame:
    """Replace severities as the overrides say; the one place a config changes a severity."""
    if findings.is_empty() or not (overrides.by_check_or_reason or overrides.by_step):
        return findings
    # by_step is keyed by "check.reason", the spelling of the config file
    scoped = {
        f"{check}.{reason}": level
        for check, levels in overrides.by_step.items()
        for reason, level in levels.items()
    }
    key = pl.concat_str("check", pl.lit("."), "reason")
    by_step = key.replace_strict(scoped, default=pl.col("severity"), return_dtype=pl.Utf8)
    named = overrides.by_check_or_reason
    by_check = pl.col("check").replace_strict(named, default=by_step, return_dtype=pl.Utf8)
    by_reason = pl.col("reason").replace_strict(named, default=by_check, return_dtype=pl.Utf8)
    return findings.with_columns(by_reason.alias("severity"))
