"""Paired statistics for base-vs-tuned comparisons.

- Continuous metrics: the mean paired difference with a percentile bootstrap confidence
  interval over cases; the two-sided p-value comes from the same bootstrap distribution, so the
  interval excludes 0 exactly when ``p < 1 - confidence``.
- Pass/fail metrics: the exact McNemar test (a binomial test on the discordant pairs) for the
  p-value, and Tango's score interval with a continuity correction of half a case for the
  difference in pass rates: unconditional, so a suite with no discordant pair still gets an
  interval whose width shrinks with the number of cases. Newcombe's hybrid score interval is
  kept beside it for the coverage benchmark (bench/paired_interval_coverage.py).
- Holm's step-down correction across a family of tests.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict


class Transitions(BaseModel):
    """How paired pass/fail outcomes moved from base to tuned ("good" respects the direction)."""

    model_config = ConfigDict(frozen=True)

    fixed: int
    """Base bad, tuned good."""
    regressed: int
    """Base good, tuned bad."""
    still_failing: int
    """Bad in both."""
    stable_pass: int
    """Good in both."""


class PairedTest(BaseModel):
    """The paired difference of one metric on one slice."""

    model_config = ConfigDict(frozen=True)

    n: int
    """Paired cases."""
    base_mean: float
    """The metric's mean on the base run."""
    tuned_mean: float
    """The metric's mean on the tuned run."""
    delta: float
    """``tuned_mean - base_mean`` (raw, not oriented by direction)."""
    ci_low: float
    """Lower bound of the confidence interval of ``delta``."""
    ci_high: float
    """Upper bound of the confidence interval of ``delta``."""
    p_value: float
    """Two-sided p-value of ``delta == 0`` (McNemar exact or bootstrap)."""
    test: str
    """``mcnemar_exact`` or ``paired_bootstrap``."""
    transitions: Transitions | None = None
    """For pass/fail metrics."""


