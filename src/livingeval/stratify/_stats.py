"""Small exact statistics without scipy: chi-square tail, two-proportion test, Holm."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "benjamini_hochberg",
    "chi2_sf",
    "holm",
    "js_divergence",
    "one_sided_increase_p",
    "two_proportion_p",
]


def _gammq(a: float, x: float) -> float:
    """Regularised upper incomplete gamma ``Q(a, x)`` (series / continued fraction)."""
    if x <= 0.0:
        return 1.0
    gln = math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(-x + a * math.log(x) - gln))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return min(1.0, math.exp(-x + a * math.log(x) - gln) * h)


def chi2_sf(statistic: float, df: int) -> float:
    """Survival function of the chi-square distribution with ``df`` degrees of freedom."""
    if df <= 0:
        return 1.0
    return _gammq(df / 2.0, statistic / 2.0)


def two_proportion_p(count_a: int, n_a: int, count_b: int, n_b: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (1.0 when undefined)."""
    if n_a == 0 or n_b == 0:
        return 1.0
    pooled = (count_a + count_b) / (n_a + n_b)
    var = pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b)
    if var <= 0.0:
        return 1.0
    z = (count_b / n_b - count_a / n_a) / math.sqrt(var)
    return math.erfc(abs(z) / math.sqrt(2.0))


def one_sided_increase_p(count_a: int, n_a: int, count_b: int, n_b: int) -> float:
    """One-sided p-value that ``count_b / n_b`` exceeds ``count_a / n_a`` (pooled z-test)."""
    two_sided = two_proportion_p(count_a, n_a, count_b, n_b)
    if n_a == 0 or n_b == 0:
        return 1.0
    rose = count_b / n_b > count_a / n_a
    return two_sided / 2.0 if rose else 1.0 - two_sided / 2.0


def benjamini_hochberg(p_values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Benjamini-Hochberg adjusted p-values (false discovery rate).

    Rejecting where the adjusted value is below ``alpha`` controls the false discovery
    rate at ``alpha``; when nothing changed at all (every null true) that is also the
    chance of any false rejection.
    """
    m = p_values.size
    order = np.argsort(p_values, kind="stable")
    adjusted = np.empty(m, dtype=np.float64)
    running = 1.0
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        running = min(running, float(p_values[i]) * m / (rank + 1))
        adjusted[i] = running
    return adjusted


def holm(p_values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Holm-Bonferroni adjusted p-values (family-wise error control)."""
    m = p_values.size
    order = np.argsort(p_values, kind="stable")
    adjusted = np.empty(m, dtype=np.float64)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, float(p_values[i]) * (m - rank)))
        adjusted[i] = running
    return adjusted


def js_divergence(p: npt.NDArray[np.float64], q: npt.NDArray[np.float64]) -> float:
    """Jensen-Shannon divergence in bits (0 = identical, 1 = disjoint)."""
    p = p / p.sum() if p.sum() > 0 else p
    q = q / q.sum() if q.sum() > 0 else q
    m = 0.5 * (p + q)

    def kl(a: npt.NDArray[np.float64]) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / m[mask])))

    return 0.5 * kl(p) + 0.5 * kl(q)
