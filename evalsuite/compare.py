"""Comparing two runs of one suite, case by case: paired deltas, intervals, tests, transitions.

Every metric is compared on every slice (``all`` and each tag); pass/fail metrics get the exact
McNemar test and transition counts, continuous ones a paired bootstrap. Where a blind pairwise
judge was given, its verdicts are one more paired 0/1 metric, ``judge:pairwise`` (see
``evalsuite.mt_bench``), on the slices of the cases it judged. Holm's correction runs across
all those tests. Runs whose manifests disagree on what was asked (suite, prompts,
generation parameters, judge, probe texts) are refused unless forced.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from curate import ConflictError, Generator, NotFoundError
from evalsuite import metrics as m
from evalsuite.checks import CheckResult
from evalsuite.judge import (
    EvalJudgeConfig,
    JudgeSummary,
    PairItem,
    PairJudgment,
    judge_pairs,
    summarise,
)
from evalsuite.manifest import Manifest, ManifestDiff, diff_manifests
from evalsuite.mt_bench import PAIRWISE
from evalsuite.probes import is_probe
from evalsuite.run import RunResult
from evalsuite.stats import PairedTest, holm, paired_test

ALL = "all"
"""The slice of every paired case."""
PROBE = "probe"
"""The slice of the perplexity probe texts."""

Status = Literal["fixed", "regressed", "still_failing", "stable_pass", "unscored"]


class ManifestMismatch(ConflictError):
    """Two runs did not ask the same questions the same way; ``diffs`` says where."""

    def __init__(self, diffs: list[ManifestDiff]) -> None:
        self.diffs = diffs
        fields = ", ".join(d.field for d in diffs if d.blocking)
        super().__init__(f"the runs' manifests differ in {fields}; compare with force to override")


class CompareConfig(BaseModel):
    """How to compare."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    """Confidence level of the intervals; ``1 - confidence`` is the tests' alpha."""
    n_boot: int = Field(2000, ge=200)
    """Bootstrap resamples per metric and slice."""
    seed: int = 0
    """Bootstrap seed (comparisons repeat exactly)."""


class MetricDelta(BaseModel):
    """One metric on one slice: base, tuned, the paired difference and its significance."""

    model_config = ConfigDict(frozen=True)

    metric: str
    """The metric's name."""
    slice: str
    """``all``, a tag, or ``probe``."""
    info: m.MetricInfo
    """Type, direction and family."""
    test: PairedTest
    """The paired test (n, means, delta, interval, p-value, transitions)."""
    p_holm: float
    """Holm-adjusted p-value across every gated test of the comparison."""
    improvement: float
    """The delta oriented so that positive is better (0 for informational metrics)."""
    outcome: Literal["improved", "regressed", "unchanged", "informational"]
    """Significant change after Holm correction, in the metric's direction."""


class CasePair(BaseModel):
    """One case's two answers side by side."""

    model_config = ConfigDict(frozen=True)

    id: str
    tags: list[str]
    prompt: str
    """The last user message."""
    reference: Any = None
    base_output: str
    tuned_output: str
    base_checks: list[CheckResult]
    tuned_checks: list[CheckResult]
    base_metrics: dict[str, float]
    tuned_metrics: dict[str, float]
    status: Status
    """How the overall ``pass`` moved."""


class Comparison(BaseModel):
    """Base against tuned on one suite."""

    model_config = ConfigDict(frozen=True)

    base: Manifest
    """The base run's manifest."""
    tuned: Manifest
    """The tuned run's manifest."""
    manifest_diffs: list[ManifestDiff]
    """Where the manifests differ."""
    forced: bool = False
    """True when blocking manifest differences were overridden."""
    config: CompareConfig
    """How it was compared."""
    n_paired: int
    """Cases present in both runs."""
    unpaired: dict[str, int] = Field(default_factory=dict)
    """Cases left out, counted by reason (``only_in_base``, ``only_in_tuned``)."""
    metrics: dict[str, m.MetricInfo]
    """Every compared metric."""
    deltas: list[MetricDelta]
    """Per metric and slice."""
    cases: list[CasePair]
    """Per paired case, in suite order."""
    judge: JudgeSummary | None = None
    """The blind pairwise judge's verdicts, where a judge was given."""
    perplexity: dict[str, float] | None = None
    """``{"base": ppl, "tuned": ppl}`` on the probe set, where both runs have it."""

    @property
    def blocking_diffs(self) -> list[ManifestDiff]:
        """Manifest differences that make the runs incomparable."""
        return [d for d in self.manifest_diffs if d.blocking]

    def delta(self, metric: str, slice: str = ALL) -> MetricDelta | None:
        """The delta of one metric on one slice, or None."""
        return next((d for d in self.deltas if d.metric == metric and d.slice == slice), None)


