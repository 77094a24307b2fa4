"""The audit's Markdown summary, short enough for a pull-request comment."""

from __future__ import annotations

from typing import Any


def _row(*cells: Any) -> str:
    return "| " + " | ".join(f"{c:,}" if isinstance(c, int) else str(c) for c in cells) + " |"


def render_markdown(report: dict) -> str:
    """Verdict and reasons, counts, top findings, contradictions, format and diversity figures."""
    v = report.get("verdict") or {}
    figures = report.get("figures") or {}
    lines = [f"## tunesmith audit: `{report.get('input', '')}`", ""]
    lines += [f"**Verdict: {v.get('verdict', 'not computed')}**", ""]
    lines += [f"- {reason}" for reason in v.get("reasons", [])] or ["- No rule failed."]
    lines += ["", "| count | value |", "|---|---:|"]
    for key in ("n_input_rows", "n_rejected", "n_records", "n_dropped", "n_kept"):
        lines.append(_row(key.removeprefix("n_").replace("_", " "), int(report.get(key) or 0)))
    dropped = report.get("dropped_by_reason") or {}
    if dropped:
        lines += ["", "| dropped by reason | records |", "|---|---:|"]
        lines += [_row(k, n) for k, n in sorted(dropped.items(), key=lambda kv: -kv[1])]
    found = sorted((report.get("findings_by_reason") or {}).items(), key=lambda kv: -kv[1])[:12]
    if found:
        lines += ["", "| findings by reason | findings |", "|---|---:|"]
        lines += [_row(k, n) for k, n in found]
    c = figures.get("contradictions")
    if c:
        lines += [
            "",
            f"**Contradictions:** {c['conflicting_pairs']:,} conflicting pairs in "
            f"{c['conflict_clusters']:,} clusters ({c['records_in_conflict']:,} records); "
            f"by kind {c['pairs_by_kind']}; {c['divergent_unjudged']:,} divergent pairs "
            "left for a judge.",
        ]
    f = figures.get("format")
    if f:
        lines += [
            "",
            f"**Format:** {f['deviants']:,} answers off their task's dominant format; "
            f"{len(f['no_dominant_format'])} tasks with no dominant format; formats "
            f"{f['formats']}.",
        ]
    d = figures.get("diversity")
    if d:
        emb = d.get("embedding") or {}
        vendi = emb.get("prompts", {}).get("vendi")
        parts = [
            f"prompt distinct-2 {d['prompts']['distinct_2']}",
            f"answer distinct-2 {d['answers']['distinct_2']}",
            f"top template share {d['templates']['top_share']:.1%}",
        ]
        if vendi is not None:
            parts.append(f"prompt Vendi {vendi} (sample {emb['sample']})")
        if d.get("clusters"):
            parts.append(f"cluster entropy {d['clusters']['entropy']}")
        lines += ["", "**Diversity:** " + ", ".join(parts) + "."]
    vol = figures.get("volatile")
    if vol:
        lines += [
            "",
            f"**Volatile facts:** {vol['fact_heavy_share']:.1%} of answers are fact-heavy.",
        ]
    return "\n".join(lines) + "\n"
