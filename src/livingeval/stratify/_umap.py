"""Typed adapter around :mod:`umap` (umap-learn), imported lazily, made reproducible.

Two of UMAP's own steps are not reproducible, and both are replaced here:

- **Initialisation.** UMAP's default ``init="spectral"`` calls
  ``scipy.sparse.linalg.eigsh`` without a seed. When the k-NN graph has a degenerate
  eigenspace (typically a small connected component of identical texts: a complete
  graph with equal weights), ARPACK asks for a random restart vector, and SciPy draws it
  from fresh OS entropy. The spectral layout, and with it the final layout and the
  HDBSCAN labels, then change from one call to the next in the same process. We pass
  UMAP an explicit initial layout instead: the first ``n_components`` principal axes of
  the (already deterministic) PCA projection, which is what ``init="pca"`` computes.
- **Nearest neighbours.** UMAP's approximate k-NN (pynndescent) is seeded, but it
  JIT-compiles for tens of seconds in every new process and adds a second random
  state. We compute the *exact* k-NN graph with chunked matrix products (ties broken by
  index) and hand it to UMAP as ``precomputed_knn``.

With ``random_state`` set, UMAP's layout optimisation is single-threaded and seeded
(numba ``parallel=False``), so the whole reduction depends on the input alone.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt

from livingeval._optional import import_optional

__all__ = ["exact_knn", "umap_reduce"]

_CHUNK = 2048


def exact_knn(
    points: npt.NDArray[np.float32], k: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Exact Euclidean k nearest neighbours of every row among the rows, self first.

    Returns ``(indices, distances)`` of shape ``(n, k)``, nearest first; column 0 is the
    point itself at distance 0, as UMAP's ``precomputed_knn`` expects. Equal distances
    are ordered by index, so the result depends on the input alone.
    """
    n = points.shape[0]
    k = max(1, min(k, n))
    x = np.ascontiguousarray(points, dtype=np.float32)
    sq = np.einsum("ij,ij->i", x, x)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        rows = np.arange(stop - start)
        d = sq[start:stop, None] + sq[None, :] - 2.0 * (x[start:stop] @ x.T)
        np.maximum(d, 0.0, out=d)
        d[rows, rows + start] = -1.0  # the point itself comes first
        if k < n:
            part = np.argpartition(d, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(n), (stop - start, n))
        pd = np.take_along_axis(d, part, axis=1)
        order = np.lexsort((part, pd), axis=1)
        indices[start:stop] = np.take_along_axis(part, order, axis=1)
        distances[start:stop] = np.sqrt(np.maximum(np.take_along_axis(pd, order, axis=1), 0.0))
    return indices, distances


def umap_reduce(
    points: npt.NDArray[np.float32],
    *,
    n_components: int,
    n_neighbors: int,
    seed: int,
    n_epochs: int = 200,
) -> npt.NDArray[np.float64]:
    """Embed ``points`` into ``n_components`` dimensions with UMAP (``min_dist=0``).

    ``points`` are PCA coordinates, columns in decreasing order of variance: their first
    ``n_components`` columns are the initial layout. The k-NN graph is exact. The result
    is a function of ``(points, n_components, n_neighbors, seed, n_epochs)`` alone: the
    same in every call and every process.
    """
    with warnings.catch_warnings():
        # umap warns on import that TensorFlow (ParametricUMAP) is missing; we do not use it.
        warnings.simplefilter("ignore")
        umap = import_optional("umap", extra="umap", purpose="HDBSCANStratifier(reduction='umap')")
    x = np.ascontiguousarray(points, dtype=np.float32)
    n = x.shape[0]
    k = max(2, min(n_neighbors, n - 1))
    knn_indices, knn_distances = exact_knn(x, k)
    init = np.zeros((n, n_components), dtype=np.float64)
    width = min(n_components, x.shape[1])
    init[:, :width] = x[:, :width]
    flat = np.ptp(init, axis=0) == 0
    if flat.any():
        # UMAP rescales each initial axis to [0, 10]; a constant axis gets seeded jitter.
        jitter = np.random.default_rng(seed).normal(0.0, 1e-4, (n, int(flat.sum())))
        init[:, flat] = jitter
    reducer = umap.UMAP(
        n_components=n_components,
        n_neighbors=k,
        min_dist=0.0,
        metric="euclidean",
        random_state=seed,
        n_epochs=n_epochs,
        init=init,
        precomputed_knn=(knn_indices, knn_distances),
        low_memory=True,
        verbose=False,
    )
    with warnings.catch_warnings():
        # "n_jobs value 1 overridden by setting random_state" and numba notices.
        warnings.simplefilter("ignore")
        embedded = reducer.fit_transform(x)
    return np.asarray(embedded, dtype=np.float64)