def _status(base: dict[str, float], tuned: dict[str, float]) -> Status:
    if "pass" not in base or "pass" not in tuned:
        return "unscored"
    b, t = base["pass"] == 1, tuned["pass"] == 1
    return ("stable_pass" if t else "regressed") if b else ("fixed" if t else "still_failing")


def compare(
    base: RunResult,
    tuned: RunResult,
    *,
    config: CompareConfig | None = None,
    force: bool = False,
    judge_generator: Generator | None = None,
    judge: EvalJudgeConfig | None = None,
    judge_tag: str | None = None,
) -> Comparison:
    """Compare two runs of the same suite case by case.

    Args:
        base: The base model's run.
        tuned: The tuned model's run.
        config: Confidence, bootstrap size, seed.
        force: Compare even when the manifests disagree on suite, prompts, parameters, judge
            or probe texts (the comparison records that it was forced).
        judge_generator: A judge model for the blind pairwise judge (both orders).
        judge: The judge's config (retries, tokens; recorded in the comparison).
        judge_tag: Judge only the cases with this tag (``probe:mt_bench``); None: every case.

    Raises:
        ManifestMismatch: the manifests disagree on what was asked and ``force`` is False.
    """
    config = config or CompareConfig()
    diffs = diff_manifests(base.manifest, tuned.manifest)
    if any(d.blocking for d in diffs) and not force:
        raise ManifestMismatch(diffs)
    tuned_by_id = {c.id: c for c in tuned.cases}
    base_ids = {c.id for c in base.cases}
    pairs = [(b, tuned_by_id[b.id]) for b in base.cases if b.id in tuned_by_id]
    unpaired = Counter(
        {
            "only_in_base": len(base_ids - tuned_by_id.keys()),
            "only_in_tuned": len(tuned_by_id.keys() - base_ids),
        }
    )
    infos = {**base.metrics, **tuned.metrics}
    cases = [
        CasePair(
            id=b.id,
            tags=b.tags,
            prompt=b.messages[-1].content,
            reference=b.reference,
            base_output=b.output,
            tuned_output=t.output,
            base_checks=b.checks,
            tuned_checks=t.checks,
            base_metrics=b.metrics,
            tuned_metrics=t.metrics,
            status=_status(b.metrics, t.metrics),
        )
        for b, t in pairs
    ]
    summary = None
    pairwise: dict[str, tuple[float, float]] = {}
    if judge_generator is not None:
        items = [
            PairItem(
                case_id=c.id,
                prompt=c.prompt,
                base=c.base_output,
                tuned=c.tuned_output,
                reference=None if c.reference is None else str(c.reference),
            )
            for c in cases
        ]
        summary = _judge(judge_generator, items, judge, judge_tag, {c.id: c.tags for c in cases})
    if summary is not None:
        # The judge's verdicts as a paired 0/1 metric: which side it preferred, case by case.
        infos[PAIRWISE.name] = PAIRWISE
        pairwise = {
            j.case_id: (float(j.verdict == "base"), float(j.verdict == "tuned"))
            for j in summary.judgments
            if j.verdict != "invalid"
        }

    rows: list[tuple[str, str, PairedTest]] = []
    slices = [ALL, *sorted({t for b, _ in pairs for t in b.tags})]
    for name, info in infos.items():
        if name == m.PERPLEXITY.name:
            continue
        for sl in slices:
            vals = [
                pairwise[b.id] if name == PAIRWISE.name else (b.metrics[name], t.metrics[name])
                for b, t in pairs
                if (sl in b.tags or (sl == ALL and not is_probe(b.tags)))
                and (
                    b.id in pairwise
                    if name == PAIRWISE.name
                    else name in b.metrics and name in t.metrics
                )
            ]
            if not vals:
                continue
            rows.append((name, sl, _test(vals, info, config, f"{name}@{sl}")))
    ppl = None
    if base.perplexity and tuned.perplexity and m.PERPLEXITY.name in infos:
        vals = [
            (a.nll, b.nll)
            for a, b in zip(base.perplexity.texts, tuned.perplexity.texts, strict=False)
        ]
        rows.append((m.PERPLEXITY.name, PROBE, _test(vals, m.PERPLEXITY, config, "probe")))
        ppl = {"base": base.perplexity.perplexity, "tuned": tuned.perplexity.perplexity}

    gated = [i for i, (name, _, _) in enumerate(rows) if infos[name].higher_is_better is not None]
    adjusted = dict(zip(gated, holm([rows[i][2].p_value for i in gated]), strict=True))
    alpha = 1 - config.confidence
    deltas = []
    for i, (name, sl, test) in enumerate(rows):
        info = infos[name]
        sign = 0.0 if info.higher_is_better is None else (1.0 if info.higher_is_better else -1.0)
        p_holm = adjusted.get(i, 1.0)
        imp = sign * test.delta
        if info.higher_is_better is None:
            outcome = "informational"
        elif p_holm < alpha and imp != 0:
            outcome = "improved" if imp > 0 else "regressed"
        else:
            outcome = "unchanged"
        deltas.append(
            MetricDelta(
                metric=name,
                slice=sl,
                info=info,
                test=test,
                p_holm=p_holm,
                improvement=imp,
                outcome=outcome,
            )
        )

    return Comparison(
        base=base.manifest,
        tuned=tuned.manifest,
        manifest_diffs=diffs,
        forced=force and any(d.blocking for d in diffs),
        config=config,
        n_paired=len(pairs),
        unpaired={k: v for k, v in unpaired.items() if v},
        metrics=infos,
        deltas=deltas,
        cases=cases,
        judge=summary,
        perplexity=ppl,
    )


