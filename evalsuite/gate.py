"""The gate: a pure function of a comparison and a policy. No I/O, no model code.

Verdicts:

- ``fail``: evidence of harm — a guarded metric regressed significantly (after Holm's correction
  across the policy's tests) by more than its margin, a must-improve metric got significantly
  worse, or a canary case regressed.
- ``inconclusive``: no evidence of harm, but the policy is not met with confidence — too few
  cases, an interval wider than the policy allows, a required improvement not demonstrated, a
  metric the policy names that was not measured, or runs that were compared by force.
- ``pass``: every required improvement is significant and nothing guarded regressed.

A required improvement that is merely absent is ``inconclusive``, not ``fail``: a model compared
with itself must never fail the gate, and "no evidence of benefit" is not "evidence of harm".
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from curate import ConfigError, NotFoundError
from evalsuite.compare import ALL, Comparison, MetricDelta
from evalsuite.stats import holm

GateVerdict = Literal["pass", "fail", "inconclusive"]
"""What the gate decides: the tuned model may ship, must not, or the evidence is too thin."""


class Rule(BaseModel):
    """A metric (a glob like ``health:*`` matches several) on a slice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str
    """Metric name or glob (``pass``, ``check:numeric``, ``health:*``, ``probe_nll``)."""
    slice: str = ALL
    """``all``, a tag, or ``probe`` (for ``probe_nll``)."""
    margin: float = Field(0.0, ge=0.0)
    """must_not_regress: a significant regression smaller than this is tolerated.
    must_improve: the improvement must exceed this."""


class GatePolicy(BaseModel):
    """What a tuned model must show against its base to ship."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    """The tests' confidence; ``1 - confidence`` is the family-wise alpha."""
    min_samples: int = Field(20, ge=1)
    """Fewer paired cases than this on a gated slice makes the verdict inconclusive."""
    max_ci_width: float | None = Field(None, gt=0.0)
    """An interval wider than this on a gated metric makes the verdict inconclusive."""
    must_improve: list[Rule] = Field(default_factory=list)
    """Metrics/slices whose improvement must be significant."""
    must_not_regress: list[Rule] = Field(default_factory=list)
    """Metrics/slices that may not regress significantly by more than their margin."""
    canary_tag: str | None = "canary"
    """Cases with this tag may never regress on ``canary_metric`` (None: no canaries)."""
    canary_metric: str = "pass"
    """The per-case metric a canary is judged on."""


class RuleOutcome(BaseModel):
    """One gated metric on one slice."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["must_improve", "must_not_regress"]
    metric: str
    slice: str
    status: Literal["pass", "fail", "inconclusive"]
    n: int
    """Paired cases (or probe texts)."""
    improvement: float
    """The delta oriented so positive is better."""
    ci_low: float
    """Lower bound of the oriented interval."""
    ci_high: float
    """Upper bound of the oriented interval."""
    p_value: float
    """The test's raw p-value."""
    p_gate: float
    """Holm-adjusted across this policy's tests."""
    reason: str
    """Why, in one line."""


class GateDecision(BaseModel):
    """The gate's verdict with its reasons."""

    model_config = ConfigDict(frozen=True)

    verdict: GateVerdict
    """pass, fail or inconclusive."""
    reasons: list[str]
    """Every reason that is not a pass, failures first."""
    rules: list[RuleOutcome]
    """Each gated metric and slice."""
    canaries_checked: int = 0
    """Canary cases looked at."""
    canaries_regressed: list[str] = Field(default_factory=list)
    """Ids of canary cases that regressed."""
    manifest_mismatch: bool = False
    """The comparison was forced over blocking manifest differences."""
    notes: list[str] = Field(default_factory=list)
    """Things that did not affect the verdict but should be seen (rules nothing matched)."""
    policy: GatePolicy
    """The policy applied."""


