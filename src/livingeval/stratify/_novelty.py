"""k-NN two-sample novelty: which new traces sit where the reference window is thin.

Pool a (seeded, bounded) sample of the new window with a sample of the reference window.
For each new point, count how many of its ``k`` nearest neighbours in the pool (itself
excluded) come from the new window. When both windows are drawn from one distribution,
the window labels are exchangeable given the points, so that count follows a
hypergeometric law exactly: ``k`` draws from the other ``N - 1`` pool points, of which
``m_new - 1`` are new. Its upper tail is the point's p-value; Benjamini-Hochberg over the
new points keeps the false discovery rate (and, when nothing changed, the chance of any
flagged point) at ``alpha``. Equal distances (duplicate texts) are broken by a seeded
random order of the pool, so ties cannot favour either window.

The flagged points are then grouped with HDBSCAN; a group's *neighbourhood* (its
members and every pool point among their ``k`` nearest neighbours) gives the new and the
reference window's share of that region, and their ratio separates new traffic (the
reference is nearly absent) from an intent that merely grew.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import attrs
import numpy as np
import numpy.typing as npt

from livingeval.stratify._stats import benjamini_hochberg

__all__ = ["NoveltyScores", "hypergeometric_upper_tail", "knn_into", "novelty_scores"]

_CHUNK = 2048
_THREADS = max(1, min(4, os.cpu_count() or 1))


def hypergeometric_upper_tail(
    population: int, successes: int, draws: int
) -> npt.NDArray[np.float64]:
    """``P(X >= c)`` for ``c = 0..draws``, ``X ~ Hypergeometric(population, successes, draws)``.

    Exact (log-space binomial coefficients); entries where ``c`` is impossible are 0.
    """
    if not 0 <= successes <= population or not 0 <= draws <= population:
        raise ValueError(
            f"hypergeometric needs 0 <= successes, draws <= population; got "
            f"population={population}, successes={successes}, draws={draws}."
        )

    def log_comb(n: int, r: int) -> float:
        return math.lgamma(n + 1) - math.lgamma(r + 1) - math.lgamma(n - r + 1)

    total = log_comb(population, draws)
    pmf = np.zeros(draws + 1, dtype=np.float64)
    for c in range(draws + 1):
        if c <= successes and draws - c <= population - successes:
            pmf[c] = math.exp(
                log_comb(successes, c) + log_comb(population - successes, draws - c) - total
            )
    tail = np.cumsum(pmf[::-1])[::-1]
    return np.clip(tail, 0.0, 1.0)


def knn_into(
    queries: npt.NDArray[np.float32],
    pool: npt.NDArray[np.float32],
    k: int,
    *,
    exclude: npt.NDArray[np.int64] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Exact Euclidean ``k`` nearest pool rows of every query row, nearest first.

    ``exclude[i]`` is a pool row query ``i`` must not return (itself), or ``-1``. Equal
    distances are ordered by pool index. Row blocks run on a few threads (numpy releases
    the GIL); each row's result depends on that row and the pool alone.

    Returns:
        ``(indices, distances)``, both ``(n_queries, k)``.
    """
    n = queries.shape[0]
    k = max(1, min(k, pool.shape[0] - (1 if exclude is not None else 0)))
    pool_sq = np.einsum("ij,ij->i", pool, pool)
    pool_m2 = np.ascontiguousarray(-2.0 * pool, dtype=np.float32)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)

    def block(start: int) -> None:
        rows = queries[start : start + _CHUNK]
        # ||q||^2 is constant along a row: rank by ||p||^2 - 2 q.p, add it back for the k kept.
        d = np.asarray(rows @ pool_m2.T, dtype=np.float32)
        d += pool_sq[None, :]
        if exclude is not None:
            ex = exclude[start : start + _CHUNK]
            own = np.flatnonzero(ex >= 0)
            d[own, ex[own]] = np.inf
        if k == 1:
            part = np.argmin(d, axis=1)[:, None]  # first minimum: ties go to the lower index
        elif k < d.shape[1]:
            part = np.argpartition(d, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(d.shape[1]), d.shape).copy()
        pd = np.take_along_axis(d, part, axis=1)
        order = np.lexsort((part, pd), axis=1)
        indices[start : start + _CHUNK] = np.take_along_axis(part, order, axis=1)
        pd = np.take_along_axis(pd, order, axis=1) + np.einsum("ij,ij->i", rows, rows)[:, None]
        distances[start : start + _CHUNK] = np.sqrt(np.maximum(pd, 0.0))

    blocks = range(0, n, _CHUNK)
    if len(blocks) <= 1:
        for start in blocks:
            block(start)
    else:
        with ThreadPoolExecutor(max_workers=min(_THREADS, len(blocks))) as pool_threads:
            list(pool_threads.map(block, blocks))
    return indices, distances


@attrs.frozen(kw_only=True, eq=False)
class NoveltyScores:
    """Per new pool point: its neighbours, new-window count and adjusted p-value (internal)."""

    neighbours: npt.NDArray[np.int64]
    """``(m_new, k)`` pool indices (``< m_new``: new window, else reference)."""
    radius: npt.NDArray[np.float32]
    """Distance to the ``k``-th neighbour."""
    new_counts: npt.NDArray[np.int64]
    """How many of the ``k`` neighbours are from the new window."""
    expected_share: float
    """Share of new-window neighbours expected when nothing changed."""
    p_values: npt.NDArray[np.float64]
    """Hypergeometric upper-tail p-values, Benjamini-Hochberg adjusted."""


def novelty_scores(
    new_points: npt.NDArray[np.float32],
    ref_points: npt.NDArray[np.float32],
    k: int,
    rng: np.random.Generator,
) -> NoveltyScores:
    """Score every row of ``new_points`` against the pool ``new_points + ref_points``.

    Pool rows are ``0..m_new-1`` for the new points, then the reference points. Ties in
    distance are broken by a seeded random order of the pool, not by window.
    """
    m_new, m_ref = new_points.shape[0], ref_points.shape[0]
    total = m_new + m_ref
    k = max(1, min(k, total - 1))
    pool = np.ascontiguousarray(np.concatenate([new_points, ref_points]), dtype=np.float32)
    # Shuffled pool: equal distances are broken by this random order, not by window.
    order = rng.permutation(total)
    position = np.empty(total, dtype=np.int64)
    position[order] = np.arange(total)
    shuffled = pool[order]
    nb, dist = knn_into(pool[:m_new], shuffled, k, exclude=position[:m_new].astype(np.int64))
    neighbours = order[nb]
    counts = np.sum(neighbours < m_new, axis=1).astype(np.int64)
    tail = hypergeometric_upper_tail(total - 1, m_new - 1, k)
    raw = tail[counts]
    return NoveltyScores(
        neighbours=neighbours,
        radius=dist[:, -1].copy(),
        new_counts=counts,
        expected_share=(m_new - 1) / max(1, total - 1),
        p_values=benjamini_hochberg(raw.astype(np.float64)),
    )
