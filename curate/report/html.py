"""The audit report as one self-contained HTML page: inline CSS and SVG, no script, no network.

Built from a ``CurationResult`` (the ``report.json`` contract, parsed) and, for examples, the
findings frame. Every excerpt it quotes (records, evidence, pairs, chart labels) has its PII and
secrets masked first (``curate.report.masking``). Sections: summary and verdict; every row behind
each failed verdict rule, in fix order; counts and the waterfall of what was dropped;
duplicate clusters; contradiction pairs side by side; format profile; quality defects by type;
PII and leakage; diversity with its charts; the verdict's thresholds explained.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import Any

import polars as pl

from curate.pipeline.result import CurationResult
from curate.report import charts
from curate.report.fixlist import FIXLIST_NAME, SHOWN, rows_to_fix
from curate.report.masking import Masker, mask_report, report_options

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d232a;
background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px} h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid
#d8dde3;padding-bottom:4px} h3{font-size:15px;margin:16px 0 6px}
section{background:#fff;border:1px solid #e2e6ea;border-radius:8px;padding:8px 18px 16px;
margin:16px 0}
table{border-collapse:collapse;margin:8px 0;font-size:13px} td,th{border-bottom:1px solid #eceff2;
padding:4px 10px;text-align:left;vertical-align:top} th{background:#f2f4f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;padding:6px 14px;border-radius:16px;font-weight:600;color:#fff}
.v-ready{background:#2e7d32} .v-fix{background:#c62828} .v-small{background:#ef6c00}
.v-retrieval{background:#6a1b9a}
.muted{color:#5f6b76;font-size:12px}
figure.chart{margin:12px 0} figure.chart svg{max-width:100%;height:auto}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:10px;margin:6px 0 14px}
.pair>div{background:#fafbfc;border:1px solid #e2e6ea;border-radius:6px;padding:8px}
pre{white-space:pre-wrap;word-break:break-word;margin:4px 0;font-size:12px}
mark{background:#ffe08a} details{margin:4px 0} summary{cursor:pointer}
.ok{color:#2e7d32} .bad{color:#c62828;font-weight:600}
"""
_VERDICT_CLASS = {
    "ready": "v-ready",
    "fix data first": "v-fix",
    "too small / too narrow": "v-small",
    "consider retrieval instead": "v-retrieval",
}


def _table(rows: list[list[Any]], head: list[str]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, int | float) and not isinstance(v, bool):
            return (
                f'<td class="num">{v:,.4g}</td>'
                if isinstance(v, float)
                else f'<td class="num">{v:,}</td>'
            )
        return f"<td>{escape(str(v))}</td>"

    body = "".join("<tr>" + "".join(cell(v) for v in r) + "</tr>" for r in rows)
    return "<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + f"</tr>{body}</table>"


def _chart(name: str, svg: str, caption: str) -> str:
    return (
        f'<figure class="chart" id="chart-{name}">{svg}'
        f'<figcaption class="muted">{escape(caption)}</figcaption></figure>'
    )


def _pre(text: Any, limit: int = 1200) -> str:
    text = str(text or "")
    return "<pre>" + escape(text if len(text) <= limit else text[:limit] + "…") + "</pre>"


def _summary(r: CurationResult) -> str:
    v = r.verdict
    name = v.verdict if v else "not computed"
    reasons = (
        "".join(f"<li>{escape(x)}</li>" for x in (v.reasons if v else []))
        or "<li>No rule failed.</li>"
    )
    counts = [
        ["input rows", r.n_input_rows],
        ["rejected (unreadable)", r.n_rejected],
        ["records", r.n_records],
        ["dropped", r.n_dropped],
        ["kept", r.n_kept],
    ]
    return (
        f'<section id="summary"><h2>Summary and verdict</h2>'
        f'<p><span class="verdict {_VERDICT_CLASS.get(name, "v-small")}">{escape(name)}</span></p>'
        f"<ul>{reasons}</ul>{_table(counts, ['count', 'value'])}"
        f'<p class="muted">Input: {escape(r.input)} · run {escape(r.run_id)}'
        f" · tunesmith {escape(r.tool_version)}</p></section>"
    )


