"""The statistics behind A/B decisions and holdout uplift, against published and hand-computed values."""

import math

import pytest

from stepmail_plugin.tracking import stats


def test_wilson_interval_matches_newcombe_1998():
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", 81/263.
    low, high = stats.wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)


def test_difference_interval_matches_newcombe_method_10():
    # Newcombe (1998), "Interval estimation for the difference between independent proportions",
    # example 56/70 − 48/80: 0.0524 to 0.3339.
    low, high = stats.difference_interval(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_two_proportion_z_test_by_hand():
    # 30/200 vs 8/100: pooled 38/300; se = sqrt(0.12667 × 0.87333 × (1/200 + 1/100)) = 0.040735;
    # z = 0.07 / 0.040735 = 1.7184; p = 2 × (1 − Φ(1.7184)) = 0.0857.
    z, p = stats.two_proportion_test(30, 200, 8, 100)
    assert round(z, 4) == 1.7184 and round(p, 4) == 0.0857


def test_revenue_difference_interval_by_hand():
    # means 20 and 5, variances 100 and 50: se = sqrt(100/3 + 50/2) = 7.6376; ±1.96 × se = 14.969.
    low, high = stats.mean_difference_interval(stats.Sample.of([10, 20, 30]), stats.Sample.of([0, 10]))
    assert (round(low, 3), round(high, 3)) == (0.031, 29.969)
    # Zeros need not be listed: two buyers among five contacts.
    sample = stats.Sample.of([100, 50], n=5)
    assert sample.mean == 30 and sample.variance == pytest.approx((100**2 + 50**2 - 5 * 30**2) / 4)


def test_probability_to_be_best_two_arms_exact():
    # B ~ Beta(2, 1), A ~ Beta(1, 1): P(B > A) = E[B] = 2/3.
    assert stats.probability_to_be_best([(0, 0), (1, 1)]) == pytest.approx([1 / 3, 2 / 3])
    assert stats.probability_to_be_best([(7, 50), (7, 50)]) == pytest.approx([0.5, 0.5])


def _numeric_p_b_beats_a(sa, na, sb, nb, steps=20000):
    """P(B > A) by integrating pdf_B × cdf_A on a grid (an independent method)."""
    def pdf(x, a, b):
        return math.exp((a - 1) * math.log(x) + (b - 1) * math.log(1 - x) - math.lgamma(a) - math.lgamma(b)
                        + math.lgamma(a + b))
    h = 1 / steps
    cdf_a, total = 0.0, 0.0
    for i in range(steps):
        x = (i + 0.5) * h
        pa = pdf(x, 1 + sa, 1 + na - sa) * h
        total += pdf(x, 1 + sb, 1 + nb - sb) * h * (cdf_a + pa / 2)
        cdf_a += pa
    return total


@pytest.mark.parametrize("arms", [((6, 120), (20, 120)), ((12, 150), (15, 140)), ((40, 400), (30, 380))])
def test_probability_to_be_best_agrees_with_numerical_integration(arms):
    (sa, na), (sb, nb) = arms
    assert stats.probability_to_be_best(list(arms))[1] == pytest.approx(_numeric_p_b_beats_a(sa, na, sb, nb), abs=1e-4)


def test_probability_to_be_best_many_arms_by_simulation_is_stable():
    equal = stats.probability_to_be_best([(10, 100)] * 3)
    assert all(abs(p - 1 / 3) < 0.01 for p in equal) and sum(equal) == pytest.approx(1)
    assert stats.probability_to_be_best([(10, 100)] * 3) == equal  # seeded: same answer each time
    clear = stats.probability_to_be_best([(5, 200), (6, 200), (30, 200)])
    assert clear[2] > 0.999
