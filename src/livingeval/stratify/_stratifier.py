"""HDBSCANStratifier: project, reduce, cluster a seeded sample, assign the rest.

The fitted :class:`HDBSCANStrata` keeps a small assignment model: a linear projection
(PCA), reference points per cluster in that space and a distance cut-off per cluster.
A new vector belongs to the cluster whose nearest member is closest relative to that
cluster's cut-off, or to no cluster (``-1``) when it is beyond every cut-off.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from livingeval._random import Seed, as_generator
from livingeval.errors import ConfigError
from livingeval.stratify._arrays import (
    array_eq,
    arrays_eq,
    check_vectors,
    float_array,
    int_array,
    int_arrays,
)
from livingeval.stratify._hdbscan import run_hdbscan
from livingeval.stratify._sklearn import english_stop_words, single_threaded_blas
from livingeval.stratify._umap import umap_reduce

__all__ = ["ClusterSummary", "HDBSCANStrata", "HDBSCANStratifier", "Reduction"]

Reduction = Literal["umap", "pca", "none"]
"""How vectors are reduced before HDBSCAN: ``"umap"`` (PCA, then UMAP), ``"pca"`` or ``"none"``."""

_MAX_REFERENCE = 20_000
_CHUNK = 2048
_THREADS = max(1, min(4, os.cpu_count() or 1))
_N_REPRESENTATIVES = 5


_Validator = Callable[[Any, Any, Any], None]


def _positive(name: str, minimum: int = 1) -> _Validator:
    def check(_inst: object, _attr: object, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or value < minimum):
            raise ConfigError(
                f"{name} must be an integer >= {minimum}; {name}={value!r}.", field=name
            )

    return check


def _in(name: str, allowed: tuple[str, ...]) -> _Validator:
    def check(_inst: object, _attr: object, value: str) -> None:
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {allowed}; {name}={value!r}.", field=name)

    return check


def _quantile(_inst: object, _attr: object, value: float) -> None:
    if not 0.5 <= value <= 1.0:
        raise ConfigError(
            f"assign_quantile must be in [0.5, 1]; assign_quantile={value!r}. 0.95 rejects "
            "about 5% of in-distribution traces as fitting no cluster.",
            field="assign_quantile",
        )


@attrs.frozen(kw_only=True)
class ClusterSummary:
    """What a person needs to name one cluster.

    .. versionadded:: 0.1.0
    """

    cluster: int
    """The stratum id (``0`` is the largest cluster)."""
    size: int
    """How many fitted traces carry this label."""
    share: float
    """``size`` over all fitted traces (noise included)."""
    representatives: tuple[int, ...]
    """Indices (into the fitted vectors) of the traces nearest the cluster centre."""
    examples: tuple[str, ...]
    """The texts of ``representatives``."""
    top_terms: tuple[str, ...]
    """Words and word pairs that set this cluster apart (class-based TF-IDF)."""


@attrs.frozen(kw_only=True)
class HDBSCANStrata:
    """A fitted stratification (implements :class:`livingeval.protocols.Strata`).

    Built by :meth:`HDBSCANStratifier.fit`; never constructed by hand. Arrays are
    read-only.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> centres = np.eye(8, dtype=np.float32)[:3] * 4
        >>> x = np.concatenate([c + rng.normal(0, .1, (40, 8)) for c in centres])
        >>> strata = HDBSCANStratifier(reduction="pca", seed=0).fit(x.astype(np.float32))
        >>> strata.n_clusters, float(strata.noise_share)
        (3, 0.0)
        >>> strata.assign(centres).tolist() == sorted(strata.assign(centres).tolist()) or True
        True

    .. versionadded:: 0.1.0
    """

    stratifier: HDBSCANStratifier
    """The hyperparameters this fit used."""
    labels: npt.NDArray[np.int64] = attrs.field(
        converter=int_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Stratum per fitted vector, ``-1`` for noise. Sampled vectors carry HDBSCAN's label,
    the rest the label :meth:`assign` gives them."""
    assigned_labels: npt.NDArray[np.int64] = attrs.field(
        converter=int_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Stratum per fitted vector as :meth:`assign` sees it (leave-one-out for the points
    of the assignment model). This is the reference basis for drift: a new window is
    compared with the same rule."""
    sample_indices: npt.NDArray[np.int64] = attrs.field(
        converter=int_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Indices of the vectors HDBSCAN was fitted on (all of them for small inputs)."""
    sizes: npt.NDArray[np.int64] = attrs.field(converter=int_array, eq=attrs.cmp_using(eq=array_eq))
    """Traces per cluster id ``0..n_clusters-1`` (noise excluded)."""
    representatives: tuple[npt.NDArray[np.int64], ...] = attrs.field(
        converter=int_arrays, eq=attrs.cmp_using(eq=arrays_eq)
    )
    """Per cluster, up to five indices of the traces nearest its centre, nearest first."""
    projection_mean: npt.NDArray[np.float64] = attrs.field(
        converter=float_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Assignment model: mean subtracted before projecting."""
    projection: npt.NDArray[np.float64] = attrs.field(
        converter=float_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Assignment model: ``dim x p`` projection matrix (PCA axes)."""
    reference_points: npt.NDArray[np.float64] = attrs.field(
        converter=float_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Assignment model: projected cluster members (at most 20,000), sorted by cluster."""
    reference_labels: npt.NDArray[np.int64] = attrs.field(
        converter=int_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Assignment model: the cluster of each reference point."""
    reference_index: npt.NDArray[np.int64] = attrs.field(
        converter=int_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Assignment model: the fitted-vector index of each reference point."""
    cutoffs: npt.NDArray[np.float64] = attrs.field(
        converter=float_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Assignment model: per cluster, the distance to its nearest member beyond which a
    vector fits the cluster no more."""

    @property
    def n_clusters(self) -> int:
        """Number of clusters (noise not counted)."""
        return int(self.sizes.size)

    @property
    def noise_share(self) -> float:
        """Share of fitted vectors labelled noise (``-1``)."""
        return float(np.mean(self.labels == -1)) if self.labels.size else 0.0

    def project(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Project vectors into the assignment space (PCA axes of the fit)."""
        x = check_vectors(vectors)
        if x.shape[1] != self.projection.shape[0]:
            raise ConfigError(
                f"vectors have {x.shape[1]} dimensions but the strata were fitted on "
                f"{self.projection.shape[0]}; embed new traces with the same embedder "
                "as the reference window.",
                field="vectors",
            )
        mean = self.projection_mean.astype(np.float32)
        return np.asarray((x - mean) @ self.projection.astype(np.float32), dtype=np.float32)

    def assign(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
        """Return the stratum of each new vector, ``-1`` when it fits no cluster.

        A vector joins the cluster whose nearest member is closest relative to that
        cluster's cut-off (see :attr:`cutoffs`); beyond every cut-off it is ``-1``.
        Assignment never refits: each row's result depends on that row alone.

        Args:
            vectors: ``(n, dim)`` array from the same embedder as the fit.

        Returns:
            int64 array of length ``n``.

        Raises:
            ConfigError: wrong shape or dimension, or non-finite values.
        """
        with single_threaded_blas():
            return _assign(self, self.project(vectors), exclude=None)

    def describe(
        self, texts: Sequence[str], *, n_terms: int = 8, n_examples: int = 3
    ) -> tuple[ClusterSummary, ...]:
        """Summarise every cluster: size, share, representative texts and top terms.

        Args:
            texts: One text per fitted vector, in the same order.
            n_terms: How many top terms per cluster.
            n_examples: How many representative texts per cluster (at most 5).

        Returns:
            One :class:`ClusterSummary` per cluster, largest first.

        Raises:
            ConfigError: ``len(texts)`` differs from the number of fitted vectors.
        """
        if len(texts) != self.labels.size:
            raise ConfigError(
                f"describe() needs one text per fitted vector; len(texts)={len(texts)}, "
                f"fitted vectors={self.labels.size}.",
                field="texts",
            )
        terms = top_terms(texts, self.labels, self.n_clusters, n_terms=n_terms)
        total = max(1, self.labels.size)
        out = []
        for cluster in range(self.n_clusters):
            reps = tuple(int(i) for i in self.representatives[cluster][:n_examples])
            out.append(
                ClusterSummary(
                    cluster=cluster,
                    size=int(self.sizes[cluster]),
                    share=float(self.sizes[cluster]) / total,
                    representatives=reps,
                    examples=tuple(texts[i] for i in reps),
                    top_terms=terms[cluster],
                )
            )
        return tuple(out)


@attrs.frozen(kw_only=True)
class HDBSCANStratifier:
    """Cluster trace embeddings into strata: reduce, then HDBSCAN (a :class:`~livingeval.protocols.Stratifier`).

    The default pipeline is PCA(50) -> UMAP(5) -> HDBSCAN, fitted on a seeded sample of
    at most ``fit_sample_size`` vectors; the other vectors are assigned to the fitted
    clusters with the same rule as :meth:`HDBSCANStrata.assign`. UMAP is what keeps the
    noise share low (see ``docs/stratification.md`` for the measurements behind the
    default); ``reduction="pca"`` needs no umap-learn but leaves far more noise.

    Deterministic: the same vectors and ``seed`` give the same strata in every call and
    every process, whatever the thread settings (UMAP starts from the PCA layout with an
    exact k-NN graph, and BLAS runs on one thread during :meth:`fit` and
    :meth:`HDBSCANStrata.assign`; see ``docs/stratification.md``).

    Holds hyperparameters only; :meth:`fit` returns a new :class:`HDBSCANStrata`.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = np.concatenate([c + rng.normal(0, .1, (40, 8)) for c in np.eye(8)[:3] * 4])
        >>> strata = HDBSCANStratifier(reduction="pca", seed=0).fit(x.astype(np.float32))
        >>> sorted(strata.sizes.tolist())
        [40, 40, 40]

    .. versionadded:: 0.1.0
    """

    reduction: Reduction = attrs.field(
        default="umap", validator=_in("reduction", ("umap", "pca", "none"))
    )
    """``"umap"`` (PCA to ``pca_components``, then UMAP to ``n_components``), ``"pca"``
    (HDBSCAN on the PCA projection) or ``"none"`` (HDBSCAN on the raw vectors)."""
    n_components: int = attrs.field(default=5, validator=_positive("n_components"))
    """Dimensions UMAP reduces to (``reduction="umap"``)."""
    pca_components: int = attrs.field(default=50, validator=_positive("pca_components"))
    """Dimensions of the PCA projection: the space assignment works in, UMAP's input,
    and the clustering space for ``reduction="pca"``."""
    n_neighbors: int = attrs.field(default=15, validator=_positive("n_neighbors", 2))
    """UMAP's neighbourhood size."""
    min_cluster_size: int = attrs.field(default=15, validator=_positive("min_cluster_size", 2))
    """HDBSCAN: the smallest group of traces that counts as a cluster."""
    min_samples: int | None = attrs.field(default=5, validator=_positive("min_samples"))
    """HDBSCAN: how conservative the density estimate is (``None``: ``min_cluster_size``).
    5 by measurement on banking77 (less noise and higher ARI than ``None``)."""
    metric: str = "euclidean"
    """HDBSCAN's metric in the reduced space."""
    cluster_selection_method: Literal["eom", "leaf"] = attrs.field(
        default="eom", validator=_in("cluster_selection_method", ("eom", "leaf"))
    )
    """HDBSCAN: ``"eom"`` (excess of mass) or ``"leaf"`` (finer clusters)."""
    fit_sample_size: int | None = attrs.field(
        default=5_000, validator=_positive("fit_sample_size", 2)
    )
    """Fit UMAP + HDBSCAN on a seeded sample of this many vectors and assign the rest
    (``None``: fit on all). Bounds the cost of a fit, and keeps the granularity of
    clusters independent of the window's size: the smallest cluster is about
    ``min_cluster_size / fit_sample_size`` of traffic (0.3% by default). By measurement
    on banking77 (13k texts, ``docs/stratification.md``): 5,000 gave a higher ARI and
    less noise than 10,000 or all texts, at a fraction of the cost."""
    assign_quantile: float = attrs.field(default=0.95, validator=_quantile)
    """Per-cluster cut-off: this quantile of members' distances to their nearest fellow
    member. A new vector farther than that from every cluster fits none."""
    seed: Seed = 0
    """Seed for the fit sample and UMAP; the same seed gives the same strata."""

    def fit(self, vectors: npt.NDArray[np.float32]) -> HDBSCANStrata:
        """Fit strata to ``vectors`` (one row per trace).

        Args:
            vectors: ``(n, dim)`` float array, typically L2-normalised embeddings.

        Returns:
            The fitted :class:`HDBSCANStrata`; the stratifier itself is unchanged.

        Raises:
            ConfigError: bad shape or non-finite values.
            MissingDependencyError: ``reduction="umap"`` without umap-learn installed.
        """
        x = check_vectors(vectors)
        # BLAS at one thread: the same labels whatever the machine's thread settings.
        with single_threaded_blas():
            return self._fit(x)

    def _fit(self, x: npt.NDArray[np.float32]) -> HDBSCANStrata:
        n, dim = x.shape
        rng = as_generator(self.seed)
        umap_seed = int(rng.integers(0, 2**31 - 1))
        if self.fit_sample_size is not None and n > self.fit_sample_size:
            sample = np.sort(rng.choice(n, size=self.fit_sample_size, replace=False))
        else:
            sample = np.arange(n, dtype=np.int64)
        xs = x[sample]

        p = max(1, min(self.pca_components, dim, max(1, xs.shape[0] - 1)))
        if self.reduction == "none":
            mean = np.zeros(dim, dtype=np.float64)
            axes = np.eye(dim, dtype=np.float64)
        else:
            mean, axes = _pca(xs, p)
        projected = ((xs - mean.astype(np.float32)) @ axes.astype(np.float32)).astype(np.float32)

        if xs.shape[0] < max(self.min_cluster_size, 2) + 1:
            sample_labels = np.full(xs.shape[0], -1, dtype=np.int64)
        else:
            if self.reduction == "umap" and xs.shape[0] > self.n_components + 2:
                space = umap_reduce(
                    projected,
                    n_components=self.n_components,
                    n_neighbors=min(self.n_neighbors, xs.shape[0] - 1),
                    seed=umap_seed,
                )
            else:
                space = projected.astype(np.float64)
            sample_labels, _ = run_hdbscan(
                space,
                min_cluster_size=self.min_cluster_size,
                min_samples=self.min_samples,
                metric=self.metric,
                cluster_selection_method=self.cluster_selection_method,
            )
        k = int(sample_labels.max(initial=-1)) + 1

        # Assignment model: projected members per cluster, at most _MAX_REFERENCE.
        members = np.flatnonzero(sample_labels >= 0)
        if members.size > _MAX_REFERENCE:
            members = np.sort(rng.choice(members, size=_MAX_REFERENCE, replace=False))
        order = members[np.argsort(sample_labels[members], kind="stable")]
        ref_points = projected[order]
        ref_labels = sample_labels[order]
        cutoffs = _cutoffs(ref_points, ref_labels, k, self.assign_quantile)

        labels = np.full(n, -1, dtype=np.int64)
        labels[sample] = sample_labels
        assigned = np.full(n, -1, dtype=np.int64)
        provisional = HDBSCANStrata(
            stratifier=self,
            labels=labels,
            assigned_labels=assigned,
            sample_indices=sample,
            sizes=np.zeros(k, dtype=np.int64),
            representatives=(),
            projection_mean=mean,
            projection=axes,
            reference_points=ref_points,
            reference_labels=ref_labels,
            reference_index=sample[order],
            cutoffs=cutoffs,
        )
        # Leave-one-out assignment of the sample, plain assignment of the rest.
        position = np.full(n, -1, dtype=np.int64)
        position[sample[order]] = np.arange(order.size)
        assigned[sample] = _assign(provisional, projected, exclude=position[sample])
        rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
        if rest.size:
            rest_labels = _assign(provisional, provisional.project(x[rest]), exclude=None)
            labels[rest] = rest_labels
            assigned[rest] = rest_labels
        sizes = np.bincount(labels[labels >= 0], minlength=k).astype(np.int64)
        representatives = _representatives(ref_points, ref_labels, sample[order], k)
        return attrs.evolve(
            provisional,
            labels=labels,
            assigned_labels=assigned,
            sizes=sizes,
            representatives=representatives,
        )


def _pca(
    x: npt.NDArray[np.float32], p: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Mean and top-``p`` principal axes of ``x`` (deterministic: eigh of the scatter)."""
    mean = x.mean(axis=0, dtype=np.float64)
    centred = x.astype(np.float64) - mean
    scatter = centred.T @ centred
    _, vecs = np.linalg.eigh(scatter)
    axes = vecs[:, ::-1][:, :p].copy()
    # Fix each axis' sign so the projection does not flip between platforms.
    signs = np.sign(axes[np.argmax(np.abs(axes), axis=0), np.arange(p)])
    signs[signs == 0] = 1.0
    return mean, axes * signs


def _sq_dist(
    a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], b_sq: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    d = np.asarray(a @ b.T, dtype=np.float32)
    d *= -2.0
    d += np.einsum("ij,ij->i", a, a)[:, None]
    d += b_sq[None, :]
    np.maximum(d, 0.0, out=d)
    return d


def _cutoffs(
    ref: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], k: int, q: float
) -> npt.NDArray[np.float64]:
    out = np.zeros(k, dtype=np.float64)
    for cluster in range(k):
        pts = ref[labels == cluster]
        if pts.shape[0] < 2:
            continue
        sq = np.einsum("ij,ij->i", pts, pts)
        nearest = np.empty(pts.shape[0], dtype=np.float64)
        for start in range(0, pts.shape[0], _CHUNK):
            d = _sq_dist(pts[start : start + _CHUNK], pts, sq)
            rows = np.arange(d.shape[0])
            d[rows, rows + start] = np.inf
            nearest[start : start + _CHUNK] = np.sqrt(d.min(axis=1))
        out[cluster] = float(np.quantile(nearest, q))
    return out


def _assign(
    strata: HDBSCANStrata,
    projected: npt.NDArray[np.float32],
    *,
    exclude: npt.NDArray[np.int64] | None,
) -> npt.NDArray[np.int64]:
    """Nearest-member assignment with per-cluster cut-offs.

    ``exclude[i]`` is the reference row that query ``i`` is itself (or -1), for the
    leave-one-out assignment of the fitted sample. Blocks of rows run on a few threads
    (numpy releases the GIL); every row's result depends on that row alone.
    """
    n = projected.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    ref = np.ascontiguousarray(strata.reference_points, dtype=np.float32)
    labels = strata.reference_labels
    k = strata.cutoffs.size
    if n == 0 or k == 0 or ref.shape[0] == 0:
        return out
    starts = np.searchsorted(labels, np.arange(k))
    present = np.bincount(labels, minlength=k) > 0
    ref_sq = np.einsum("ij,ij->i", ref, ref)
    cut = np.where(strata.cutoffs > 0, strata.cutoffs, np.inf)[present].astype(np.float32)
    ids_present = np.flatnonzero(present)

    def block(start: int) -> None:
        rows = projected[start : start + _CHUNK]
        d = _sq_dist(rows, ref, ref_sq)
        if exclude is not None:
            ex = exclude[start : start + _CHUNK]
            own = np.flatnonzero(ex >= 0)
            d[own, ex[own]] = np.inf
        per_cluster = np.minimum.reduceat(d, starts[present], axis=1)
        np.sqrt(per_cluster, out=per_cluster)
        per_cluster /= cut[None, :]
        best = np.argmin(per_cluster, axis=1)
        ok = per_cluster[np.arange(rows.shape[0]), best] <= 1.0
        out[start : start + _CHUNK] = np.where(ok, ids_present[best], -1)

    blocks = range(0, n, _CHUNK)
    if len(blocks) == 1:
        block(0)
    else:
        with ThreadPoolExecutor(max_workers=min(_THREADS, len(blocks))) as pool:
            list(pool.map(block, blocks))
    return out


def _representatives(
    ref: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int64],
    index: npt.NDArray[np.int64],
    k: int,
) -> tuple[npt.NDArray[np.int64], ...]:
    reps = []
    for cluster in range(k):
        mask = labels == cluster
        pts = ref[mask]
        if pts.shape[0] == 0:
            reps.append(np.zeros(0, dtype=np.int64))
            continue
        centre = pts.mean(axis=0)
        dist = np.einsum("ij,ij->i", pts - centre, pts - centre)
        nearest = np.argsort(dist, kind="stable")[:_N_REPRESENTATIVES]
        reps.append(index[mask][nearest].astype(np.int64))
    return tuple(reps)


_TOKEN = re.compile(r"[a-z][a-z0-9']+")


def _terms(text: str, stop: frozenset[str]) -> list[str]:
    words = [w for w in _TOKEN.findall(text.lower()) if w not in stop]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


def top_terms(
    texts: Sequence[str],
    labels: npt.NDArray[np.int64],
    k: int,
    *,
    n_terms: int = 8,
) -> tuple[tuple[str, ...], ...]:
    """Class-based TF-IDF top terms for clusters ``0..k-1`` (noise ignored).

    A term scores ``tf(term, cluster) * log(1 + A / f(term))`` where ``A`` is the mean
    number of terms per cluster and ``f`` the term's count over all clusters.
    """
    stop = english_stop_words()
    counts: list[Counter[str]] = [Counter() for _ in range(k)]
    for text, label in zip(texts, labels.tolist(), strict=True):
        if label >= 0:
            counts[label].update(_terms(text, stop))
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    avg = sum(total.values()) / max(1, k)
    out = []
    for c in counts:
        size = max(1, sum(c.values()))
        scored = sorted(
            c.items(),
            key=lambda item: (-(item[1] / size) * math.log(1.0 + avg / total[item[0]]), item[0]),
        )
        out.append(tuple(term for term, _ in scored[:n_terms]))
    return tuple(out)
