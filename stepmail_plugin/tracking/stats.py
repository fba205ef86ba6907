"""The statistics behind A/B decisions and holdout uplift, with the standard library only.

* :func:`wilson_interval` — confidence interval of a rate (Wilson score; sound at small counts).
* :func:`difference_interval` — interval of the difference of two rates (Newcombe's hybrid score
  method, built from the two Wilson intervals).
* :func:`two_proportion_test` — two-sided p-value of "the rates differ" (pooled z-test).
* :func:`mean_difference_interval` — interval of a difference of means (Welch, normal quantile),
  for revenue per contact.
* :func:`probability_to_be_best` — Bayesian probability that each arm has the highest rate,
  with uniform Beta(1, 1) priors: exact for two arms, a seeded simulation for more.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from statistics import NormalDist

SIMULATION_DRAWS = 40_000
SIMULATION_SEED = 20240611


def z_value(confidence: float) -> float:
    """The two-sided normal quantile, e.g. 1.95996… for 0.95."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of ``successes / n``; (0, 1) when ``n`` is 0."""
    if n <= 0:
        return 0.0, 1.0
    z = z_value(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_interval(s1: int, n1: int, s2: int, n2: int, confidence: float = 0.95) -> tuple[float, float]:
    """Newcombe's interval of ``s1/n1 − s2/n2``."""
    if n1 <= 0 or n2 <= 0:
        return -1.0, 1.0
    p1, p2 = s1 / n1, s2 / n2
    l1, u1 = wilson_interval(s1, n1, confidence)
    l2, u2 = wilson_interval(s2, n2, confidence)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def two_proportion_test(s1: int, n1: int, s2: int, n2: int) -> tuple[float, float]:
    """(z, two-sided p-value) of the pooled two-proportion z-test; (0, 1) without data."""
    if n1 <= 0 or n2 <= 0:
        return 0.0, 1.0
    pooled = (s1 + s2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (s1 / n1 - s2 / n2) / se
    return z, 2 * (1 - NormalDist().cdf(abs(z)))


@dataclass
class Sample:
    """n values summarised by their sum and sum of squares (zeros need not be listed)."""

    n: int
    total: float
    total_sq: float

    @classmethod
    def of(cls, values, n: int | None = None) -> Sample:
        values = [float(v) for v in values]
        return cls(n if n is not None else len(values), sum(values), sum(v * v for v in values))

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Sample variance (n − 1)."""
        if self.n < 2:
            return 0.0
        return max(0.0, (self.total_sq - self.n * self.mean ** 2) / (self.n - 1))


def mean_difference_interval(a: Sample, b: Sample, confidence: float = 0.95) -> tuple[float, float]:
    """Interval of ``mean(a) − mean(b)`` (Welch's standard error, normal quantile)."""
    if a.n < 2 or b.n < 2:
        return -math.inf, math.inf
    d = a.mean - b.mean
    half = z_value(confidence) * math.sqrt(a.variance / a.n + b.variance / b.n)
    return d - half, d + half


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def probability_b_beats_a(sa: int, na: int, sb: int, nb: int) -> float:
    """Exact P(rate_B > rate_A) for Beta(1 + s, 1 + n − s) posteriors (Evan Miller's sum)."""
    alpha_a, beta_a = 1 + sa, 1 + na - sa
    alpha_b, beta_b = 1 + sb, 1 + nb - sb
    total = 0.0
    for i in range(alpha_b):
        total += math.exp(
            _log_beta(alpha_a + i, beta_a + beta_b) - math.log(beta_b + i)
            - _log_beta(1 + i, beta_b) - _log_beta(alpha_a, beta_a)
        )
    return min(1.0, max(0.0, total))


def probability_to_be_best(arms: list[tuple[int, int]]) -> list[float]:
    """For each (successes, n), the posterior probability that its rate is the highest."""
    if not arms:
        return []
    if len(arms) == 1:
        return [1.0]
    if len(arms) == 2:
        (sa, na), (sb, nb) = arms
        b = probability_b_beats_a(sa, na, sb, nb)
        return [1.0 - b, b]
    rng = random.Random(SIMULATION_SEED)
    wins = [0] * len(arms)
    params = [(1 + s, 1 + n - s) for s, n in arms]
    for _ in range(SIMULATION_DRAWS):
        draws = [rng.betavariate(a, b) for a, b in params]
        wins[draws.index(max(draws))] += 1
    return [w / SIMULATION_DRAWS for w in wins]
