"""Coverage of the paired pass-rate interval: Newcombe's hybrid score vs the old conditional one.

Simulates suites of n paired cases whose base and tuned outcomes come from a joint distribution
set by the base pass rate, the tuned pass rate and a concordance kappa (0: independent; 1: as
concordant as the two rates allow, so every discordant pair goes one way). For each cell it
prints how often each interval covers the true difference (tuned rate - base rate) and its mean
width: ``new``, the interval evalsuite uses (Newcombe's hybrid score with continuity correction,
method 11), ``m10`` (the same without the correction, Newcombe's method 10) and ``old``, the
interval evalsuite used before (exact Clopper-Pearson conditional on the discordant pairs,
scaled by their share of n), all measured in the same run on the same tables.

The verdict is on the minimum over the grid. The default of 20,000 suites per cell keeps the
Monte Carlo error of one cell near 0.0015: with 2,000 (error 0.005) the minimum over 120 cells
sits about 0.01 below the true worst cell from noise alone.

    .venv/bin/python bench/paired_interval_coverage.py [--sims 20000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import beta, binomtest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evalsuite.stats import newcombe_paired_ci

SIZES = (20, 50, 100, 200, 400)
RATES = ((0.02, 0.02), (0.05, 0.10), (0.5, 0.5), (0.5, 0.6), (0.95, 0.98), (0.98, 0.98))
KAPPAS = (0.0, 0.5, 0.9, 1.0)
TARGET = 0.94


def conditional_ci(
    tuned_only: np.ndarray, base_only: np.ndarray, n: int, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """The old interval: Clopper-Pearson on the discordant pairs, times their share of n."""
    c, d = tuned_only.astype(float), (tuned_only + base_only).astype(float)
    alpha = 1 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(c > 0, beta.ppf(alpha / 2, c, d - c + 1), 0.0)
        hi = np.where(c < d, beta.ppf(1 - alpha / 2, c + 1, d - c), 1.0)
    scale = d / n
    return np.where(d > 0, scale * (2 * lo - 1), 0.0), np.where(d > 0, scale * (2 * hi - 1), 0.0)


def check_baseline(confidence: float) -> None:
    """The vectorised baseline reproduces the old scalar code (binomtest's exact interval)."""
    for c, b, n in ((0, 5, 20), (3, 4, 30), (7, 0, 50), (12, 9, 100)):
        ci = binomtest(c, c + b, 0.5).proportion_ci(confidence_level=confidence, method="exact")
        want = ((c + b) / n * (2 * ci.low - 1), (c + b) / n * (2 * ci.high - 1))
        got = conditional_ci(np.array([c]), np.array([b]), n, confidence)
        assert np.allclose([got[0][0], got[1][0]], want), (c, b, n, got, want)


def cell_probs(p_base: float, p_tuned: float, kappa: float) -> np.ndarray:
    """Cell probabilities (both pass, tuned only, base only, neither) of the joint distribution."""
    independent = p_base * p_tuned
    both = independent + kappa * (min(p_base, p_tuned) - independent)
    return np.array([both, p_tuned - both, p_base - both, 1 - p_base - p_tuned + both])


def coverage(
    rng: np.random.Generator, n: int, probs: np.ndarray, sims: int, confidence: float
) -> dict[str, tuple[float, float]]:
    """``{"old"|"new": (coverage, mean width)}`` over ``sims`` simulated suites of n cases."""
    tables = rng.multinomial(n, np.clip(probs, 0.0, 1.0), size=sims)
    truth = probs[1] - probs[2]
    intervals = {
        "old": conditional_ci(tables[:, 1], tables[:, 2], n, confidence),
        "m10": newcombe_paired_ci(*tables.T, confidence=confidence, continuity=False),
        "new": newcombe_paired_ci(*tables.T, confidence=confidence),
    }
    eps = 1e-12  # float noise at a bound equal to the truth (e.g. both rates 1 - a few ulps)
    return {
        k: (float(np.mean((lo <= truth + eps) & (truth - eps <= hi))), float(np.mean(hi - lo)))
        for k, (lo, hi) in intervals.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sims", type=int, default=20_000, help="simulated suites per cell")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()

    check_baseline(args.confidence)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    print(f"{args.sims} suites per cell, nominal {args.confidence:.0%}")
    print("p_base p_tuned kappa    n | cover old   m10   new | width old   m10   new")
    worst = {k: (1.0, "") for k in ("old", "m10", "new")}
    for p_base, p_tuned in RATES:
        for kappa in KAPPAS:
            probs = cell_probs(p_base, p_tuned, kappa)
            for n in SIZES:
                r = coverage(rng, n, probs, args.sims, args.confidence)
                where = f"p_base={p_base}, p_tuned={p_tuned}, kappa={kappa}, n={n}"
                for k in worst:
                    if r[k][0] < worst[k][0]:
                        worst[k] = (r[k][0], where)
                print(
                    f"{p_base:6.2f} {p_tuned:7.2f} {kappa:5.1f} {n:4d} | "
                    f"{r['old'][0]:9.3f} {r['m10'][0]:.3f} {r['new'][0]:.3f} | "
                    f"{r['old'][1]:9.3f} {r['m10'][1]:.3f} {r['new'][1]:.3f}"
                )
    se = np.sqrt(args.confidence * (1 - args.confidence) / args.sims)
    print(f"Monte Carlo standard error of one coverage at nominal: {se:.4f}")
    for k, (cov, where) in worst.items():
        print(f"min coverage, {k}: {cov:.4f} at {where}")
    verdict = "PASS" if worst["new"][0] >= TARGET else "FAIL"
    print(
        f"{verdict}: min coverage of the new interval over the grid {worst['new'][0]:.4f} "
        f"(target >= {TARGET} at nominal {args.confidence})  "
        f"[{time.perf_counter() - start:.1f}s]"
    )


if __name__ == "__main__":
    main()
