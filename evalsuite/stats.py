"""Paired statistics for base-vs-tuned comparisons.

- Continuous metrics: the mean paired difference with a percentile bootstrap confidence
  interval over cases; the two-sided p-value comes from the same bootstrap distribution, so the
  interval excludes 0 exactly when ``p < 1 - confidence``.
- Pass/fail metrics: the exact McNemar test (a binomial test on the discordant pairs) and the
  matching exact (Clopper–Pearson) interval for the difference in pass rates.
- Holm's step-down correction across a family of tests.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
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
    return mcnemar_exact_ci(base, tuned, 0.95)[2]


def mcnemar_exact_ci(
    base: np.ndarray, tuned: np.ndarray, confidence: float
) -> tuple[float, float, float]:
    """Exact McNemar: ``(low, high, p)`` for the paired difference in pass rates.

    Conditional on the d discordant pairs, the tuned-wins count is Binomial(d, θ) and the
    difference is ``d/n · (2θ - 1)``; the Clopper–Pearson interval of θ maps to an interval of
    the difference that agrees with the exact test (a bootstrap interval is too narrow when only
    a handful of pairs are discordant).
    """
    from scipy.stats import binomtest

    n = len(base)
    b = int(np.sum((base == 1) & (tuned == 0)))
    c = int(np.sum((base == 0) & (tuned == 1)))
    d = b + c
    if d == 0:
        return 0.0, 0.0, 1.0
    test = binomtest(c, d, 0.5)
    ci = test.proportion_ci(confidence_level=confidence, method="exact")
    scale = d / n
    return scale * (2 * ci.low - 1), scale * (2 * ci.high - 1), float(test.pvalue)


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
        binary: 0/1 values: McNemar exact test plus transition counts.
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
        low, high, p = mcnemar_exact_ci(b, t, confidence)
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
