"""The readiness verdict: is this set fit to fine-tune on, and if not, why.

A pure function of a curation result (``CurationResult``): no I/O, no model. Each rule
compares one figure with one threshold of ``VerdictConfig``; every threshold's docstring is its
explanation in the report. The verdict is the most serious outcome any rule reaches:

1. ``consider retrieval instead``: the answers are dominated by volatile facts;
2. ``fix data first``: duplicates, contradictions, quality defects, format drift, PII or
   leakage above their thresholds;
3. ``too small / too narrow``: too few records, or too little diversity (one template);
4. ``ready``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # the result holds a ReadinessVerdict: importing it here would be a cycle
    from curate.pipeline.result import CurationResult

VerdictName = Literal[
    "ready", "fix data first", "too small / too narrow", "consider retrieval instead"
]
_RANK = {
    "consider retrieval instead": 3,
    "fix data first": 2,
    "too small / too narrow": 1,
    "ready": 0,
}


class VerdictConfig(BaseModel):
    """Thresholds of the readiness verdict; each docstring explains its rule in the report."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    min_records: int = Field(1000, ge=0)
    """A habit-teaching SFT set needs roughly 1,000 or more clean examples; fewer kept records
    than this is too small."""
    max_records: int = Field(5000, ge=1)
    """Past roughly 5,000 examples a habit is learned and more rarely helps; a larger set is not
    a failure, but the report suggests cutting it with curate.select_diverse."""
    max_duplicate_share: float = Field(0.05, ge=0, le=1)
    """Share of records removed as exact, near or semantic duplicates above which the source
    should be fixed: duplicates over-weight what they repeat."""
    max_contradiction_share: float = Field(0.01, ge=0, le=1)
    """Share of records in a conflict cluster (same question, conflicting answers) above which
    the set teaches inconsistency."""
    max_quality_share: float = Field(0.02, ge=0, le=1)
    """Share of records with a quality defect (empty, placeholder, truncated, refusal, "As an
    AI" boilerplate, ...; length outliers are listed for review but not counted) above which
    the data needs fixing: a habit is learned from a few thousand examples, so 2% defects (100
    in a 5,000 set) is enough to teach the defect too. Checked on six real sets: the BFCL tool
    calls score 0%, alpaca_random_9k 2.6%, the LLaMA-Factory and OASST demos 5-9% (real
    boilerplate and cut-off answers), HH-RLHF 9.6% (answers cut at a token limit)."""
    max_format_deviant_share: float = Field(0.03, ge=0, le=1)
    """Share of answers off their task's dominant format above which the model would learn to
    pick a format at random. On six real sets, none of them drifting, the share is 0.5-1.3%;
    twice the highest leaves room, and 40 JSON or code answers planted among 999 prose ones
    (4%) are over it."""
    max_pii_share: float = Field(0.01, ge=0, le=1)
    """Share of records holding PII or a secret above which the set must be cleaned or
    redacted."""
    max_leakage: int = Field(0, ge=0)
    """Eval-set items leaked into training above which scores on that eval mean nothing."""
    max_template_share: float = Field(0.30, ge=0, le=1)
    """Share of prompts opening with the same skeleton above which the model learns one
    template and breaks on any other phrasing."""
    min_cluster_entropy: float = Field(0.60, ge=0, le=1)
    """Normalised entropy of k-means topic clusters of prompts under which the set is too
    narrow (a few topics dominate)."""
    min_prompt_distinct_2: float = Field(0.20, ge=0, le=1)
    """Distinct bigrams over all bigrams of prompts under which prompts repeat each other."""
    max_fact_heavy_share: float = Field(0.40, ge=0, le=1)
    """Share of answers dominated by volatile facts (dates, prices, versions, names, current
    events) above which retrieval, not tuning, is the right tool: tuning teaches habits, it is
    a poor store for facts that change."""


class VerdictCheck(BaseModel):
    """One rule as evaluated: the figure, the threshold, whether it passed, what it means."""

    model_config = ConfigDict(frozen=True)

    rule: str
    """The ``VerdictConfig`` field that holds the threshold."""
    value: float | None
    """The measured figure (None when the run did not compute it)."""
    threshold: float
    """The threshold from the config."""
    passed: bool
    """False when the figure is on the wrong side of the threshold."""
    outcome: str
    """The verdict this rule leads to when it fails (or ``note``)."""
    explanation: str
    """Why the rule exists (the config field's docstring)."""


