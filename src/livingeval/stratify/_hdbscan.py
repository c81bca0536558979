"""Typed adapter around :mod:`hdbscan` (the library ships no type hints).

Everything livingeval needs from hdbscan goes through :func:`run_hdbscan`, so the rest
of the package stays fully typed.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt

__all__ = ["run_hdbscan"]


def run_hdbscan(
    points: npt.NDArray[np.float64],
    *,
    min_cluster_size: int,
    min_samples: int | None,
    metric: str,
    cluster_selection_method: str,
    allow_single_cluster: bool = False,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Cluster ``points`` with HDBSCAN; return ``(labels, membership probabilities)``.

    ``allow_single_cluster`` lets HDBSCAN return one cluster holding (nearly) all points,
    which it otherwise never does.

    Labels are renumbered ``0..k-1`` in order of first appearance by decreasing size
    (largest cluster is 0), with ``-1`` for noise, so the numbering is stable for a given
    input.
    """
    import hdbscan

    clusterer = hdbscan.HDBSCAN(
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
        metric=metric,
        cluster_selection_method=cluster_selection_method,
        core_dist_n_jobs=1,
        allow_single_cluster=allow_single_cluster,
    )
    with warnings.catch_warnings():
        # hdbscan and its sklearn base emit deprecation chatter that is not ours to fix.
        warnings.simplefilter("ignore")
        clusterer.fit(points)
    raw = np.asarray(clusterer.labels_, dtype=np.int64)
    probabilities = np.asarray(clusterer.probabilities_, dtype=np.float64)
    return _renumber_by_size(raw), probabilities


def _renumber_by_size(raw: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    ids, counts = np.unique(raw[raw >= 0], return_counts=True)
    # Largest first; ties broken by the smaller original id (deterministic).
    order = ids[np.lexsort((ids, -counts))]
    mapping = np.full(int(raw.max(initial=-1)) + 2, -1, dtype=np.int64)
    mapping[order + 1] = np.arange(order.size, dtype=np.int64)
    return mapping[raw + 1]