def _judge(
    generator: Generator,
    items: list[PairItem],
    config: EvalJudgeConfig | None,
    tag: str | None,
    tags: dict[str, list[str]],
) -> JudgeSummary:
    """The pairwise judge on the cases with ``tag`` (all without one). Identical answers are
    ties without asking: no judge can prefer one of two equal texts, and asking costs time."""
    chosen = [it for it in items if tag is None or tag in tags[it.case_id]]
    differ = [it for it in chosen if it.base != it.tuned]
    judged = judge_pairs(generator, differ, config) if differ else None
    by_id = {j.case_id: j for j in (judged.judgments if judged else [])}
    judgments = [
        by_id.get(it.case_id)
        or PairJudgment(
            case_id=it.case_id,
            base_first="tie",
            tuned_first="tie",
            verdict="tie",
            base_words=len(it.base.split()),
            tuned_words=len(it.tuned.split()),
            identical=True,
        )
        for it in chosen
    ]
    return summarise(judgments, retries=judged.retries if judged else 0, config=config)


def _test(
    vals: list[tuple[float, float]], info: m.MetricInfo, config: CompareConfig, key: str
) -> PairedTest:
    return paired_test(
        [v[0] for v in vals],
        [v[1] for v in vals],
        binary=info.type == "binary",
        higher_is_better=info.higher_is_better,
        confidence=config.confidence,
        n_boot=config.n_boot,
        seed=config.seed,
        key=key,
    )


def load_comparison(path: str | Path) -> Comparison:
    """Read a comparison from its folder (or its ``comparison.json``).

    Raises:
        NotFoundError: there is no comparison there.
    """
    path = Path(path)
    file = path / "comparison.json" if path.is_dir() else path
    if not file.is_file():
        raise NotFoundError(f"no comparison at {path} (expected {file})")
    return Comparison.model_validate_json(file.read_text(encoding="utf-8"))