def load_policy(path: str | Path) -> GatePolicy:
    """Read a gate policy from TOML, YAML or JSON.

    Raises:
        NotFoundError: no such file.
        ConfigError: it does not parse or validate; the message says where.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"policy file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
        return GatePolicy.model_validate(data or {})
    except (tomllib.TOMLDecodeError, yaml.YAMLError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: does not parse: {e}") from e
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(f"{path}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from e


def _matches(comparison: Comparison, rule: Rule) -> list[MetricDelta]:
    return [
        d
        for d in comparison.deltas
        if d.slice == rule.slice
        and fnmatch.fnmatchcase(d.metric, rule.metric)
        and d.info.higher_is_better is not None
    ]


def gate(comparison: Comparison, policy: GatePolicy) -> GateDecision:
    """Decide pass, fail or inconclusive for a comparison under a policy (a pure function)."""
    alpha = 1 - policy.confidence
    reasons_fail: list[str] = []
    reasons_inc: list[str] = []
    notes: list[str] = []
    checks: list[tuple[str, Rule, MetricDelta]] = []
    for kind, rules in (
        ("must_improve", policy.must_improve),
        ("must_not_regress", policy.must_not_regress),
    ):
        for rule in rules:
            found = _matches(comparison, rule)
            if not found and kind == "must_improve":
                reasons_inc.append(f"{kind} {rule.metric}@{rule.slice}: not measured")
            elif not found:
                # Nothing can regress on a metric the suite does not measure; say so, no more.
                notes.append(f"{kind} {rule.metric}@{rule.slice}: not measured by this suite")
            checks += [(kind, rule, d) for d in found]
    # Holm across the distinct tests this policy looks at: the family the decision rests on.
    keys = list(dict.fromkeys((d.metric, d.slice) for _, _, d in checks))
    p_raw = {(d.metric, d.slice): d.test.p_value for _, _, d in checks}
    p_gate = dict(zip(keys, holm([p_raw[k] for k in keys]), strict=True))

    outcomes = []
    for kind, rule, d in checks:
        t = d.test
        sign = 1.0 if d.info.higher_is_better else -1.0
        lo, hi = sorted((sign * t.ci_low, sign * t.ci_high))
        p = p_gate[(d.metric, d.slice)]
        imp, name = d.improvement, f"{d.metric}@{d.slice}"
        figures = f"Δ={imp:+.3f} [{lo:+.3f}, {hi:+.3f}], p={p:.3g}, n={t.n}"
        if p < alpha and imp < -rule.margin:
            status, reason = "fail", f"{name} regressed: {figures}"
        elif t.n < policy.min_samples:
            status, reason = (
                "inconclusive",
                f"{name}: {t.n} cases < min_samples {policy.min_samples}",
            )
        elif policy.max_ci_width is not None and hi - lo > policy.max_ci_width:
            status, reason = (
                "inconclusive",
                (f"{name}: interval width {hi - lo:.3f} > {policy.max_ci_width}: {figures}"),
            )
        elif kind == "must_improve" and not (p < alpha and imp > rule.margin):
            status, reason = "inconclusive", f"{name}: improvement not demonstrated: {figures}"
        else:
            status, reason = "pass", f"{name}: {figures}"
        outcomes.append(
            RuleOutcome(
                kind=kind,
                metric=d.metric,
                slice=d.slice,
                status=status,  # type: ignore[arg-type]
                n=t.n,
                improvement=imp,
                ci_low=lo,
                ci_high=hi,
                p_value=t.p_value,
                p_gate=p,
                reason=reason,
            )
        )
        if status == "fail":
            reasons_fail.append(reason)
        elif status == "inconclusive":
            reasons_inc.append(reason)

    checked, regressed = 0, []
    if policy.canary_tag:
        info = comparison.metrics.get(policy.canary_metric)
        good = 0.0 if info is not None and info.higher_is_better is False else 1.0
        for case in comparison.cases:
            if policy.canary_tag not in case.tags:
                continue
            before = case.base_metrics.get(policy.canary_metric)
            after = case.tuned_metrics.get(policy.canary_metric)
            if before is None or after is None:
                reasons_inc.append(f"canary {case.id}: {policy.canary_metric} not measured")
                continue
            checked += 1
            if before == good and after != good:
                regressed.append(case.id)
        if regressed:
            reasons_fail.append(
                f"canaries regressed on {policy.canary_metric}: {', '.join(regressed)}"
            )

    mismatch = bool(comparison.blocking_diffs)
    if mismatch:
        fields = ", ".join(x.field for x in comparison.blocking_diffs)
        reasons_inc.append(f"the runs were compared by force over manifest differences: {fields}")
    if abs(comparison.config.confidence - policy.confidence) > 1e-9:
        reasons_inc.append(
            f"intervals are at {comparison.config.confidence:.0%} confidence, "
            f"the policy asks {policy.confidence:.0%}: recompare to match"
        )
    verdict: GateVerdict = "fail" if reasons_fail else "inconclusive" if reasons_inc else "pass"
    return GateDecision(
        verdict=verdict,
        reasons=reasons_fail + reasons_inc,
        rules=outcomes,
        canaries_checked=checked,
        canaries_regressed=regressed,
        manifest_mismatch=mismatch,
        notes=notes,
        policy=policy,
    )