def _rng(seed: int, key: str) -> np.random.Generator:
    # A seed per (metric, slice): results do not depend on the order metrics are compared in.
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def bootstrap_ci(
    diffs: np.ndarray, *, confidence: float, n_boot: int, rng: np.random.Generator
) -> tuple[float, float, float]:
    """Percentile bootstrap of the mean of paired differences: ``(low, high, p_two_sided)``."""
    n = len(diffs)
    if n == 0:
        return float("nan"), float("nan"), 1.0
    if np.all(diffs == diffs[0]):
        # Every resample gives the same mean: the interval is a point.
        d = float(diffs[0])
        return d, d, 1.0 if d == 0 else 0.0
    means = np.empty(n_boot)
    chunk = max(1, 2_000_000 // n)  # bound the index matrix's memory
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = diffs[idx].mean(axis=1)
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    # Share of resamples on the far side of 0, doubled; +1 terms keep p away from exactly 0.
    below = (np.sum(means <= 0) + 1) / (n_boot + 1)
    above = (np.sum(means >= 0) + 1) / (n_boot + 1)
    return float(low), float(high), float(min(1.0, 2 * min(below, above)))


def mcnemar_exact(base: np.ndarray, tuned: np.ndarray) -> float:
    """Exact two-sided McNemar p-value for paired 0/1 outcomes."""
    from scipy.stats import binomtest

    b = int(np.sum((base == 1) & (tuned == 0)))
    c = int(np.sum((base == 0) & (tuned == 1)))
    return 1.0 if b + c == 0 else float(binomtest(c, b + c, 0.5).pvalue)


def wilson_ci(
    x: np.ndarray, n: np.ndarray, confidence: float, *, continuity: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion ``x / n`` (arrays; ``n > 0``).

    The closed form of ``scipy.stats.binomtest(x, n).proportion_ci(method="wilson")`` (or
    ``"wilsoncc"`` with ``continuity``), written out so that a simulation can evaluate millions
    of tables at once.
    """
    from scipy.stats import norm

    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    z = float(norm.ppf(0.5 + confidence / 2))
    zz, p = z * z, x / n
    if continuity:
        # Newcombe (1998, single proportion), method 4; at x = 0 and x = n the bound is 0 or 1.
        root_lo = np.sqrt(np.maximum(zz - 2 - 1 / n + 4 * p * (n * (1 - p) + 1), 0.0))
        root_hi = np.sqrt(np.maximum(zz + 2 - 1 / n + 4 * p * (n * (1 - p) - 1), 0.0))
        low = np.where(x == 0, 0.0, (2 * x + zz - 1 - z * root_lo) / (2 * (n + zz)))
        high = np.where(x == n, 1.0, (2 * x + zz + 1 + z * root_hi) / (2 * (n + zz)))
    else:
        centre = (x + zz / 2) / (n + zz)
        half = z / (n + zz) * np.sqrt(x * (n - x) / n + zz / 4)
        low, high = centre - half, centre + half
    return np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)


def newcombe_paired_ci(
    both: npt.ArrayLike,
    tuned_only: npt.ArrayLike,
    base_only: npt.ArrayLike,
    neither: npt.ArrayLike,
    confidence: float,
    *,
    continuity: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for a paired difference of pass rates.

    The difference is ``tuned rate - base rate = (tuned_only - base_only) / n``. Each rate gets
    its Wilson score interval and the two are combined by "square and add", with the phi
    correlation between base and tuned correcting for the pairing (Newcombe, "Improved
    confidence intervals for the difference between binomial proportions based on paired data",
    Statistics in Medicine 17, 1998: method 11 with ``continuity``, method 10 without). Phi
    carries Newcombe's continuity correction, as in Fagerland, Lydersen and Laake's reference
    code: ``a·d - b·c`` between 0 and ``n/2`` counts as 0, so a suite with no discordant pair
    does not get phi = 1 and the degenerate interval [0, 0] again; phi is 0 where it is
    undefined (a margin of 0: every case passed, or failed, on one side).

    Args:
        both: Cases that pass on base and tuned (arrays of counts broadcast together).
        tuned_only: Pass on tuned only.
        base_only: Pass on base only.
        neither: Fail on both.
        confidence: The interval's confidence level.
        continuity: Continuity-corrected Wilson limits (method 11). Where every discordant
            pair goes one way (base 50%, tuned 60%) method 10 covers 91.5% at 20 cases; method
            11's worst cell in bench/paired_interval_coverage.py is 93.86% (100 cases, exact
            enumeration), which is why the comparison uses ``tango_paired_ci`` instead.

    Returns:
        ``(low, high)`` arrays, within [-1, 1]; [-1, 1] where there are no cases.
    """
    a, b, c, d = (np.asarray(v, dtype=float) for v in (both, tuned_only, base_only, neither))
    n = a + b + c + d
    empty = n == 0
    n = np.where(empty, 1.0, n)  # no 0/0; empty tables become [-1, 1] below
    p_tuned, p_base = (a + b) / n, (a + c) / n
    lo_t, hi_t = wilson_ci(a + b, n, confidence, continuity=continuity)
    lo_b, hi_b = wilson_ci(a + c, n, confidence, continuity=continuity)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    cross = a * d - b * c
    numerator = np.where(cross > n / 2, cross - n / 2, np.where(cross < 0, cross, 0.0))
    phi = np.where(margins > 0, numerator / np.sqrt(np.where(margins > 0, margins, 1.0)), 0.0)
    delta = p_tuned - p_base
    dl_t, dh_b = p_tuned - lo_t, hi_b - p_base
    dh_t, dl_b = hi_t - p_tuned, p_base - lo_b
    low = delta - np.sqrt(np.maximum(dl_t**2 - 2 * phi * dl_t * dh_b + dh_b**2, 0.0))
    high = delta + np.sqrt(np.maximum(dh_t**2 - 2 * phi * dh_t * dl_b + dl_b**2, 0.0))
    low = np.where(empty, -1.0, np.clip(low, -1.0, 1.0))
    high = np.where(empty, 1.0, np.clip(high, -1.0, 1.0))
    return low, high


def tango_paired_ci(
    tuned_only: npt.ArrayLike,
    base_only: npt.ArrayLike,
    n: npt.ArrayLike,
    confidence: float,
    *,
    continuity: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Tango's score interval for a paired difference of pass rates, continuity-corrected.

    The difference is ``(tuned_only - base_only) / n``. The interval is every ``Δ`` whose score
    statistic ``T(Δ) = (b - c - nΔ) / sqrt(n (2 q(Δ) + Δ (1 - Δ)))`` lies within ``±z``, where
    ``b`` and ``c`` are the discordant counts and ``q(Δ)`` the maximum-likelihood estimate of
    the base-only rate given ``Δ`` (Tango, "Equivalence test and confidence interval for the
    difference in proportions for the paired-sample design", Statistics in Medicine 17, 1998).
    With ``continuity = 0`` it is ``contingencytables::Tango_asymptotic_score_CI_paired_2x2``
    (Fagerland, Lydersen and Laake); ``continuity`` shrinks ``|b - c - nΔ|`` by that many cases
    first, the way a continuity correction does. Limits by bisection (T falls as Δ grows).

    Why corrected: without it the interval covers 93.6% at nominal 95% in the worst cell of
    bench/paired_interval_coverage.py (exact enumeration), Newcombe's hybrid score interval
    with continuity-corrected Wilson limits 93.9%; with half a case Tango's minimum is 95.4%.

    Args:
        tuned_only: Cases that pass on tuned only (arrays broadcast together).
        base_only: Cases that pass on base only.
        n: Paired cases.
        confidence: The interval's confidence level.
        continuity: The correction, in cases (0 for Tango's uncorrected interval).

    Returns:
        ``(low, high)`` arrays within [-1, 1]; [-1, 1] where ``n`` is 0.
    """
    from scipy.stats import norm

    b, c, n = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(tuned_only, base_only, n))
    empty = n == 0
    n = np.where(empty, 1.0, n)
    z = float(norm.ppf(0.5 + confidence / 2))

    def score(d: np.ndarray) -> np.ndarray:
        # q(Δ): the root of 2n q² + B q + C = 0 in [max(0, -Δ), ...] (Tango's constrained MLE).
        big_b = -b - c + (2 * n - b + c) * d
        big_c = -c * d * (1 - d)
        q = (np.sqrt(np.maximum(big_b**2 - 8 * n * big_c, 0.0)) - big_b) / (4 * n)
        var = n * (2 * q + d * (1 - d))
        s = b - c - n * d
        s = np.sign(s) * np.maximum(np.abs(s) - continuity, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = s / np.sqrt(var)
        unbounded = np.where(s > 0, np.inf, np.where(s < 0, -np.inf, 0.0))
        return np.where(var > 0, t, unbounded)

    estimate = (b - c) / n
    lo_out, lo_in = -np.ones_like(estimate), estimate.copy()  # T(lo_out) > z >= T(lo_in)
    hi_in, hi_out = estimate.copy(), np.ones_like(estimate)  # T(hi_in) >= -z > T(hi_out)
    for _ in range(55):  # 2 / 2**55: below float precision of a difference in [-1, 1]
        mid = (lo_out + lo_in) / 2
        above = score(mid) > z
        lo_out, lo_in = np.where(above, mid, lo_out), np.where(above, lo_in, mid)
        mid = (hi_in + hi_out) / 2
        below = score(mid) < -z
        hi_in, hi_out = np.where(below, hi_in, mid), np.where(below, mid, hi_out)
    # At a limit of ±1 that is inside the interval, the bisection stops one step short of it.
    low = np.where(score(-np.ones_like(estimate)) <= z, -1.0, lo_in)
    high = np.where(score(np.ones_like(estimate)) >= -z, 1.0, hi_in)
    low = np.where(empty, -1.0, np.clip(low, -1.0, 1.0))
    high = np.where(empty, 1.0, np.clip(high, -1.0, 1.0))
    return low, high


def pass_rate_ci(
    base: np.ndarray, tuned: np.ndarray, confidence: float
) -> tuple[float, float, float]:
    """The paired difference in pass rates: ``(low, high, p)``.

    The interval is Tango's score interval with a continuity correction of half a case
    (``tango_paired_ci``); the p-value is the exact McNemar test (``mcnemar_exact``). They
    are different procedures and near the boundary they can disagree: the interval may just
    exclude 0 while ``p`` is just above ``1 - confidence``, or the reverse. The gate decides
    significance (and, with the point estimate, whether a change exceeds a rule's margin) on
    the Holm-adjusted p-values; the interval only enters through ``max_ci_width`` and the
    figures it reports. With no cases the interval is [-1, 1] and ``p`` is 1.
    """
    tp, bp = tuned == 1, base == 1
    low, high = tango_paired_ci(np.sum(tp & ~bp), np.sum(~tp & bp), np.asarray(len(tp)), confidence)
    return float(low), float(high), mcnemar_exact(base, tuned)


def transitions(base: np.ndarray, tuned: np.ndarray, higher_is_better: bool | None) -> Transitions:
    """Count fixed / regressed / still failing / stable pass, where "good" follows the direction."""
    good = 0 if higher_is_better is False else 1
    bg, tg = base == good, tuned == good
    return Transitions(
        fixed=int(np.sum(~bg & tg)),
        regressed=int(np.sum(bg & ~tg)),
        still_failing=int(np.sum(~bg & ~tg)),
        stable_pass=int(np.sum(bg & tg)),
    )


def paired_test(
    base: Sequence[float],
    tuned: Sequence[float],
    *,
    binary: bool,
    higher_is_better: bool | None = True,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    key: str = "",
) -> PairedTest:
    """Compare paired per-case values of one metric.

    Args:
        base: The base run's values, one per case.
        tuned: The tuned run's values for the same cases, in the same order.
        binary: 0/1 values: exact McNemar p-value, Tango's score interval (continuity-
            corrected) and transition counts.
        higher_is_better: The metric's direction (only used for transition labels).
        confidence: The interval's confidence level.
        n_boot: Bootstrap resamples.
        seed: Base seed; with ``key`` it fixes the resamples.
        key: A name for this test (metric and slice), so every test has its own stream.
    """
    b = np.asarray(base, dtype=float)
    t = np.asarray(tuned, dtype=float)
    if b.shape != t.shape:
        raise ValueError("paired values must have the same length")
    diffs = t - b
    if binary:
        low, high, p = pass_rate_ci(b, t, confidence)
    else:
        low, high, p = bootstrap_ci(
            diffs, confidence=confidence, n_boot=n_boot, rng=_rng(seed, key)
        )
    n = len(diffs)
    return PairedTest(
        n=n,
        base_mean=float(b.mean()) if n else float("nan"),
        tuned_mean=float(t.mean()) if n else float("nan"),
        delta=float(diffs.mean()) if n else 0.0,
        ci_low=low,
        ci_high=high,
        p_value=p,
        test="mcnemar_exact" if binary else "paired_bootstrap",
        transitions=transitions(b, t, higher_is_better) if binary else None,
    )


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (same order as given), capped at 1."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()