class ReadinessVerdict(BaseModel):
    """The readiness verdict with its reasons."""

    model_config = ConfigDict(frozen=True)

    verdict: VerdictName
    """ready / fix data first / too small / too narrow / consider retrieval instead."""
    reasons: list[str]
    """One sentence per failed rule (and notes), most serious first."""
    checks: list[VerdictCheck]
    """Every rule, passed or not, with its figure and threshold."""


def _share(flagged: int, records: int) -> float:
    """Records flagged over records checked (a share: at most 1)."""
    return flagged / max(1, records)


def _measure(result: CurationResult) -> dict[str, float | None]:
    n = max(1, result.n_records)
    by_check = result.findings_by_check
    f = result.figures
    dup = sum(v for k, v in result.dropped_by_reason.items() if k.endswith("duplicate"))
    diversity = f.diversity
    return {
        "min_records": float(result.n_kept),
        "max_records": float(result.n_kept),
        "max_duplicate_share": dup / n,
        "max_contradiction_share": (
            None if f.contradictions is None else f.contradictions.records_in_conflict / n
        ),
        # records, not findings: one record can hold several (an email and a phone, two sides);
        # length statistics are for review, not defects (QualityFigures.records_with_defects)
        "max_quality_share": (
            None if f.quality is None else _share(f.quality.records_with_defects, f.quality.records)
        ),
        "max_format_deviant_share": None if f.format is None else f.format.deviants / n,
        "max_pii_share": None if f.pii is None else _share(f.pii.records_flagged, f.pii.records),
        "max_leakage": None if f.leakage is None else float(by_check.get("leakage", 0)),
        "max_template_share": None if diversity is None else diversity.templates.top_share,
        "min_cluster_entropy": (
            None if diversity is None or diversity.clusters is None else diversity.clusters.entropy
        ),
        "min_prompt_distinct_2": None if diversity is None else diversity.prompts.distinct_2,
        "max_fact_heavy_share": None if f.volatile is None else f.volatile.fact_heavy_share,
    }


_OUTCOME = {
    "min_records": "too small / too narrow",
    "max_records": "note",
    "max_duplicate_share": "fix data first",
    "max_contradiction_share": "fix data first",
    "max_quality_share": "fix data first",
    "max_format_deviant_share": "fix data first",
    "max_pii_share": "fix data first",
    "max_leakage": "fix data first",
    "max_template_share": "too small / too narrow",
    "min_cluster_entropy": "too small / too narrow",
    "min_prompt_distinct_2": "too small / too narrow",
    "max_fact_heavy_share": "consider retrieval instead",
}


def decide(result: CurationResult, config: VerdictConfig | None = None) -> ReadinessVerdict:
    """The verdict for a curation result (its ``verdict`` field is not read).

    Rules whose figure the run did not compute (a step turned off) pass, marked value None.
    """
    config = config or VerdictConfig()
    values = _measure(result)
    checks = []
    for rule, outcome in _OUTCOME.items():
        threshold = float(getattr(config, rule))
        value = values[rule]
        if value is None:
            passed = True
        elif rule.startswith("min_"):
            passed = value >= threshold
        else:
            passed = value <= threshold
        explanation = " ".join((VerdictConfig.model_fields[rule].description or "").split())
        checks.append(
            VerdictCheck(
                rule=rule,
                value=None if value is None else round(value, 4),
                threshold=threshold,
                passed=passed,
                outcome=outcome,
                explanation=explanation,
            )
        )
    failed = sorted((c for c in checks if not c.passed), key=lambda c: -_RANK.get(c.outcome, -1))
    verdict: VerdictName = "ready"
    for c in failed:
        if c.outcome in _RANK and _RANK[c.outcome] > _RANK[verdict]:
            verdict = c.outcome  # type: ignore[assignment]
    reasons = [_sentence(c) for c in failed]
    return ReadinessVerdict(verdict=verdict, reasons=reasons, checks=checks)


def _sentence(c: VerdictCheck) -> str:
    side = "under the minimum" if c.rule.startswith("min_") else "over the maximum"
    fmt = (
        (lambda v: f"{v:,.0f}")
        if c.threshold >= 1 or c.rule == "max_leakage"
        else (lambda v: f"{v:.1%}")
    )
    label = c.rule.removeprefix("min_").removeprefix("max_").replace("_", " ")
    head = "note" if c.outcome == "note" else c.outcome
    return f"{head}: {label} is {fmt(c.value)}, {side} of {fmt(c.threshold)}. {c.explanation}"
