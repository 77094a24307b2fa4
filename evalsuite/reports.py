"""Reports of a comparison and a gate decision: Markdown (a PR comment) and JUnit XML (for CI).

JSON is the models' own ``model_dump_json``; the HTML side-by-side lives in ``evalsuite.html``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from evalsuite.compare import ALL, Comparison, MetricDelta
from evalsuite.gate import GateDecision

_SHOWN_FIRST = ("pass", "substance_pass", "format_pass")


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def _row(d: MetricDelta, confidence: float) -> str:
    t = d.test
    arrow = {"improved": "▲ improved", "regressed": "▼ regressed"}.get(d.outcome, d.outcome)
    direction = {True: "↑", False: "↓", None: "·"}[d.info.higher_is_better]
    return (
        f"| `{d.metric}` {direction} | {d.slice} | {t.n} | {_fmt(t.base_mean)} | "
        f"{_fmt(t.tuned_mean)} | {t.delta:+.3f} | [{t.ci_low:+.3f}, {t.ci_high:+.3f}] | "
        f"{d.p_holm:.3g} | {arrow} |"
    )


def _format_vs_substance(c: Comparison) -> str | None:
    fmt, sub = c.delta("format_pass"), c.delta("substance_pass")
    if fmt is None or sub is None:
        return None
    if fmt.outcome == "improved" and sub.outcome != "improved":
        return (
            "**Warning: format improved but substance did not improve** — the tuned model "
            "follows the template more often without getting more answers right."
        )
    return f"Format: {fmt.outcome}; substance: {sub.outcome}."


def markdown(comparison: Comparison, decision: GateDecision | None = None) -> str:
    """A Markdown summary for a pull-request comment."""
    c = comparison
    conf = c.config.confidence
    lines = ["## tunesmith: base vs tuned", ""]
    if decision is not None:
        lines += [f"**Gate: {decision.verdict.upper()}**", ""]
        lines += [f"- {r}" for r in decision.reasons] or ["- every rule met"]
        lines.append("")
    adapter = c.tuned.adapter or "(no adapter)"
    lines += [
        f"Suite `{c.base.suite_name}` · {c.n_paired} paired cases · base `{c.base.model}` "
        f"· tuned `{c.tuned.model}` + `{adapter}`",
        "",
    ]
    if c.forced:
        lines += [
            "**Compared by force despite manifest differences: "
            + ", ".join(d.field for d in c.blocking_diffs)
            + "**",
            "",
        ]
    if note := _format_vs_substance(c):
        lines += [note, ""]
    for k, v in c.unpaired.items():
        lines.append(f"- {v} cases left out: {k}")
    main = [d for d in c.deltas if d.slice == ALL and d.metric in _SHOWN_FIRST]
    others = [
        d
        for d in c.deltas
        if d not in main and (d.outcome in ("improved", "regressed") or d.slice == "probe")
    ]
    lines += [
        f"| metric | slice | n | base | tuned | Δ | {conf:.0%} CI | p (Holm) | outcome |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_row(d, conf) for d in main + others]
    passed = c.delta("pass")
    if passed is not None and passed.test.transitions is not None:
        tr = passed.test.transitions
        lines += [
            "",
            f"Cases: **{tr.fixed} fixed**, **{tr.regressed} regressed**, "
            f"{tr.still_failing} still failing, {tr.stable_pass} stable pass.",
        ]
    if c.perplexity:
        lines.append(f"Probe perplexity: {c.perplexity['base']:.2f} → {c.perplexity['tuned']:.2f}.")
    if c.judge is not None:
        j = c.judge
        cons = "n/a" if j.position_consistency is None else f"{j.position_consistency:.0%}"
        longer = "n/a" if j.longer_wins_rate is None else f"{j.longer_wins_rate:.0%}"
        lines += [
            "",
            f"Blind judge (both orders): tuned wins {j.tuned_wins}, ties {j.ties}, "
            f"base wins {j.base_wins}, invalid {j.invalid}; position consistency "
            f"{cons}; longer answer chosen {longer} of decisive verdicts.",
        ]
    regressed = [x.id for x in c.cases if x.status == "regressed"]
    if regressed:
        lines += ["", "Regressed cases: " + ", ".join(f"`{i}`" for i in regressed[:20])]
    if decision is not None and decision.notes:
        lines += ["", *[f"_note: {n}_" for n in decision.notes]]
    return "\n".join(lines) + "\n"


def junit(decision: GateDecision, comparison: Comparison) -> str:
    """JUnit XML: one test case per gated metric and slice, one for the canaries.

    A failed rule is a ``<failure>``; an inconclusive one is ``<skipped>`` with its reason.
    """
    suite = ET.Element("testsuite", name=f"tunesmith-gate:{comparison.base.suite_name}")
    failures = skipped = 0
    for r in decision.rules:
        case = ET.SubElement(
            suite, "testcase", classname=f"gate.{r.kind}", name=f"{r.metric}@{r.slice}"
        )
        if r.status == "fail":
            failures += 1
            ET.SubElement(case, "failure", message=r.reason).text = r.reason
        elif r.status == "inconclusive":
            skipped += 1
            ET.SubElement(case, "skipped", message=r.reason)
        ET.SubElement(case, "system-out").text = r.reason
    canary = ET.SubElement(
        suite, "testcase", classname="gate.canaries", name=f"{decision.canaries_checked} canaries"
    )
    if decision.canaries_regressed:
        failures += 1
        msg = "regressed: " + ", ".join(decision.canaries_regressed)
        ET.SubElement(canary, "failure", message=msg).text = msg
    other = [
        x
        for x in decision.reasons
        if not any(x == r.reason for r in decision.rules) and not x.startswith("canaries regressed")
    ]
    for i, reason in enumerate(other):
        case = ET.SubElement(suite, "testcase", classname="gate.policy", name=f"policy-{i}")
        skipped += 1
        ET.SubElement(case, "skipped", message=reason)
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    suite.set("errors", "0")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_comparison_reports(comparison: Comparison, out_dir: str | Path) -> list[Path]:
    """Write ``comparison.json``, ``report.md`` and ``report.html`` into ``out_dir``."""
    from evalsuite.html import html

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "comparison.json": comparison.model_dump_json(indent=1),
        "report.md": markdown(comparison),
        "report.html": html(comparison),
    }
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / n for n in files]


def write_gate_reports(
    decision: GateDecision, comparison: Comparison, out_dir: str | Path
) -> list[Path]:
    """Write ``gate.json``, ``gate.md``, ``junit.xml`` and ``report.html`` into ``out_dir``."""
    from evalsuite.html import html

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "gate.json": decision.model_dump_json(indent=1),
        "gate.md": markdown(comparison, decision),
        "junit.xml": junit(decision, comparison),
        "report.html": html(comparison, decision),
    }
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / n for n in files]