def _counts(r: CurationResult) -> str:
    steps = [(f"rejected: {k}", n) for k, n in sorted(r.rejected_by_reason.items())]
    steps += [
        (f"dropped: {k}", n) for k, n in sorted(r.dropped_by_reason.items(), key=lambda kv: -kv[1])
    ]
    out = '<section id="counts"><h2>Counts: what was dropped and why</h2>'
    out += _chart(
        "waterfall",
        charts.waterfall(steps, r.n_input_rows, "From input rows to kept records"),
        "Each bar removes the rows or records of one reason code; nothing leaves silently.",
    )
    by_reason = sorted(r.findings_by_reason.items(), key=lambda kv: -kv[1])
    if by_reason:
        out += _chart(
            "findings",
            charts.bar_chart(
                [k for k, _ in by_reason[:20]],
                [v for _, v in by_reason[:20]],
                "Findings by reason (any severity)",
                "findings",
            ),
            "drop findings removed records; review and info findings only annotate.",
        )
    sev = r.findings_by_severity
    out += _table([[k, v] for k, v in sorted(sev.items())], ["severity", "findings"])
    return out + "</section>"


def _duplicates(r: CurationResult) -> str:
    # conflict clusters have their own section; here the duplicate (and same-prompt) ones
    clusters = [c for c in r.clusters if c.check != "contradictions"]
    out = '<section id="duplicates"><h2>Duplicate clusters</h2>'
    out += _table([[k, v] for k, v in sorted(r.n_clusters.items())], ["kind", "clusters"])
    for c in clusters[:40]:
        out += (
            f"<details><summary>{escape(c.check)} · {c.size} records · "
            f"{escape(c.cluster_id)}</summary>"
            f"<p class=muted>kept: {escape(str(c.representative_id))}</p>"
            f"{_pre(c.example, 600)}</details>"
        )
    return out + "</section>"


_SEARCH = {"exhaustive": "every pair (exact)", "ann": "approximate index"}


def _contradictions(r: CurationResult) -> str:
    f = r.figures.contradictions
    if f is None:
        return ""
    out = '<section id="contradictions"><h2>Contradictions</h2>'
    out += _table(
        [
            ["candidate pairs", f.candidate_pairs],
            ["prompt neighbours searched", _SEARCH[f.path]],
            ["conflicting pairs", f.conflicting_pairs],
            ["divergent pairs not judged", f.divergent_unjudged],
            ["conflict clusters", f.conflict_clusters],
            ["records in conflict", f.records_in_conflict],
        ],
        ["figure", "value"],
    )
    out += _table([[k, v] for k, v in f.pairs_by_kind.items()], ["pair kind", "pairs"])
    for p in f.pairs[:60]:
        sides = ""
        for s in (p.a, p.b):
            sides += (
                f"<div><b>row {s.row}</b> · proposal: {escape(str(s.proposal))}"
                f"<br><mark>{escape(s.span)}</mark>{_pre(s.answer, 800)}</div>"
            )
        judge = (
            f" · judge: {escape(json.dumps(p.judge.model_dump()))}" if p.judge is not None else ""
        )
        out += (
            f"<h3>{escape(p.kind)} ({escape(p.via)}){judge}</h3>{_pre(p.prompt, 400)}"
            f'<div class="pair">{sides}</div>'
        )
    return out + "</section>"


def _format(r: CurationResult) -> str:
    f = r.figures.format
    if f is None:
        return ""
    out = '<section id="format"><h2>Format and tone profile</h2>'
    out += _chart(
        "formats",
        charts.bar_chart(list(f.formats), list(f.formats.values()), "Answer formats", "answers"),
        f"{f.deviants} answers deviate from their task's dominant format "
        f"(dominance ≥ {f.dominance:.0%}, tasks of ≥ {f.min_task_size} answers).",
    )
    tone: list[list[Any]] = [
        ["length", json.dumps(f.length_buckets)],
        ["person", json.dumps(f.person)],
        ["formality", json.dumps(f.formality)],
        ["language", json.dumps(f.languages)],
        ["refusals", f.refusals],
        ["JSON answers", f.json_answers],
    ]
    out += _table(tone, ["profile", "distribution"])
    rows = [
        [t.task, t.size, t.dominant or "none", t.dominant_share, json.dumps(t.formats)]
        for t in f.tasks
    ]
    out += f"<h3>Per task (clusters of instructions, by {escape(f.task_clustering)})</h3>"
    out += _table(rows, ["task", "answers", "dominant format", "share", "formats"])
    if f.no_dominant_format:
        out += "<h3>Tasks with no dominant format</h3>"
        out += _table(
            [[t.task, t.size, json.dumps(t.formats)] for t in f.no_dominant_format],
            ["task", "answers", "formats"],
        )
    return out + "</section>"


Quote = Callable[[str], tuple[str, str] | None]
"""Record id -> (prompt, answer) of a curated record, or None where it is not in the set."""


