"""Evalsuite statistics: calibration, power and speed of compare + gate on simulated suites.

Prints the gate's false-alarm rate when base and tuned come from the same distribution, its
power against a planted 10-point regression, and the time of one comparison against a baseline
(a plain Python loop bootstrap over the same data) measured in the same run.

    .venv/bin/python bench/evalsuite_stats.py [--sims 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "evalsuite"))

from conftest import make_run, null_pair  # noqa: E402

from evalsuite import CompareConfig, GatePolicy, compare, gate  # noqa: E402
from evalsuite.gate import Rule  # noqa: E402

POLICY = GatePolicy(
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


def false_alarms(sims: int, n: int, n_boot: int) -> tuple[float, dict[str, float]]:
    rng = np.random.default_rng(123)
    fails, per_test = 0, {"pass": 0, "score:rouge": 0}
    for _ in range(sims):
        base, tuned = null_pair(rng, n)
        c = compare(base, tuned, config=CompareConfig(n_boot=n_boot))
        fails += gate(c, POLICY).verdict == "fail"
        for k in per_test:
            per_test[k] += c.delta(k).test.p_value < 0.05
    return fails / sims, {k: v / sims for k, v in per_test.items()}


def power(sims: int, n: int, drop: float, n_boot: int) -> float:
    rng = np.random.default_rng(321)
    hits = 0
    for _ in range(sims):
        base = rng.random(n) < 0.6
        tuned = base.copy()
        churn = rng.random(n) < 0.1
        tuned[churn] = ~tuned[churn]
        excess = round(drop * n) + int(tuned.sum() - base.sum())
        if excess > 0:
            tuned[rng.choice(np.flatnonzero(tuned), size=excess, replace=False)] = False
        b, t = base.astype(float), tuned.astype(float)
        c = compare(
            make_run({"pass": b, "substance_pass": b}),
            make_run({"pass": t, "substance_pass": t}),
            config=CompareConfig(n_boot=n_boot),
        )
        hits += gate(c, POLICY).verdict == "fail"
    return hits / sims


def loop_bootstrap(diffs: np.ndarray, n_boot: int, rng: np.random.Generator) -> None:
    means = []
    for _ in range(n_boot):
        means.append(
            sum(diffs[int(i)] for i in rng.integers(0, len(diffs), len(diffs))) / len(diffs)
        )
    np.quantile(means, [0.025, 0.975])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sims", type=int, default=300)
    args = parser.parse_args()

    t = time.perf_counter()
    rate, per_test = (
        false_alarms(args.sims, 120, 400)
        if args.sims
        else (float("nan"), {"pass": float("nan"), "score:rouge": float("nan")})
    )
    print(
        f"false alarms, {args.sims} null suites of 120 cases: gate fail rate {rate:.3f}; "
        f"per-test rejection at 0.05: McNemar(pass) {per_test['pass']:.3f}, "
        f"bootstrap(rouge) {per_test['score:rouge']:.3f}  [{time.perf_counter() - t:.1f}s]"
    )
    for n in (100, 400):
        print(f"power vs a 10-point regression, n={n}: {power(100, n, 0.10, 400):.2f}")

    rng = np.random.default_rng(0)
    base, tuned = null_pair(rng, 400)
    t = time.perf_counter()
    c = compare(base, tuned)  # 2,000 resamples per metric and slice
    ours = time.perf_counter() - t
    tests = len(c.deltas)
    boots = sum(d.test.test == "paired_bootstrap" for d in c.deltas)
    diffs = np.array([x.metrics["score:rouge"] for x in tuned.cases]) - np.array(
        [x.metrics["score:rouge"] for x in base.cases]
    )
    t = time.perf_counter()
    loop_bootstrap(diffs, 2000, rng)
    baseline = (time.perf_counter() - t) * boots
    print(
        f"compare, 400 cases, {tests} metric x slice tests ({boots} bootstrapped, 2000 "
        f"resamples; the rest exact McNemar): {ours:.2f}s; the same bootstraps as a Python "
        f"loop: {baseline:.2f}s; ratio {baseline / ours:.0f}x"
    )


if __name__ == "__main__":
    main()
