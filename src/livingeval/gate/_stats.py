"""Gate math: pure, vectorised numpy. No I/O, no judge types, no hidden randomness.

Conventions used throughout (see ``docs/gating.md`` for the full account):

* An item ``i`` has paired scores ``candidate[i]`` and ``baseline[i]`` in ``[0, 1]`` and the
  paired difference ``d[i] = candidate[i] - baseline[i]``. A pairwise *win* is ``(1, 0)``,
  a *loss* ``(0, 1)``, a *tie* ``(0.5, 0.5)`` (any equal pair counts as a tie).
* Production items carry inclusion weights ``weights[i]`` (``1 / P(item drawn)``); every
  estimate is the ratio (Hajek) estimator ``sum(w * x) / sum(w)``, unbiased for the production
  distribution to first order and invariant to scaling all weights.
* Production weights are normalised to a mean of 1. Adversarial items are not sampled, so
  their ``weights`` entry is ignored: each counts as ``adversarial_weight`` average production
  items, exactly as that many copies of it would (same estimate, same interval).
* Invalid items (``valid`` False: discarded or failed verdicts) are dropped, and their weight
  goes to the valid items of the same cluster (missing at random within a cluster).
* Strata for resampling are the clusters of the production items plus one stratum holding
  the whole adversarial slice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import NormalDist
from typing import Literal

import attrs
import numpy as np
import numpy.typing as npt

from livingeval._random import Seed, as_generator
from livingeval.errors import ConfigError, GateError

__all__ = [
    "ClusterTests",
    "DeltaEstimate",
    "PairwiseRates",
    "SampleSize",
    "benjamini_hochberg",
    "cluster_tests",
    "failure_rates",
    "holm",
    "more_samples_to_decide",
    "non_inferiority",
    "normal_cdf",
    "normal_quantile",
    "paired_delta",
    "pairwise_rates",
    "pairwise_sd",
    "rubric_means",
    "samples_needed",
    "weighted_mean",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
Decision = Literal["pass", "fail", "inconclusive"]

THRESHOLD_TOLERANCE = 1e-12
"""A bound within this distance of the margin counts as *on* the margin (float rounding)."""

EXACT_MAX_VALUES = 8
"""Strata with at most this many distinct (weight, difference) values resample exactly."""
EXACT_MAX_DRAWS = 16
"""Strata with at most this many items resample exactly item by item."""
_COLLINEAR = 1e-12
"""A residual variance under this share of the total is taken as rounding noise (zero)."""

_NORMAL = NormalDist()


def normal_cdf(z: npt.ArrayLike) -> FloatArray:
    """Standard normal CDF, elementwise (``+inf`` gives 1, ``-inf`` gives 0).

    Example:
        >>> float(normal_cdf(0.0))
        0.5
    """
    arr = np.asarray(z, dtype=np.float64)
    flat = [0.5 * math.erfc(-float(x) / math.sqrt(2.0)) for x in arr.ravel()]
    return np.asarray(flat, dtype=np.float64).reshape(arr.shape)


def normal_quantile(p: float) -> float:
    """Standard normal quantile (inverse CDF) of ``p`` in ``(0, 1)``.

    Example:
        >>> round(normal_quantile(0.95), 3)
        1.645
    """
    if not 0.0 < p < 1.0:
        raise ConfigError(f"p must be in (0, 1); p={p!r}. Pass e.g. 0.95.", field="p")
    return _NORMAL.inv_cdf(p)


# ----------------------------------------------------------------------------- rates


def _as_weights(weights: npt.ArrayLike | None, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise GateError(f"weights must have shape ({n},); weights.shape={w.shape}.")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise GateError("weights must be finite and >= 0; pass inclusion weights 1/P(drawn).")
    return w


def weighted_mean(values: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
    """Weighted mean of ``values``, ignoring NaN entries; NaN when nothing is left.

    Structured accuracy is ``weighted_mean(candidate_match_scores, weights)``.

    Args:
        values: Per-item values (NaN marks "not scored").
        weights: Inclusion weights; ``None`` means all 1.

    Returns:
        ``sum(w * x) / sum(w)`` over the non-NaN items.

    Example:
        >>> weighted_mean([1.0, 0.0, float("nan")], [3.0, 1.0, 1.0])
        0.75
    """
    x = np.asarray(values, dtype=np.float64)
    w = _as_weights(weights, x.shape[0])
    keep = ~np.isnan(x)
    total = float(w[keep].sum())
    if total <= 0.0:
        return math.nan
    return float(np.dot(w[keep], x[keep]) / total)


@attrs.frozen(kw_only=True)
class PairwiseRates:
    """Weighted shares of pairwise outcomes among the valid items.

    ``win + loss + tie == 1`` (when any item is valid); ``discarded`` is the weighted share
    of all items whose verdict was discarded, reported separately and never counted as a tie.

    .. versionadded:: 0.1.0
    """

    win: float
    """Share where the candidate scored higher than the baseline."""
    loss: float
    """Share where the candidate scored lower."""
    tie: float
    """Share where both scored the same (including ``(0.5, 0.5)`` ties)."""
    discarded: float
    """Weighted share of all items that were discarded (``valid`` False)."""
    n: int
    """Number of valid items."""


def pairwise_rates(
    candidate: npt.ArrayLike,
    baseline: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    valid: npt.ArrayLike | None = None,
) -> PairwiseRates:
    """Weighted win/loss/tie rates of paired verdicts.

    Args:
        candidate: Candidate scores (win ``1``, loss ``0``, tie ``0.5``).
        baseline: Baseline scores, paired.
        weights: Inclusion weights; ``None`` means all 1.
        valid: False for discarded verdicts; they are excluded from the three rates.

    Returns:
        The rates among valid items and the discarded share of all items.

    Example:
        >>> r = pairwise_rates([1, 0, 0.5, 1], [0, 1, 0.5, 0], valid=[True, True, True, False])
        >>> (round(r.win, 3), r.discarded)
        (0.333, 0.25)
    """
    c = np.asarray(candidate, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    w = _as_weights(weights, c.shape[0])
    ok = np.ones(c.shape[0], dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    total = float(w.sum())
    kept = float(w[ok].sum())
    discarded = 0.0 if total <= 0 else 1.0 - kept / total
    if kept <= 0:
        return PairwiseRates(win=math.nan, loss=math.nan, tie=math.nan, discarded=discarded, n=0)
    win = float(w[ok & (c > b)].sum()) / kept
    loss = float(w[ok & (c < b)].sum()) / kept
    return PairwiseRates(
        win=win, loss=loss, tie=1.0 - win - loss, discarded=discarded, n=int(ok.sum())
    )


def failure_rates(
    flags: Mapping[str, npt.ArrayLike], weights: npt.ArrayLike | None = None
) -> dict[str, float]:
    """Weighted rate of each failure kind.

    Example:
        >>> failure_rates({"malformed_arguments": [True, False, False, False]})
        {'malformed_arguments': 0.25}
    """
    return {
        kind: weighted_mean(np.asarray(v, dtype=np.float64), weights) for kind, v in flags.items()
    }


def rubric_means(
    scores: Mapping[str, npt.ArrayLike], weights: npt.ArrayLike | None = None
) -> dict[str, float]:
    """Weighted mean per rubric dimension (NaN scores are skipped), never folded together.

    Example:
        >>> rubric_means({"clarity": [1.0, 0.5], "correctness": [1.0, float("nan")]})
        {'clarity': 0.75, 'correctness': 1.0}
    """
    return {dim: weighted_mean(v, weights) for dim, v in scores.items()}


def pairwise_sd(win: float, loss: float) -> float:
    """Standard deviation of the paired difference of pairwise verdicts.

    With ``d`` in ``{+1, 0, -1}`` at rates ``win``, ``tie``, ``loss``:
    ``sd = sqrt(win + loss - (win - loss) ** 2)``. Use it to plan sample sizes.

    Example:
        >>> round(pairwise_sd(0.3, 0.3), 3)
        0.775
    """
    return math.sqrt(max(win + loss - (win - loss) ** 2, 0.0))


# ----------------------------------------------------------------------------- the design


@attrs.frozen(kw_only=True)
class _Design:
    """Items mapped to resampling strata with per-copy weight ``u`` and frequency ``f``."""

    keep: BoolArray
    stratum: IntArray  # 0..S-1 over kept items; the adversarial stratum is last if present
    u: FloatArray  # per-copy weight (production mean 1)
    f: FloatArray  # frequency (1, or adversarial_weight)
    cluster_ids: IntArray  # cluster id of each production stratum
    has_adversarial: bool
    n_strata: int


def _design(
    n: int,
    weights: npt.ArrayLike | None,
    clusters: npt.ArrayLike | None,
    adversarial: npt.ArrayLike | None,
    valid: npt.ArrayLike | None,
    adversarial_weight: float,
) -> _Design:
    if not (math.isfinite(adversarial_weight) and adversarial_weight > 0):
        raise ConfigError(
            f"adversarial_weight must be a finite number > 0; adversarial_weight={adversarial_weight!r}.",
            field="adversarial_weight",
        )
    w = _as_weights(weights, n)
    cl = (
        np.zeros(n, dtype=np.int64)
        if clusters is None
        else np.asarray(clusters, dtype=np.int64).reshape(-1)
    )
    adv = np.zeros(n, dtype=bool) if adversarial is None else np.asarray(adversarial, dtype=bool)
    ok = np.ones(n, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    for name, arr in (("clusters", cl), ("adversarial", adv), ("valid", ok)):
        if arr.shape != (n,):
            raise GateError(f"{name} must have shape ({n},); {name}.shape={arr.shape}.")
    prod = ~adv
    # Production clusters -> 0..C-1 (sorted ids, so item order does not matter).
    cluster_ids, inverse = np.unique(cl[prod], return_inverse=True)
    n_clusters = cluster_ids.shape[0]
    stratum_all = np.full(n, n_clusters, dtype=np.int64)
    stratum_all[prod] = inverse
    # Give the weight of invalid production items to valid items of the same cluster.
    # Every sum over items runs in (stratum, weight) order: a float sum rounds differently
    # in another order, and a last-bit change in the weights can merge or split the
    # distinct values the bootstrap resamples, so the result would depend on item order.
    w_prod = np.where(prod, w, 0.0)
    by_weight = np.lexsort((w_prod, stratum_all))
    s_sorted, w_sorted = stratum_all[by_weight], w_prod[by_weight]
    total_c = _bincount(s_sorted[prod[by_weight]], w_sorted[prod[by_weight]], n_clusters)
    kept_prod = prod & ok
    kept_sorted = kept_prod[by_weight]
    valid_c = _bincount(s_sorted[kept_sorted], w_sorted[kept_sorted], n_clusters)
    scale = np.divide(total_c, valid_c, out=np.zeros_like(total_c), where=valid_c > 0)
    w_adj = np.where(prod, w * np.append(scale, 0.0)[stratum_all], 0.0)
    keep = ok & (adv | (w_adj > 0))
    kp = keep & prod
    mean_w = float(np.sort(w_adj[kp]).sum() / kp.sum()) if kp.any() else 1.0
    u = np.where(adv, 1.0, w_adj / (mean_w if mean_w > 0 else 1.0))
    f = np.where(adv, float(adversarial_weight), 1.0)
    has_adv = bool((keep & adv).any())
    return _Design(
        keep=keep,
        stratum=stratum_all[keep],
        u=u[keep],
        f=f[keep],
        cluster_ids=cluster_ids.astype(np.int64),
        has_adversarial=has_adv,
        n_strata=n_clusters + 1,
    )


@attrs.frozen(kw_only=True)
class _Categories:
    """Distinct (stratum, u, d) values with their total frequency, sorted canonically."""

    stratum: IntArray
    u: FloatArray
    d: FloatArray
    f: FloatArray


def _categories(stratum: IntArray, u: FloatArray, d: FloatArray, f: FloatArray) -> _Categories:
    if stratum.shape[0] == 0:
        empty = np.zeros(0)
        return _Categories(stratum=stratum, u=empty, d=empty, f=empty)
    order = np.lexsort((d, u, stratum))
    s_o, u_o, d_o, f_o = stratum[order], u[order], d[order], f[order]
    new = np.ones(s_o.shape[0], dtype=bool)
    new[1:] = (s_o[1:] != s_o[:-1]) | (u_o[1:] != u_o[:-1]) | (d_o[1:] != d_o[:-1])
    starts = np.flatnonzero(new)
    return _Categories(
        stratum=s_o[starts], u=u_o[starts], d=d_o[starts], f=np.add.reduceat(f_o, starts)
    )


def _bincount(index: IntArray, weights: FloatArray | None, size: int) -> FloatArray:
    return np.bincount(index, weights=weights, minlength=size).astype(np.float64)


def _stratum_sums(cat: _Categories, n_strata: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    n_h = _bincount(cat.stratum, cat.f, n_strata)
    t1 = _bincount(cat.stratum, cat.f * cat.u * cat.d, n_strata)
    t2 = _bincount(cat.stratum, cat.f * cat.u, n_strata)
    return n_h, t1, t2


def _bootstrap(
    cat: _Categories, n_strata: int, resamples: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Resampled per-stratum sums ``(T1*, T2*)``, each of shape ``(resamples, n_strata)``.

    Each stratum resamples ``round(n_h)`` items with replacement in proportion to their
    frequencies (exactly, by multinomial counts over distinct values or item draws; or, for
    large strata with many distinct values, from the normal law with the same mean and
    covariance). Deviations are rescaled by ``sqrt(n_h / (n_h - 1))`` (Rao-Wu) so the
    bootstrap variance matches the unbiased stratified variance.
    """
    n_h, t1, t2 = _stratum_sums(cat, n_strata)
    out1 = np.broadcast_to(t1, (resamples, n_strata)).copy()
    out2 = np.broadcast_to(t2, (resamples, n_strata)).copy()
    if cat.f.shape[0] == 0:
        return out1, out2
    bounds = np.searchsorted(cat.stratum, np.arange(n_strata + 1))
    k_h = np.diff(bounds)
    draws = np.maximum(np.rint(n_h), 1).astype(np.int64)
    rescale = np.where(n_h > 1, np.sqrt(n_h / np.maximum(n_h - 1, 1e-300)), 0.0)
    x1 = cat.u * cat.d
    x2 = cat.u
    p = cat.f / np.maximum(n_h[cat.stratum], 1e-300)
    present = k_h > 0
    exact_small = present & (k_h <= EXACT_MAX_VALUES)
    exact_items = present & ~exact_small & (draws <= EXACT_MAX_DRAWS)
    normal = present & ~exact_small & ~exact_items
    pos = np.arange(cat.f.shape[0]) - bounds[cat.stratum]  # index within the stratum
    # Exact: multinomial counts over at most EXACT_MAX_VALUES distinct values, drawn as
    # conditional binomials vectorised over (resamples, strata).
    idx = np.flatnonzero(exact_small)
    if idx.size:
        width = int(k_h[idx].max())
        row_of = np.full(n_strata, -1, dtype=np.int64)
        row_of[idx] = np.arange(idx.size)
        sel = exact_small[cat.stratum]
        rows = row_of[cat.stratum[sel]]
        cols = width - k_h[cat.stratum[sel]] + pos[sel]  # left-pad: the last column is real
        pv = np.zeros((idx.size, width))
        v1 = np.zeros((idx.size, width))
        v2 = np.zeros((idx.size, width))
        pv[rows, cols] = p[sel]
        v1[rows, cols] = x1[sel]
        v2[rows, cols] = x2[sel]
        remaining = np.broadcast_to(draws[idx], (resamples, idx.size)).copy()
        p_left = np.ones(idx.size)
        s1 = np.zeros((resamples, idx.size))
        s2 = np.zeros((resamples, idx.size))
        for col in range(width - 1):
            q = np.clip(
                np.divide(pv[:, col], p_left, out=np.zeros(idx.size), where=p_left > 0), 0, 1
            )
            count = rng.binomial(remaining, q)
            s1 += count * v1[:, col]
            s2 += count * v2[:, col]
            remaining -= count
            p_left = p_left - pv[:, col]
        s1 += remaining * v1[:, width - 1]
        s2 += remaining * v2[:, width - 1]
        out1[:, idx] = s1
        out2[:, idx] = s2
    # Exact: draw items (in proportion to their frequency) for small strata with many values.
    idx = np.flatnonzero(exact_items)
    if idx.size:
        sel = exact_items[cat.stratum]
        st = cat.stratum[sel]
        within = p[sel] / np.maximum(_bincount(st, p[sel], n_strata)[st], 1e-300)
        cum = np.cumsum(within)
        first = np.r_[0, np.flatnonzero(np.diff(st)) + 1]
        last = np.r_[first[1:] - 1, st.size - 1]
        offset = np.r_[0.0, cum][first]  # cumulative mass before each stratum
        cdf = st + cum - np.repeat(offset, np.diff(np.r_[first, st.size]))
        cdf[last] = st[last] + 1.0  # stratum h occupies (h, h + 1] in one sorted CDF
        top = int(draws[idx].max())
        chunk = max(1, 4_000_000 // (resamples * top))
        for lo in range(0, idx.size, chunk):
            part = idx[lo : lo + chunk]
            u = part[None, :, None] + rng.random((resamples, part.size, top))
            pick = np.minimum(np.searchsorted(cdf, u, side="right"), st.size - 1)
            live = np.arange(top)[None, None, :] < draws[part][None, :, None]
            out1[:, part] = np.where(live, x1[sel][pick], 0.0).sum(axis=2)
            out2[:, part] = np.where(live, x2[sel][pick], 0.0).sum(axis=2)
    # Large strata with many distinct values: normal law with the exact bootstrap moments.
    idx = np.flatnonzero(normal)
    if idx.size:
        sel = normal[cat.stratum]
        st = cat.stratum[sel]
        ps, a, b = p[sel], x1[sel], x2[sel]
        ea = _bincount(st, ps * a, n_strata)
        eb = _bincount(st, ps * b, n_strata)
        da, db = a - ea[st], b - eb[st]
        vaa = _bincount(st, ps * da * da, n_strata)[idx]
        vab = _bincount(st, ps * da * db, n_strata)[idx]
        vbb = _bincount(st, ps * db * db, n_strata)[idx]
        l00 = np.sqrt(np.maximum(vaa, 0.0))
        l10 = np.divide(vab, l00, out=np.zeros(idx.size), where=l00 > 0)
        # The residual variance of T2 given T1. When the two are (nearly) collinear, e.g.
        # every delta in the stratum is the same, it is rounding noise whose square root
        # (~1e-9) would leak into the interval and make it depend on the items' order.
        resid = vbb - l10**2
        l11 = np.sqrt(np.where(resid > _COLLINEAR * vbb, resid, 0.0))
        z0 = rng.standard_normal((resamples, idx.size))
        z1 = rng.standard_normal((resamples, idx.size))
        nd = draws[idx].astype(np.float64)
        root = np.sqrt(nd)
        out1[:, idx] = nd * ea[idx] + root * (l00 * z0)
        out2[:, idx] = nd * eb[idx] + root * (l10 * z0 + l11 * z1)
    # Put draws back on the frequency scale and apply the Rao-Wu rescaling.
    ratio = n_h / draws
    out1 = t1 + rescale * (out1 * ratio - t1)
    out2 = t2 + rescale * (out2 * ratio - t2)
    return out1, out2


def _linearised_variance(cat: _Categories, n_strata: int, estimate: float, total: float) -> float:
    """Unbiased stratified variance of the ratio estimator (Taylor linearisation)."""
    if total <= 0 or cat.f.shape[0] == 0:
        return 0.0
    n_h = _bincount(cat.stratum, cat.f, n_strata)
    z = cat.u * (cat.d - estimate) / total
    zbar = _bincount(cat.stratum, cat.f * z, n_strata) / np.maximum(n_h, 1e-300)
    ss = _bincount(cat.stratum, cat.f * (z - zbar[cat.stratum]) ** 2, n_strata)
    factor = np.where(n_h > 1, n_h / np.maximum(n_h - 1, 1e-300), 0.0)
    return float((factor * ss).sum())


@attrs.frozen(kw_only=True)
class DeltaEstimate:
    """The weighted paired delta (candidate minus baseline) and its one-sided bounds.

    ``lower`` and ``upper`` are one-sided ``1 - alpha`` confidence bounds, so
    ``[lower, upper]`` is a ``1 - 2 * alpha`` two-sided interval. Both bounds are clamped to
    contain ``estimate``.

    .. versionadded:: 0.1.0
    """

    estimate: float
    """The weighted mean paired difference, adversarial slice included at its weight."""
    lower: float
    """One-sided lower confidence bound at level ``1 - alpha``."""
    upper: float
    """One-sided upper confidence bound at level ``1 - alpha``."""
    se: float
    """Standard error (bootstrap standard deviation, or the linearised one)."""
    alpha: float
    """One-sided error level of each bound."""
    n: int
    """Number of valid items used."""
    n_effective: float
    """Items counted with their frequency (adversarial items count ``adversarial_weight``)."""
    production_estimate: float
    """The same delta over production items only (NaN when there are none)."""
    adversarial_estimate: float
    """The same delta over the adversarial slice only (NaN when it is empty)."""
    method: str
    """``"bootstrap"`` or ``"analytic"``."""
    resamples: int
    """Bootstrap resamples (0 for the analytic method)."""
    stratum_sizes: tuple[float, ...] = ()
    """Frequency-weighted item count per stratum (production clusters, then adversarial)."""
    stratum_shares: tuple[float, ...] = ()
    """Each stratum's share of the total weight in the estimate."""


def _check_scores(name: str, x: FloatArray) -> None:
    if x.ndim != 1:
        raise GateError(f"{name} must be one-dimensional; {name}.ndim={x.ndim}.")
    if np.any(np.isnan(x)) or np.any(x < 0.0) or np.any(x > 1.0):
        bad = x[np.isnan(x) | (x < 0.0) | (x > 1.0)][:3]
        raise GateError(
            f"{name} scores must be in [0, 1] for valid items; found {name}={bad.tolist()}. "
            "Mark items without a verdict with valid=False instead of NaN."
        )


def paired_delta(
    candidate: npt.ArrayLike,
    baseline: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    clusters: npt.ArrayLike | None = None,
    adversarial: npt.ArrayLike | None = None,
    valid: npt.ArrayLike | None = None,
    adversarial_weight: float = 3.0,
    alpha: float = 0.05,
    resamples: int = 2000,
    seed: Seed = 0,
    method: Literal["bootstrap", "analytic"] = "bootstrap",
) -> DeltaEstimate:
    """Weighted paired delta vs the baseline with a cluster-stratified confidence interval.

    The bootstrap resamples within each cluster (and within the adversarial slice), so the
    pairing of candidate and baseline on the same item is kept and cluster shares stay fixed.
    It works on sufficient statistics (per-stratum counts of distinct values), not items.

    Args:
        candidate: Candidate scores in ``[0, 1]``.
        baseline: Baseline scores in ``[0, 1]``, paired.
        weights: Inclusion weights of production items; ``None`` means all 1.
        clusters: Cluster id per item; ``None`` means one cluster.
        adversarial: True for adversarial-set items.
        valid: False for discarded verdicts (dropped; their weight stays in their cluster).
        adversarial_weight: How many average production items one adversarial item counts as.
        alpha: One-sided error level of each bound.
        resamples: Bootstrap resamples.
        seed: Seed of the bootstrap.
        method: ``"bootstrap"`` (default) or ``"analytic"`` (normal, linearised variance).

    Returns:
        The estimate, one-sided bounds and the numbers behind them.

    Raises:
        GateError: mismatched shapes, scores outside ``[0, 1]``, negative weights.
        ConfigError: ``alpha``, ``resamples`` or ``adversarial_weight`` out of range.

    Example:
        >>> est = paired_delta([1.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 1.0], seed=0)
        >>> est.estimate
        0.0
    """
    if not 0.0 < alpha < 0.5:
        raise ConfigError(f"alpha must be in (0, 0.5); alpha={alpha!r}.", field="alpha")
    if method == "bootstrap" and resamples < 100:
        raise ConfigError(
            f"resamples must be >= 100 for a bootstrap interval; resamples={resamples!r}.",
            field="resamples",
        )
    c = np.asarray(candidate, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    if c.shape != b.shape:
        raise GateError(
            f"candidate and baseline must be paired; candidate.shape={c.shape}, baseline.shape={b.shape}."
        )
    design = _design(c.shape[0], weights, clusters, adversarial, valid, adversarial_weight)
    ck, bk = c[design.keep], b[design.keep]
    _check_scores("candidate", ck)
    _check_scores("baseline", bk)
    d = ck - bk
    cat = _categories(design.stratum, design.u, d, design.f)
    n_h, t1, t2 = _stratum_sums(cat, design.n_strata)
    total = float(t2.sum())
    if total <= 0:
        nan = math.nan
        return DeltaEstimate(
            estimate=nan, lower=nan, upper=nan, se=nan, alpha=alpha, n=0, n_effective=0.0,
            production_estimate=nan, adversarial_estimate=nan, method=method, resamples=0,
        )  # fmt: skip
    estimate = float(t1.sum() / total)
    prod_t2 = float(t2[:-1].sum())
    prod = float(t1[:-1].sum() / prod_t2) if prod_t2 > 0 else math.nan
    adv = float(t1[-1] / t2[-1]) if t2[-1] > 0 else math.nan
    if method == "bootstrap":
        b1, b2 = _bootstrap(cat, design.n_strata, resamples, as_generator(seed))
        reps = b1.sum(axis=1) / b2.sum(axis=1)
        lower = float(np.quantile(reps, alpha))
        upper = float(np.quantile(reps, 1.0 - alpha))
        se = float(reps.std(ddof=1))
        used = resamples
    elif method == "analytic":
        se = math.sqrt(_linearised_variance(cat, design.n_strata, estimate, total))
        z = normal_quantile(1.0 - alpha)
        lower, upper = estimate - z * se, estimate + z * se
        used = 0
    else:
        raise ConfigError(
            f"method must be 'bootstrap' or 'analytic'; method={method!r}.", field="method"
        )
    return DeltaEstimate(
        estimate=estimate,
        lower=min(lower, estimate),
        upper=max(upper, estimate),
        se=se,
        alpha=alpha,
        n=int(design.keep.sum()),
        n_effective=float(n_h.sum()),
        production_estimate=prod,
        adversarial_estimate=adv,
        method=method,
        resamples=used,
        stratum_sizes=tuple(float(x) for x in n_h),
        stratum_shares=tuple(float(x) for x in t2 / total),
    )


def non_inferiority(lower: float, upper: float, margin: float) -> Decision:
    """Three-way non-inferiority decision for a delta with one-sided bounds.

    * ``fail`` when ``upper < -margin``: the delta is credibly below ``-margin``;
    * ``pass`` when ``lower > -margin``: any regression is credibly smaller than ``margin``;
    * ``inconclusive`` otherwise.

    **At exactly the threshold** (a bound equal to ``-margin``, within ``1e-12`` to absorb
    float rounding) that bound decides nothing: ``upper == -margin`` is not a fail and
    ``lower == -margin`` is not a pass. A degenerate interval sitting on ``-margin`` is
    therefore ``inconclusive``.

    Example:
        >>> non_inferiority(-0.05, -0.03, 0.02), non_inferiority(-0.01, 0.02, 0.02)
        ('fail', 'pass')
        >>> non_inferiority(-0.02, -0.02, 0.02)
        'inconclusive'
    """
    if math.isnan(lower) or math.isnan(upper):
        return "inconclusive"
    if upper < -margin - THRESHOLD_TOLERANCE:
        return "fail"
    if lower > -margin + THRESHOLD_TOLERANCE:
        return "pass"
    return "inconclusive"


# ----------------------------------------------------------------------------- multiple tests


def holm(pvalues: npt.ArrayLike, alpha: float = 0.05) -> BoolArray:
    """Holm's step-down procedure: which hypotheses to reject, controlling the FWER.

    Example:
        >>> holm([0.001, 0.04, 0.2]).tolist()
        [True, False, False]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.shape[0]
    order = np.argsort(p, kind="stable")
    thresholds = alpha / (m - np.arange(m))
    ok = p[order] <= thresholds
    first_fail = int(np.argmin(ok)) if not ok.all() else m
    reject = np.zeros(m, dtype=bool)
    reject[order[:first_fail]] = True
    return reject


def benjamini_hochberg(pvalues: npt.ArrayLike, alpha: float = 0.05) -> BoolArray:
    """Benjamini-Hochberg step-up procedure: which hypotheses to reject, controlling the FDR.

    Example:
        >>> benjamini_hochberg([0.001, 0.04, 0.2]).tolist()
        [True, False, False]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.shape[0]
    order = np.argsort(p, kind="stable")
    ok = p[order] <= alpha * np.arange(1, m + 1) / max(m, 1)
    reject = np.zeros(m, dtype=bool)
    if ok.any():
        last = int(np.flatnonzero(ok)[-1])
        reject[order[: last + 1]] = True
    return reject


@attrs.frozen(kw_only=True)
class ClusterTests:
    """Per-cluster one-sided regression tests with multiple-testing control.

    .. versionadded:: 0.1.0
    """

    cluster_ids: tuple[int, ...]
    """Cluster ids, sorted."""
    estimates: tuple[float, ...]
    """Weighted paired delta per cluster."""
    se: tuple[float, ...]
    """Standard error per cluster (with the two-pseudo-item variance floor)."""
    n: tuple[int, ...]
    """Valid items per cluster."""
    pvalues: tuple[float, ...]
    """One-sided p-value of "no regression beyond the margin" (1.0 when untested)."""
    tested: tuple[bool, ...]
    """False for clusters smaller than ``min_items``."""
    rejected: tuple[bool, ...]
    """True where the cluster credibly regresses beyond the margin after correction."""


def cluster_tests(
    candidate: npt.ArrayLike,
    baseline: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    clusters: npt.ArrayLike | None = None,
    adversarial: npt.ArrayLike | None = None,
    valid: npt.ArrayLike | None = None,
    margin: float = 0.02,
    alpha: float = 0.05,
    correction: Literal["holm", "bh"] = "holm",
    min_items: int = 5,
) -> ClusterTests:
    """Test each production cluster for a regression beyond ``margin``.

    Per cluster ``h`` the null is ``delta_h >= -margin``; the one-sided p-value is
    ``Phi((delta_h + margin) / se_h)``. ``se_h`` is the unbiased within-cluster standard error
    computed with two pseudo-items at ``d = +1`` and ``d = -1`` added to the sum of squares
    (Agresti-Caffo style), so a tiny cluster of identical losses is not infinitely certain.
    P-values are corrected across the tested clusters with Holm (FWER) or
    Benjamini-Hochberg (FDR). Adversarial items are left out (the floor covers them).

    Example:
        >>> ct = cluster_tests([1.0] * 20 + [0.0] * 20, [1.0] * 40, clusters=[0] * 20 + [1] * 20)
        >>> ct.rejected
        (False, True)
    """
    if correction not in ("holm", "bh"):
        raise ConfigError(
            f"correction must be 'holm' or 'bh'; correction={correction!r}.", field="correction"
        )
    c = np.asarray(candidate, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    if c.shape != b.shape:
        raise GateError(f"candidate and baseline must be paired; shapes {c.shape} and {b.shape}.")
    design = _design(c.shape[0], weights, clusters, adversarial, valid, 1.0)
    prod = design.stratum < design.n_strata - 1
    s = design.stratum[prod]
    u = design.u[prod]
    d = (c[design.keep] - b[design.keep])[prod]
    _check_scores("candidate", c[design.keep])
    _check_scores("baseline", b[design.keep])
    m = design.n_strata - 1
    n_h = _bincount(s, None, m)
    t1 = _bincount(s, u * d, m)
    t2 = _bincount(s, u, m)
    est = np.divide(t1, t2, out=np.zeros(m), where=t2 > 0)
    ubar = np.divide(t2, n_h, out=np.zeros(m), where=n_h > 0)
    ss = _bincount(s, (u * (d - est[s])) ** 2, m)
    ss += ubar**2 * (2.0 + 2.0 * est**2)  # pseudo-items at +1 and -1
    factor = np.divide(n_h, n_h - 1, out=np.zeros(m), where=n_h > 1)
    var = factor * np.divide(ss, t2**2, out=np.zeros(m), where=t2 > 0)
    se = np.sqrt(var)
    tested = n_h >= max(min_items, 2)
    z = np.divide(est + margin, se, out=np.zeros(m), where=se > 0)
    pvals = np.where(tested, normal_cdf(z), 1.0)
    idx = np.flatnonzero(tested)
    rejected = np.zeros(m, dtype=bool)
    if idx.size:
        pick = holm if correction == "holm" else benjamini_hochberg
        rejected[idx] = pick(pvals[idx], alpha)
    return ClusterTests(
        cluster_ids=tuple(int(x) for x in design.cluster_ids),
        estimates=tuple(float(x) for x in est),
        se=tuple(float(x) for x in se),
        n=tuple(int(x) for x in n_h),
        pvalues=tuple(float(x) for x in pvals),
        tested=tuple(bool(x) for x in tested),
        rejected=tuple(bool(x) for x in rejected),
    )


# ----------------------------------------------------------------------------- power


@attrs.frozen(kw_only=True)
class SampleSize:
    """Samples needed to decide a non-inferiority gate at a given power.

    .. versionadded:: 0.1.0
    """

    total: int
    """Total items (``-1`` when the true delta sits on the margin: no size decides it)."""
    per_stratum: tuple[int, ...]
    """Items per stratum under proportional allocation."""


def samples_needed(
    *,
    true_delta: float,
    sd: float | npt.ArrayLike,
    shares: npt.ArrayLike | None = None,
    margin: float = 0.02,
    alpha: float = 0.05,
    power: float = 0.8,
) -> SampleSize:
    """Items per stratum so the gate decides with probability ``power``.

    A true delta above ``-margin`` should *pass* (lower bound above ``-margin``); one below
    should *fail*. Under proportional allocation ``n_h = n * W_h`` the estimate's variance is
    ``sum(W_h * sd_h**2) / n``, so ``n = ((z_{1-alpha} + z_{power}) * sd_bar / |true_delta +
    margin|) ** 2`` with ``sd_bar**2 = sum(W_h * sd_h**2)``.

    Args:
        true_delta: The delta to plan for (e.g. ``-0.04`` for a 4-point regression, ``0.0``
            for no change).
        sd: Standard deviation of the paired difference, overall or per stratum
            (see :func:`pairwise_sd`).
        shares: Population share ``W_h`` of each stratum; ``None`` means one stratum.
        margin: The gate's non-inferiority margin.
        alpha: One-sided error level.
        power: Desired probability of a decisive (correct) outcome.

    Returns:
        The total and the per-stratum allocation (rounded up).

    Example:
        >>> samples_needed(true_delta=0.0, sd=0.6, margin=0.02).total
        5565
    """
    if not 0.0 < power < 1.0:
        raise ConfigError(f"power must be in (0, 1); power={power!r}.", field="power")
    w = np.ones(1) if shares is None else np.asarray(shares, dtype=np.float64)
    w = w / w.sum()
    sds = np.broadcast_to(np.asarray(sd, dtype=np.float64), w.shape)
    sd_bar = math.sqrt(float((w * sds**2).sum()))
    gap = abs(true_delta + margin)
    if gap <= THRESHOLD_TOLERANCE:
        return SampleSize(total=-1, per_stratum=tuple(-1 for _ in w))
    z = normal_quantile(1.0 - alpha) + normal_quantile(power)
    total = math.ceil((z * sd_bar / gap) ** 2)
    per = np.ceil(total * w).astype(np.int64)
    return SampleSize(total=int(per.sum()), per_stratum=tuple(int(x) for x in per))


def more_samples_to_decide(
    estimate: float,
    se: float,
    n: int,
    *,
    margin: float = 0.02,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int | None:
    """How many more items would decide an inconclusive gate if the estimate holds.

    Scales the standard error as ``1 / sqrt(n)`` and asks for the bound to clear the margin
    with probability ``power``. ``None`` when the estimate sits on the margin (no sample size
    decides it) or the inputs are degenerate.

    Example:
        >>> more_samples_to_decide(-0.01, 0.01, 1000)
        5183
    """
    gap = abs(estimate + margin)
    if n <= 0 or not math.isfinite(se) or se <= 0 or gap <= THRESHOLD_TOLERANCE:
        return None
    z = normal_quantile(1.0 - alpha) + normal_quantile(power)
    needed = n * (z * se / gap) ** 2
    return max(math.ceil(needed) - n, 0)