def _quoter(records: pl.DataFrame | None) -> Quote:
    """Look up a curated record's texts by id, one record when it is quoted (the page quotes a
    few thousand at most; the set may hold a million)."""
    if records is None or "id" not in records.columns:
        return lambda _: None
    from curate.records import text_of

    at = {rid: i for i, rid in enumerate(records["id"].to_list())}

    def quote(record_id: str) -> tuple[str, str] | None:
        i = at.get(record_id)
        if i is None:
            return None
        row = records.row(i, named=True)
        return text_of(row.get("prompt")), text_of(row.get("completion") or row.get("chosen"))

    return quote


def _excerpt(texts: tuple[str, str] | None, masker: Masker) -> str:
    """A record's "prompt → answer" excerpt, masked before it is cut short."""
    if texts is None:
        return "(not in the curated set)"
    prompt, answer = (masker.text(t) for t in texts)
    return f"{prompt[:160]} → {answer[:200]}"


def _by_check(
    findings: pl.DataFrame | None,
    checks: tuple[str, ...],
    title: str,
    anchor: str,
    quote: Quote,
    masker: Masker,
) -> str:
    out = f'<section id="{anchor}"><h2>{escape(title)}</h2>'
    if findings is None or findings.is_empty():
        return out + "<p>No findings.</p></section>"
    part = findings.filter(pl.col("check").is_in(list(checks)))
    if part.is_empty():
        return out + "<p>No findings.</p></section>"
    for (reason,), group in part.group_by(["reason"], maintain_order=True):
        out += f"<details><summary>{escape(str(reason))} · {group.height} findings</summary>"
        examples = [
            [
                row["row"],
                row["severity"],
                masker.evidence(row["evidence"])[:300],
                _excerpt(quote(row["record_id"]), masker),
            ]
            for row in group.head(8).iter_rows(named=True)
        ]
        out += _table(examples, ["row", "severity", "evidence", "record"]) + "</details>"
    return out + "</section>"


def _fix_rows(
    groups: list[tuple[str, pl.DataFrame]],
    quote: Quote,
    masker: Masker,
) -> str:
    """The rows behind each failed verdict rule, in the order to fix them: every row up to
    ``SHOWN`` a rule; past that the first ``SHOWN``, and where the rest are."""
    if not groups:
        return ""
    out = '<section id="fix"><h2>Rows to fix, by verdict reason</h2>'
    out += (
        '<p class="muted">Every finding behind each failed rule, most serious rule first; '
        "within a rule the surest defects first, then rows holding the most findings. The "
        f"whole list, in this order, is in {FIXLIST_NAME}; report.md names every row.</p>"
    )
    for rule, part in groups:
        label = rule.removeprefix("max_").replace("_", " ")
        rows = [
            [
                row["row"],
                row["reason"],
                row["severity"],
                masker.evidence(row["evidence"])[:300],
                _excerpt(quote(row["record_id"]), masker),
            ]
            for row in part.head(SHOWN).iter_rows(named=True)
        ]
        out += f"<h3>{escape(label)} · {part.height:,} findings</h3>"
        if part.height > SHOWN:
            out += (
                f'<p class="muted">The first {SHOWN:,} of {part.height:,} in fix order; '
                f"all {part.height:,} are in {FIXLIST_NAME}.</p>"
            )
        out += _table(rows, ["row", "reason", "severity", "evidence", "record"])
    return out + "</section>"


