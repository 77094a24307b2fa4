"""PII and secrets masked in everything the report quotes: one function, ``mask_text`` (the PII
step's own detector, masking the way its evidence does), applied to every excerpt.

A step's figures carry excerpts (contradiction pairs, volatile-fact answers, template skeletons,
cluster terms) and findings carry evidence (a quality span) that may quote a record in clear; the
report masks them all before it writes or renders anything. Figures and counts are untouched.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from curate.checks.pii import mask_text
from curate.checks.pii_spans import Options
from curate.pipeline.result import ClusterSummary, CurationResult, Figures


def report_options(report: CurationResult) -> Options:
    """What to mask: what the run's PII config detects (kinds, phone region, IP scopes)."""
    return report.config.pii.options()


def mask_value(value: Any, options: Options) -> Any:
    """A JSON-like value (str, list, dict) with every string in it masked, keys included."""
    if isinstance(value, str):
        return mask_text(value, options)
    if isinstance(value, list):
        return [mask_value(v, options) for v in value]
    if isinstance(value, dict):
        return {mask_value(k, options): mask_value(v, options) for k, v in value.items()}
    return value


def mask_report(report: CurationResult) -> CurationResult:
    """The result with the excerpts in its figures and clusters masked (everything else kept)."""
    options = report_options(report)
    figures = report.figures.model_dump(mode="json")
    clusters = [c.model_dump(mode="json") for c in report.clusters]
    masked_figures = mask_value(figures, options)
    masked_clusters = mask_value(clusters, options)
    if masked_figures == figures and masked_clusters == clusters:
        return report
    return report.model_copy(
        update={
            "figures": Figures.model_validate(masked_figures),
            "clusters": [ClusterSummary.model_validate(c) for c in masked_clusters],
        }
    )


def mask_evidence(evidence: str, options: Options) -> str:
    """One finding's evidence (JSON text) with the strings in it masked; unchanged if clean."""
    try:
        data = json.loads(evidence)
    except ValueError:
        return mask_text(evidence, options)
    masked = mask_value(data, options)
    # the same serialisation as ``findings_frame``, so clean evidence keeps its exact bytes
    return evidence if masked == data else json.dumps(masked, sort_keys=True, default=str)


def mask_findings(findings: pl.DataFrame, options: Options) -> pl.DataFrame:
    """Findings with their evidence masked (the same frame when nothing needed masking)."""
    if findings.is_empty() or "evidence" not in findings.columns:
        return findings
    before = findings["evidence"].to_list()
    after = [e if e is None else mask_evidence(e, options) for e in before]
    if after == before:
        return findings
    return findings.with_columns(pl.Series("evidence", after, dtype=pl.Utf8))
