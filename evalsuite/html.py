"""A self-contained HTML page: base, tuned and the judge side by side per case, regressed first.

One file, no scripts or assets from elsewhere: it can be attached to a CI run or mailed. Every
piece of model output is escaped.
"""

from __future__ import annotations

from html import escape

from evalsuite.checks import CheckResult
from evalsuite.compare import ALL, CasePair, Comparison
from evalsuite.gate import GateDecision

ORDER = {"regressed": 0, "fixed": 1, "still_failing": 2, "stable_pass": 3, "unscored": 4}
"""Cases are listed regressed first: those are the ones a reviewer must read."""

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px}
.case{border:1px solid #bbb;border-radius:6px;margin:14px 0;padding:10px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:10px}
pre{white-space:pre-wrap;background:#f6f6f6;padding:8px;margin:4px 0;border-radius:4px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600}
.regressed{background:#c0392b}.fixed{background:#27ae60}.still_failing{background:#7f8c8d}
.stable_pass{background:#2980b9}.unscored{background:#999}
.pass{color:#27ae60}.fail{color:#c0392b}.skip{color:#999}.verdict{font-size:18px;font-weight:700}
"""


def _checks(checks: list[CheckResult]) -> str:
    items = []
    for c in checks:
        mark, cls = (
            ("✓", "pass") if c.passed else ("–", "skip") if c.passed is None else ("✗", "fail")
        )
        detail = f" — {escape(c.detail)}" if c.detail else ""
        items.append(
            f'<li class="{cls}">{mark} {escape(c.name)} <small>({c.kind})</small>{detail}</li>'
        )
    return "<ul>" + "".join(items) + "</ul>"


def _case(c: CasePair, judged: dict[str, str]) -> str:
    tags = " ".join(f"<code>{escape(t)}</code>" for t in c.tags)
    ref = "" if c.reference is None else f"<b>Reference</b><pre>{escape(str(c.reference))}</pre>"
    verdict = judged.get(c.id)
    judge = f"<p><b>Judge (both orders):</b> {escape(verdict)}</p>" if verdict else ""
    return (
        f'<div class="case" id="{escape(c.id)}"><span class="badge {c.status}">'
        f"{c.status.replace('_', ' ')}</span> <b>{escape(c.id)}</b> {tags}"
        f"<b>Prompt</b><pre>{escape(c.prompt)}</pre>{ref}<div class='grid'>"
        f"<div><b>Base</b><pre>{escape(c.base_output)}</pre>{_checks(c.base_checks)}</div>"
        f"<div><b>Tuned</b><pre>{escape(c.tuned_output)}</pre>{_checks(c.tuned_checks)}</div>"
        f"</div>{judge}</div>"
    )


def html(comparison: Comparison, decision: GateDecision | None = None) -> str:
    """The side-by-side page for a comparison (and its gate decision, if any)."""
    c = comparison
    head = ""
    if decision is not None:
        reasons = "".join(f"<li>{escape(r)}</li>" for r in decision.reasons)
        head = f'<p class="verdict">Gate: {decision.verdict.upper()}</p><ul>{reasons}</ul>'
    rows = "".join(
        f"<tr><td>{escape(d.metric)}</td><td>{d.test.n}</td><td>{d.test.base_mean:.3f}</td>"
        f"<td>{d.test.tuned_mean:.3f}</td><td>{d.test.delta:+.3f}</td>"
        f"<td>[{d.test.ci_low:+.3f}, {d.test.ci_high:+.3f}]</td><td>{d.p_holm:.3g}</td>"
        f"<td>{d.outcome}</td></tr>"
        for d in c.deltas
        if d.slice == ALL
    )
    judged: dict[str, str] = {}
    judge_line = ""
    if c.judge is not None:
        judged = {
            j.case_id: f"{j.verdict} (base shown first: {j.base_first}; tuned shown "
            f"first: {j.tuned_first})"
            for j in c.judge.judgments
        }
        judge_line = (
            f"<p>Judge: tuned wins {c.judge.tuned_wins}, ties {c.judge.ties}, base wins "
            f"{c.judge.base_wins}, invalid {c.judge.invalid}</p>"
        )
    cases = sorted(c.cases, key=lambda x: ORDER[x.status])
    body = "".join(_case(x, judged) for x in cases)
    title = f"tunesmith: {escape(c.base.suite_name)} — base vs tuned"
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{_CSS}</style></head><body><h1>{title}</h1>{head}"
        f"<p>{c.n_paired} paired cases · base <code>{escape(c.base.model)}</code> · tuned "
        f"<code>{escape(c.tuned.model)}</code> + <code>{escape(str(c.tuned.adapter))}</code></p>"
        f"<table><tr><th>metric</th><th>n</th><th>base</th><th>tuned</th><th>Δ</th>"
        f"<th>{c.config.confidence:.0%} CI</th><th>p (Holm)</th><th>outcome</th></tr>{rows}"
        f"</table>{judge_line}<h2>Cases (regressed first)</h2>{body}</body></html>\n"
    )
