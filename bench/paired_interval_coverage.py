"""Coverage of the paired pass-rate interval: exact enumeration, and Monte Carlo beside it.

Suites of n paired cases draw base and tuned outcomes from a joint distribution set by the base
pass rate, the tuned pass rate and a concordance kappa (0: independent; 1: as concordant as the
two rates allow, so every discordant pair goes one way). For each cell the script reports how
often each interval covers the true difference (tuned rate - base rate), and its mean width:

- ``new``: the interval evalsuite uses, Tango's score interval with a continuity correction of
  half a case (``evalsuite.stats.tango_paired_ci``);
- ``tango``: the same without the correction;
- ``m11``: Newcombe's hybrid score interval with continuity-corrected Wilson limits (method 11),
  the interval evalsuite used before this one;
- ``old``: exact Clopper-Pearson conditional on the discordant pairs, scaled by their share of
  n, the interval before that.

Coverage is **exact**: every table of n cases is enumerated with its probability, so there is
no Monte Carlo error in the verdict. ``new``, ``tango`` and ``old`` depend on the discordant
counts only, so their coverage sums over the (b, c) trinomial; ``m11`` needs all four cells and
is enumerated up to ``--m11-max-n`` (n = 400 alone is 10.8 million tables). ``--sims`` adds a
Monte Carlo estimate of every interval on the same grid, with its standard error, to show what
a simulation of that size can and cannot resolve. The verdict is the minimum exact coverage of
``new`` over the grid sizes and, for ``--dense`` > 0, over every ``--dense``-th n from 20 to 400.

    .venv/bin/python bench/paired_interval_coverage.py [--sims 20000] [--dense 10] [--m11-max-n 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import gammaln
from scipy.stats import beta, binomtest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evalsuite.stats import newcombe_paired_ci, tango_paired_ci

SIZES = (20, 50, 100, 200, 400)
RATES = ((0.02, 0.02), (0.05, 0.10), (0.5, 0.5), (0.5, 0.6), (0.95, 0.98), (0.98, 0.98))
KAPPAS = (0.0, 0.5, 0.9, 1.0)
TARGET = 0.94
EPS = 1e-12  # float noise at a bound equal to the truth (e.g. both rates 1 - a few ulps)


def conditional_ci(
    tuned_only: np.ndarray, base_only: np.ndarray, n: int, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """The oldest interval: Clopper-Pearson on the discordant pairs, times their share of n."""
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
    return np.clip(
        np.array([both, p_tuned - both, p_base - both, 1 - p_base - p_tuned + both]), 0, 1
    )


def _log_pmf(counts: np.ndarray, probs: np.ndarray, n: int) -> np.ndarray:
    """Multinomial log-probabilities of the rows of ``counts`` (a zero count of a zero cell is 1)."""
    with np.errstate(divide="ignore"):
        logp = np.log(probs)
    terms = np.where(counts == 0, 0.0, counts * logp)
    return gammaln(n + 1) - gammaln(counts + 1).sum(axis=1) + terms.sum(axis=1)


def discordant_tables(n: int) -> np.ndarray:
    """Every (tuned only, base only, concordant) of n cases."""
    b, c = np.indices((n + 1, n + 1)).reshape(2, -1)
    bc = np.column_stack([b, c])[b + c <= n]
    return np.column_stack([bc, n - bc.sum(axis=1)])


def full_tables(n: int) -> np.ndarray:
    """Every (both, tuned only, base only, neither) of n cases."""
    rows = []
    for b, c, rest in discordant_tables(n):
        a = np.arange(rest + 1)
        rows.append(np.column_stack([a, np.full_like(a, b), np.full_like(a, c), rest - a]))
    return np.concatenate(rows)


def exact_discordant(n: int, confidence: float) -> dict[str, Any]:
    """Intervals that depend on the discordant counts only, for every table of n cases."""
    t = discordant_tables(n)
    return {
        "tables": t,
        "new": tango_paired_ci(t[:, 0], t[:, 1], n, confidence),
        "tango": tango_paired_ci(t[:, 0], t[:, 1], n, confidence, continuity=0.0),
        "old": conditional_ci(t[:, 0], t[:, 1], n, confidence),
    }


def covered(lo: np.ndarray, hi: np.ndarray, truth: float) -> np.ndarray:
    return (lo <= truth + EPS) & (truth - EPS <= hi)


def exact_coverage(
    n: int, probs: np.ndarray, disc: dict[str, Any], full: dict[str, Any] | None
) -> dict[str, tuple[float, float]]:
    """``{interval: (exact coverage, mean width)}`` in one cell."""
    truth = probs[1] - probs[2]
    out = {}
    t = disc["tables"]
    w = np.exp(_log_pmf(t, np.array([probs[1], probs[2], probs[0] + probs[3]]), n))
    for k in ("new", "tango", "old"):
        lo, hi = disc[k]
        out[k] = (float(w[covered(lo, hi, truth)].sum()), float((w * (hi - lo)).sum()))
    if full is not None:
        w = np.exp(_log_pmf(full["tables"], probs, n))
        lo, hi = full["m11"]
        out["m11"] = (float(w[covered(lo, hi, truth)].sum()), float((w * (hi - lo)).sum()))
    return out


def mc_coverage(
    rng: np.random.Generator, n: int, probs: np.ndarray, sims: int, confidence: float
) -> dict[str, float]:
    """``{interval: Monte Carlo coverage}`` over ``sims`` simulated suites of n cases."""
    tables = rng.multinomial(n, probs / probs.sum(), size=sims)
    truth = probs[1] - probs[2]
    intervals = {
        "new": tango_paired_ci(tables[:, 1], tables[:, 2], n, confidence),
        "m11": newcombe_paired_ci(
            tables[:, 0], tables[:, 1], tables[:, 2], tables[:, 3], confidence
        ),
    }
    return {k: float(np.mean(covered(lo, hi, truth))) for k, (lo, hi) in intervals.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--sims", type=int, default=0, help="Monte Carlo suites per cell (0: none)")
    parser.add_argument("--dense", type=int, default=10, help="also every k-th n in 20..400")
    parser.add_argument("--m11-max-n", type=int, default=100, help="largest n to enumerate m11")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()

    check_baseline(args.confidence)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    print(
        f"exact coverage at nominal {args.confidence:.0%} (m11 enumerated up to n={args.m11_max_n})"
    )
    mc = f" | MC({args.sims}) new   m11" if args.sims else ""
    print(f"p_base p_tuned kappa    n | cover new tango   m11   old | width new   m11{mc}")
    worst: dict[str, tuple[float, str]] = {k: (1.0, "") for k in ("new", "tango", "m11", "old")}
    worst_mc: dict[str, tuple[float, str]] = {k: (1.0, "") for k in ("new", "m11")}
    for n in SIZES:
        disc = exact_discordant(n, args.confidence)
        full = None
        if n <= args.m11_max_n:
            t = full_tables(n)
            m11 = newcombe_paired_ci(t[:, 0], t[:, 1], t[:, 2], t[:, 3], args.confidence)
            full = {"tables": t, "m11": m11}
        for p_base, p_tuned in RATES:
            for kappa in KAPPAS:
                probs = cell_probs(p_base, p_tuned, kappa)
                r = exact_coverage(n, probs, disc, full)
                where = f"p_base={p_base}, p_tuned={p_tuned}, kappa={kappa}, n={n}"
                for k, (cov, _) in r.items():
                    if cov < worst[k][0]:
                        worst[k] = (cov, where)
                m11_cov = r.get("m11", (float("nan"), float("nan")))
                line = (
                    f"{p_base:6.2f} {p_tuned:7.2f} {kappa:5.1f} {n:4d} | "
                    f"{r['new'][0]:9.4f} {r['tango'][0]:.4f} {m11_cov[0]:.4f} {r['old'][0]:.4f} | "
                    f"{r['new'][1]:9.3f} {m11_cov[1]:.3f}"
                )
                if args.sims:
                    est = mc_coverage(rng, n, probs, args.sims, args.confidence)
                    for k, cov in est.items():
                        if cov < worst_mc[k][0]:
                            worst_mc[k] = (cov, where)
                    line += f" | {est['new']:11.4f} {est['m11']:.4f}"
                print(line, flush=True)
    dense = list(range(20, 401, args.dense)) if args.dense else []
    worst_dense = (1.0, "")
    for n in dense:
        disc = exact_discordant(n, args.confidence)
        for p_base, p_tuned in RATES:
            for kappa in KAPPAS:
                cov = exact_coverage(n, cell_probs(p_base, p_tuned, kappa), disc, None)["new"][0]
                if cov < worst_dense[0]:
                    worst_dense = (cov, f"p_base={p_base}, p_tuned={p_tuned}, kappa={kappa}, n={n}")
    for k, (cov, where) in worst.items():
        print(f"min exact coverage, {k}: {cov:.4f} at {where}")
    if dense:
        print(
            f"min exact coverage, new, n = 20, {20 + args.dense}, ..., 400: "
            f"{worst_dense[0]:.4f} at {worst_dense[1]}"
        )
    if args.sims:
        se = np.sqrt(args.confidence * (1 - args.confidence) / args.sims)
        print(f"Monte Carlo standard error of one cell's coverage at nominal: {se:.4f}")
        for k, (cov, where) in worst_mc.items():
            print(f"min Monte Carlo coverage, {k}: {cov:.4f} at {where}")
    floor = min(worst["new"][0], worst_dense[0])
    verdict = "PASS" if floor >= TARGET else "FAIL"
    print(
        f"{verdict}: min exact coverage of the new interval {floor:.4f} "
        f"(target >= {TARGET} at nominal {args.confidence})  [{time.perf_counter() - start:.1f}s]"
    )


if __name__ == "__main__":
    main()
