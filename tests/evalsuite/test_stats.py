"""The paired interval for pass-rate differences (Tango's score, continuity-corrected; Newcombe's
hybrid score beside it) and its edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from evalsuite.stats import (
    newcombe_paired_ci,
    paired_test,
    pass_rate_ci,
    tango_paired_ci,
    wilson_ci,
)


def _suite(both: int, tuned_only: int, base_only: int, neither: int):
    base = np.array([1] * both + [0] * tuned_only + [1] * base_only + [0] * neither, dtype=float)
    tuned = np.array([1] * both + [1] * tuned_only + [0] * base_only + [0] * neither, dtype=float)
    return base, tuned


@pytest.mark.parametrize("continuity", [False, True])
@pytest.mark.parametrize("x, n", [(0, 20), (3, 20), (20, 20), (57, 400), (1, 1)])
def test_wilson_matches_scipy(x: int, n: int, continuity: bool) -> None:
    ci = binomtest(x, n).proportion_ci(method="wilsoncc" if continuity else "wilson")
    low, high = wilson_ci(np.array(x), np.array(n), 0.95, continuity=continuity)
    assert (float(low), float(high)) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_published_example() -> None:
    """Cavo et al. (2012), complete response before/after consolidation: 59, 6, 16, 80.

    Newcombe's square-and-add interval (method 10) for p1+ - p+1 = -0.0621 is -0.1186 to
    -0.0046 in Fagerland, Lydersen and Laake's companion code to "Statistical Analysis of
    Contingency Tables" (R package contingencytables, tests/testthat/test-ch8.R).
    """
    low, high = newcombe_paired_ci(59, 6, 16, 80, 0.95, continuity=False)
    assert (float(low), float(high)) == pytest.approx((-0.1186, -0.0046), abs=5e-5)
    # Method 11 is the same construction, a little wider.
    low11, high11 = newcombe_paired_ci(59, 6, 16, 80, 0.95)
    assert low11 < low and high11 > high


def test_tango_published_example_and_its_correction() -> None:
    """The same table: Tango's score interval is -0.1240 to -0.0054 in contingencytables
    (tests/testthat/test-ch8.R, ``Tango_asymptotic_score_CI_paired_2x2``); 6 pass only on the
    first, 16 only on the second, of 161."""
    low, high = tango_paired_ci(6, 16, 161, 0.95, continuity=0.0)
    assert (float(low), float(high)) == pytest.approx((-0.1240, -0.0054), abs=5e-5)
    # Half a case of continuity correction (what the comparison uses) widens both sides.
    low_cc, high_cc = tango_paired_ci(6, 16, 161, 0.95)
    assert low_cc < low and high_cc > high and high_cc < 0
    # And the comparison's interval is that one, oriented tuned - base.
    base, tuned = _suite(59, 16, 6, 80)
    assert pass_rate_ci(base, tuned, 0.95)[:2] == pytest.approx((-float(high_cc), -float(low_cc)))


def test_tango_limits_solve_the_score_equation() -> None:
    """At each finite limit the continuity-corrected score statistic is exactly ±z."""
    from scipy.stats import norm

    b, c, n = 9.0, 3.0, 50.0
    low, high = (float(x) for x in tango_paired_ci(b, c, n, 0.95))
    z = norm.ppf(0.975)
    for d, sign in ((low, 1), (high, -1)):
        # q: the constrained ML estimate of the base-only rate, by brute force over a fine grid.
        q = np.linspace(max(0.0, -d), (1 - d) / 2, 200_001)[1:-1]
        loglik = b * np.log(q + d) + c * np.log(q) + (n - b - c) * np.log(1 - 2 * q - d)
        q_hat = q[np.argmax(loglik)]
        s = b - c - n * d
        t = np.sign(s) * (abs(s) - 0.5) / np.sqrt(n * (2 * q_hat + d * (1 - d)))
        assert t == pytest.approx(sign * z, abs=1e-3)


@pytest.mark.parametrize("pass_rate", [1.0, 0.5])
def test_no_discordant_pair_gives_an_interval_that_shrinks_with_n(pass_rate: float) -> None:
    widths = []
    for n in (20, 400):
        k = round(pass_rate * n)
        low, high, p = pass_rate_ci(*_suite(k, 0, 0, n - k), 0.95)
        assert low < 0 < high and p == 1.0  # not [0, 0]: no change is likely, not certain
        assert low == pytest.approx(-high)  # symmetric: nothing points either way
        widths.append(high - low)
    # Roughly z²/n wide: [-0.200, +0.200] at 20 cases, [-0.012, +0.012] at 400.
    assert widths[0] == pytest.approx(0.401, abs=0.002) and widths[1] < widths[0] / 15
    assert widths == sorted(widths, reverse=True)


def test_all_discordant_pairs_one_way_leave_room_above_the_estimate() -> None:
    # 21 fixed, none regressed, 11 concordant: the old interval's upper bound was the estimate.
    base, tuned = _suite(6, 21, 0, 5)
    low, high, p = pass_rate_ci(base, tuned, 0.95)
    estimate = tuned.mean() - base.mean()
    assert 0 < low < estimate < high
    assert p == pytest.approx(2 * 0.5**21)  # the p-value is still the exact McNemar test


def test_margin_of_zero_sets_phi_to_zero() -> None:
    """Every base case passes: phi is undefined, taken as 0, and the limits are hand-checkable.

    With phi = 0 the square-and-add limits are ``d - sqrt(dl_t² + dh_b²)`` and
    ``d + sqrt(dh_t² + dl_b²)``; the base rate's Wilson upper limit is 1, so dh_b = 0.
    """
    low, high = (float(x) for x in newcombe_paired_ci(15, 0, 5, 0, 0.95))
    t = binomtest(15, 20).proportion_ci(method="wilsoncc")
    b = binomtest(20, 20).proportion_ci(method="wilsoncc")
    assert low == pytest.approx(-0.25 - (0.75 - t.low))
    assert high == pytest.approx(-0.25 + np.hypot(t.high - 0.75, 1.0 - b.low))


def test_no_cases() -> None:
    assert pass_rate_ci(np.array([]), np.array([]), 0.95) == (-1.0, 1.0, 1.0)


def test_paired_test_reports_the_unconditional_interval() -> None:
    base, tuned = _suite(30, 0, 0, 10)
    t = paired_test(base, tuned, binary=True)
    assert t.delta == 0 and t.p_value == 1.0 and t.ci_low < 0 < t.ci_high
    assert t.test == "mcnemar_exact"