def _diversity(r: CurationResult) -> str:
    f = r.figures.diversity
    if f is None:
        return ""
    out = '<section id="diversity"><h2>Diversity</h2>'
    rows: list[list[Any]] = [
        ["distinct-1", f.prompts.distinct_1, f.answers.distinct_1],
        ["distinct-2", f.prompts.distinct_2, f.answers.distinct_2],
        ["distinct-3", f.prompts.distinct_3, f.answers.distinct_3],
    ]
    emb = f.embedding
    if emb is not None:
        rows += [
            [
                "mean pairwise cosine distance",
                emb.prompts.mean_cosine_distance,
                emb.answers.mean_cosine_distance,
            ],
            [f"Vendi score (sample of {emb.sample})", emb.prompts.vendi, emb.answers.vendi],
        ]
    out += _table(rows, ["figure", "prompts", "answers"])
    hist = f.length_histogram
    out += _chart(
        "lengths",
        charts.histograms(
            [
                (
                    "prompt words",
                    [b.bin for b in hist.prompt_words],
                    [b.count for b in hist.prompt_words],
                ),
                (
                    "answer words",
                    [b.bin for b in hist.answer_words],
                    [b.count for b in hist.answer_words],
                ),
            ],
            "Length histograms",
        ),
        "Words per prompt and per answer, all records.",
    )
    clusters, m = f.clusters, f.map
    if clusters is not None and m is not None:
        sizes = clusters.sizes
        names = [f"{i + 1}: {', '.join(c.terms)}" for i, c in enumerate(sizes)]
        out += (
            f"<p>k-means over prompt embeddings: k = {clusters.k}, normalised entropy "
            f"{clusters.entropy:.3f}, coverage {clusters.coverage:.3f} (effective clusters / k).</p>"
        )
        out += _chart(
            "clusters",
            charts.bar_chart(
                names, [c.size for c in sizes], "Cluster sizes", "prompts in the sample"
            ),
            "Labels: the cluster's top terms.",
        )
        rank = {c.cluster: i for i, c in enumerate(sizes)}
        out += _chart(
            "map",
            charts.scatter_map(
                m.x,
                m.y,
                [rank[c] for c in m.cluster],
                {i: names[i] for i in range(min(10, len(names)))},
                "Embedding map (PCA of prompt embeddings)",
            ),
            "Each point a prompt of the sample, coloured by its k-means cluster.",
        )
    t = f.templates
    out += (
        f"<p>Prompt templates: the most common skeleton (first {t.n_words} words, numbers and "
        f"quotes as slots) covers {t.top_share:.1%} of prompts; the 10 most common "
        f"{t.top10_share:.1%}; {t.distinct_skeletons:,} distinct skeletons.</p>"
    )
    out += _chart(
        "templates",
        charts.bar_chart(
            [x.skeleton for x in t.top],
            [x.share for x in t.top],
            "Template concentration",
            "share of prompts",
        ),
        "A set asked through one template teaches the model that template only.",
    )
    return out + "</section>"


def _volatile(r: CurationResult) -> str:
    f = r.figures.volatile
    if f is None:
        return ""
    out = '<section id="volatile"><h2>Volatile facts (retrieval hint)</h2>'
    out += (
        f"<p>{f.fact_heavy:,} of {f.answers:,} answers ({f.fact_heavy_share:.1%}) are "
        f"dominated by volatile facts.</p>"
    )
    out += _table(
        [[k, v] for k, v in f.answers_with_kind.items()], ["fact kind", "answers with it"]
    )
    for e in f.examples:
        out += f"<details><summary>{escape(json.dumps(e.facts)[:160])}</summary>{_pre(e.answer)}</details>"
    return out + "</section>"


def _thresholds(r: CurationResult) -> str:
    v = r.verdict
    if v is None:
        return ""
    rows = [
        [
            ("✔ " if c.passed else "✘ ") + c.rule,
            "–" if c.value is None else c.value,
            c.threshold,
            c.outcome,
            c.explanation,
        ]
        for c in v.checks
    ]
    return (
        '<section id="thresholds"><h2>Verdict rules and thresholds</h2>'
        + _table(rows, ["rule", "value", "threshold", "if failed", "why"])
        + "</section>"
    )


def render_html(
    report: CurationResult,
    findings: pl.DataFrame | None = None,
    records: pl.DataFrame | None = None,
    *,
    masker: Masker | None = None,
    fix: list[tuple[str, pl.DataFrame]] | None = None,
) -> str:
    """The whole report page for a curation result, PII and secrets masked in every excerpt.

    Args:
        report: the result (``report.json`` parsed into ``CurationResult``).
        findings: the run's findings (examples per reason); None leaves the examples out.
        records: the curated records (``id``, ``prompt``, ``completion``), to quote examples.
        masker: the masker to share with the caller (its memo), for the report's options.
        fix: ``rows_to_fix(report, findings)`` where the caller has it already.
    """
    masker = masker or Masker(report_options(report))
    report = mask_report(report, masker)
    quote = _quoter(records)
    groups = fix if fix is not None else rows_to_fix(report, findings)
    parts = [
        _summary(report),
        _fix_rows(groups, quote, masker),
        _counts(report),
        _duplicates(report),
        _contradictions(report),
        _format(report),
        _by_check(findings, ("quality",), "Quality defects by type", "quality", quote, masker),
        _by_check(findings, ("pii", "leakage"), "PII, secrets and leakage", "pii", quote, masker),
        _diversity(report),
        _volatile(report),
        _thresholds(report),
    ]
    title = f"tunesmith audit · {escape(report.input)}"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<link rel="icon" href="data:,"><meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}</style>'
        f"</head><body><main><h1>{title}</h1>{''.join(parts)}</main></body></html>\n"
    )
