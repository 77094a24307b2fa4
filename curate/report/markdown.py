"""The audit's Markdown summary, short enough for a pull-request comment."""

from __future__ import annotations

from typing import Any

import polars as pl

from curate.pipeline.result import CurationResult
from curate.report.fixlist import rows_to_fix
from curate.report.masking import mask_report


def _row(*cells: Any) -> str:
    return "| " + " | ".join(f"{c:,}" if isinstance(c, int) else str(c) for c in cells) + " |"


def render_markdown(
    report: CurationResult,
    findings: pl.DataFrame | None = None,
    *,
    fix: list[tuple[str, pl.DataFrame]] | None = None,
) -> str:
    """Verdict and reasons, the rows behind each failed reason (fix order), counts, top
    findings, contradictions, format and diversity figures (any excerpt in them with its PII
    and secrets masked; the row list quotes no text)."""
    report = mask_report(report)
    v = report.verdict
    figures = report.figures
    lines = [f"## tunesmith audit: `{report.input}`", ""]
    lines += [f"**Verdict: {v.verdict if v else 'not computed'}**", ""]
    lines += [f"- {reason}" for reason in (v.reasons if v else [])] or ["- No rule failed."]
    for rule, part in fix if fix is not None else rows_to_fix(report, findings):
        label = rule.removeprefix("max_").replace("_", " ")
        lines += ["", f"**Rows to fix: {label}** ({part.height} findings, in fix order)", ""]
        for (reason,), group in part.group_by(["reason"], maintain_order=True):
            rows = ", ".join(str(r) for r in group["row"].to_list())
            lines.append(f"- `{reason}` ({group.height}): rows {rows}")
    lines += ["", "| count | value |", "|---|---:|"]
    for label, n in (
        ("input rows", report.n_input_rows),
        ("rejected", report.n_rejected),
        ("records", report.n_records),
        ("dropped", report.n_dropped),
        ("kept", report.n_kept),
    ):
        lines.append(_row(label, n))
    dropped = report.dropped_by_reason
    if dropped:
        lines += ["", "| dropped by reason | records |", "|---|---:|"]
        lines += [_row(k, n) for k, n in sorted(dropped.items(), key=lambda kv: -kv[1])]
    found = sorted(report.findings_by_reason.items(), key=lambda kv: -kv[1])[:12]
    if found:
        lines += ["", "| findings by reason | findings |", "|---|---:|"]
        lines += [_row(k, n) for k, n in found]
    c = figures.contradictions
    if c is not None:
        lines += [
            "",
            f"**Contradictions:** {c.conflicting_pairs:,} conflicting pairs in "
            f"{c.conflict_clusters:,} clusters ({c.records_in_conflict:,} records); "
            f"by kind {c.pairs_by_kind}; {c.divergent_unjudged:,} divergent pairs "
            "left for a judge.",
        ]
    f = figures.format
    if f is not None:
        lines += [
            "",
            f"**Format:** {f.deviants:,} answers off their task's dominant format; "
            f"{len(f.no_dominant_format)} tasks with no dominant format; formats "
            f"{f.formats}.",
        ]
    d = figures.diversity
    if d is not None:
        parts = [
            f"prompt distinct-2 {d.prompts.distinct_2}",
            f"answer distinct-2 {d.answers.distinct_2}",
            f"top template share {d.templates.top_share:.1%}",
        ]
        if d.embedding is not None:
            parts.append(f"prompt Vendi {d.embedding.prompts.vendi} (sample {d.embedding.sample})")
        if d.clusters is not None:
            parts.append(f"cluster entropy {d.clusters.entropy}")
        lines += ["", "**Diversity:** " + ", ".join(parts) + "."]
    vol = figures.volatile
    if vol is not None:
        lines += [
            "",
            f"**Volatile facts:** {vol.fact_heavy_share:.1%} of answers are fact-heavy.",
        ]
    return "\n".join(lines) + "\n"
