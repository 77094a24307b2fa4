"""Statistical honesty of compare + gate on simulated suites (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from evalsuite import CompareConfig, GatePolicy, compare, gate
from evalsuite.gate import Rule
from evalsuite.stats import holm, mcnemar_exact, paired_test

FAST = CompareConfig(n_boot=400)
GUARDS = GatePolicy(
    min_samples=20,
    must_improve=[Rule(metric="substance_pass")],
    must_not_regress=[
        Rule(metric="pass"),
        Rule(metric="format_pass"),
        Rule(metric="score:rouge"),
        Rule(metric="health:*"),
    ],
    canary_tag=None,
)


def test_base_against_itself_never_fails(run_of, null_pair_of) -> None:
    rng = np.random.default_rng(1)
    base, _ = null_pair_of(rng, 200)
    same = compare(base, base, config=FAST)
    assert all(d.test.delta == 0 and d.test.p_value == 1.0 for d in same.deltas)
    assert all(d.outcome in ("unchanged", "informational") for d in same.deltas)
    decision = gate(same, GUARDS)
    assert decision.verdict == "inconclusive"  # no evidence of harm, no evidence of benefit
    assert any("improvement not demonstrated" in r for r in decision.reasons)
    only_guards = GUARDS.model_copy(update={"must_improve": []})
    assert gate(same, only_guards).verdict == "pass"


@pytest.mark.slow
def test_false_alarm_rate_near_alpha_with_random_noise(null_pair_of) -> None:
    """Same-distribution base and tuned: each test rejects ~5%, the gate fails at most ~5%."""
    rng = np.random.default_rng(7)
    sims = 200
    rejections = {"score:rouge": 0, "pass": 0}
    fails = 0
    for _ in range(sims):
        base, tuned = null_pair_of(rng, 120)
        comparison = compare(base, tuned, config=FAST)
        for metric in rejections:
            rejections[metric] += comparison.delta(metric).test.p_value < 0.05
        fails += gate(comparison, GUARDS).verdict == "fail"
    # Bootstrap test of a continuous metric: calibrated near 5% (binomial sd over 200 ≈ 1.5%).
    assert 0.01 <= rejections["score:rouge"] / sims <= 0.10
    # Exact McNemar is conservative: at most about alpha.
    assert rejections["pass"] / sims <= 0.08
    # Holm across the policy's tests keeps the gate's family-wise false alarms at or under 5%.
    assert fails / sims <= 0.06


def _regression(rng: np.random.Generator, n: int, p: float, drop: float):
    base = rng.random(n) < p
    tuned = base.copy()
    # Churn in both directions, then remove `drop` of the passes net.
    flips = rng.random(n) < 0.1
    tuned[flips] = ~tuned[flips]
    passing = np.flatnonzero(tuned)
    k = round(drop * n) + int(tuned.sum() - base.sum())
    if k > 0:
        tuned[rng.choice(passing, size=min(k, len(passing)), replace=False)] = False
    return base.astype(float), tuned.astype(float)


@pytest.mark.slow
def test_planted_regression_of_ten_points_is_detected(run_of) -> None:
    rng = np.random.default_rng(3)
    detected = 0
    sims = 40
    for _ in range(sims):
        b, t = _regression(rng, 400, 0.6, 0.10)
        assert abs((t.mean() - b.mean()) + 0.10) < 0.01
        base = run_of({"pass": b, "substance_pass": b})
        tuned = run_of({"pass": t, "substance_pass": t})
        decision = gate(compare(base, tuned, config=FAST), GUARDS)
        detected += decision.verdict == "fail"
    assert detected / sims >= 0.9
    # The reason names the metric and the figures.
    assert any(r.startswith("pass@all regressed") for r in decision.reasons)


def test_planted_improvement_passes(run_of) -> None:
    rng = np.random.default_rng(4)
    b, t = _regression(rng, 400, 0.6, 0.10)
    base = run_of({"pass": t, "substance_pass": t, "format_pass": np.ones(400)})
    tuned = run_of({"pass": b, "substance_pass": b, "format_pass": np.ones(400)})
    comparison = compare(base, tuned, config=FAST)
    assert comparison.delta("substance_pass").outcome == "improved"
    decision = gate(comparison, GUARDS)
    assert decision.verdict == "pass", decision.reasons
    improved = next(r for r in decision.rules if r.metric == "substance_pass")
    assert improved.improvement == pytest.approx(0.10, abs=0.01) and improved.ci_low > 0


def test_format_only_improvement_is_not_a_substance_improvement(run_of) -> None:
    """The template was learned (format 20% → 90%), the answers were not (substance unchanged)."""
    rng = np.random.default_rng(5)
    n = 300
    substance = (rng.random(n) < 0.3).astype(float)
    fmt_base = (rng.random(n) < 0.2).astype(float)
    fmt_tuned = np.maximum(fmt_base, (rng.random(n) < 0.9)).astype(float)
    base = run_of(
        {"pass": fmt_base * substance, "format_pass": fmt_base, "substance_pass": substance}
    )
    tuned = run_of(
        {"pass": fmt_tuned * substance, "format_pass": fmt_tuned, "substance_pass": substance}
    )
    comparison = compare(base, tuned, config=FAST)
    assert comparison.delta("format_pass").outcome == "improved"
    assert comparison.delta("substance_pass").outcome == "unchanged"
    decision = gate(comparison, GUARDS)
    assert decision.verdict != "pass"
    assert any(
        r.startswith("substance_pass@all: improvement not demonstrated") for r in decision.reasons
    )
    from evalsuite.reports import markdown

    md = markdown(comparison, decision)
    assert "format_pass" in md and "substance did not improve" in md


def test_canary_regression_fails_even_without_significance(run_of) -> None:
    vals = np.ones(30)
    tuned = vals.copy()
    tuned[0] = 0
    tags = [["canary"]] + [[]] * 29
    decision = gate(
        compare(run_of({"pass": vals}, tags=tags), run_of({"pass": tuned}, tags=tags), config=FAST),
        GatePolicy(min_samples=5),
    )
    assert decision.verdict == "fail" and decision.canaries_regressed == ["c0"]


def test_too_few_cases_is_inconclusive(run_of) -> None:
    b, t = np.array([0, 0, 0, 1, 0.0]), np.array([1, 1, 1, 1, 1.0])
    decision = gate(
        compare(run_of({"substance_pass": b}), run_of({"substance_pass": t}), config=FAST), GUARDS
    )
    assert decision.verdict == "inconclusive"
    assert any("5 cases < min_samples 20" in r for r in decision.reasons)


def test_mcnemar_and_holm_match_known_values() -> None:
    base = np.array([1] * 10 + [0] * 10)
    tuned = np.array([0] * 10 + [0] * 10)  # 10 discordant, all regressions
    assert mcnemar_exact(base, tuned) == pytest.approx(2 * 0.5**10)
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    t = paired_test(base, tuned, binary=True, higher_is_better=True, n_boot=400)
    assert (t.transitions.regressed, t.transitions.stable_pass) == (10, 0)
    flags = paired_test(base, tuned, binary=True, higher_is_better=False, n_boot=400)
    assert flags.transitions.fixed == 10  # a health flag going 1 → 0 is a fix
