"""Drift between a reference window's strata and a new window's traces.

Shares are compared on one basis: both windows are assigned to the reference clusters
with :meth:`HDBSCANStrata.assign` (the reference leave-one-out, see
:attr:`HDBSCANStrata.assigned_labels`). Per-cluster changes are tested with a
two-proportion test, Benjamini-Hochberg adjusted over the clusters, so an alert needs a
change that is both large (relative threshold) and real for the window sizes.

Emerging clusters do not depend on the reference clustering: a k-nearest-neighbour
two-sample test (:mod:`livingeval.stratify._novelty`) flags the new traces whose
neighbourhood, among both windows pooled, holds significantly more new-window traces
than the window sizes predict; the flagged traces are grouped with HDBSCAN, and a group
is emerging when the reference is nearly absent from its neighbourhood. A held-out
intent that a similar reference cluster absorbs (its traces *fit* that cluster) still
emerges, because its traces' nearest neighbours are each other, not reference traces.
"""

from __future__ import annotations

from typing import Literal

import attrs
import numpy as np
import numpy.typing as npt

from livingeval._random import Seed, as_generator
from livingeval.errors import ConfigError
from livingeval.stratify._arrays import array_eq, check_vectors, int_array
from livingeval.stratify._hdbscan import run_hdbscan
from livingeval.stratify._novelty import knn_into, novelty_scores
from livingeval.stratify._sklearn import single_threaded_blas
from livingeval.stratify._stats import (
    benjamini_hochberg,
    chi2_sf,
    js_divergence,
    one_sided_increase_p,
    two_proportion_p,
)
from livingeval.stratify._stratifier import HDBSCANStrata, HDBSCANStratifier, _pca

__all__ = ["ClusterShift", "DriftReport", "EmergingCluster", "detect_drift"]

_N_REPRESENTATIVES = 5
_SPACE_DIMS = 50
_GROUP_SAMPLE = 5_000

EmergingBasis = Literal["reference_window", "reference_members", "none"]
"""What emerging groups were compared with (see :attr:`DriftReport.emerging_basis`)."""


@attrs.frozen(kw_only=True)
class ClusterShift:
    """How one reference cluster's share of traffic changed.

    .. versionadded:: 0.1.0
    """

    cluster: int
    """Reference cluster id."""
    reference_share: float
    """Share of the reference window in this cluster (assignment basis)."""
    new_share: float
    """Share of the new window assigned to this cluster."""
    absolute_change: float
    """``new_share - reference_share``."""
    relative_change: float
    """``absolute_change / reference_share`` (``inf`` when the reference share is 0)."""
    p_value: float
    """Two-proportion test p-value, Benjamini-Hochberg adjusted over all clusters."""
    alert: bool
    """True when the change is beyond the relative threshold and the minimum absolute
    shift, and significant (adjusted ``p_value < alpha``)."""


@attrs.frozen(kw_only=True)
class EmergingCluster:
    """A group of new traces in a region the reference window (nearly) never visited.

    .. versionadded:: 0.1.0
    """

    members: npt.NDArray[np.int64] = attrs.field(
        converter=int_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Indices (into the new window's vectors) of its traces."""
    representatives: npt.NDArray[np.int64] = attrs.field(
        converter=int_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Up to five indices (into the new window) of the members nearest its centre."""
    share: float
    """Its share of the new window (``members / new window size``)."""
    reference_share: float
    """Share of the reference window in the group's neighbourhood (the reference traces
    among its members' ``novelty_neighbors`` nearest neighbours; with
    ``emerging_basis="reference_members"``, scaled by the share of the reference that
    the strata keep as cluster members)."""
    neighbourhood_share: float
    """Share of the new window in the same neighbourhood (members and their new-window
    neighbours; at least ``share`` up to sampling)."""
    density_ratio: float
    """``neighbourhood_share / reference_share`` (``inf`` when no reference trace is in
    the neighbourhood); at least ``emerging_ratio``."""
    assigned_share: float
    """Share of its members that :meth:`HDBSCANStrata.assign` puts into a reference
    cluster: those traces also count in that cluster's share shift. A high value means
    the new intent resembles an existing cluster closely enough to be absorbed by it."""
    p_value: float
    """The largest Benjamini-Hochberg adjusted novelty p-value among its members (each
    member's neighbourhood is significantly new-window-heavy at this level)."""
    alert: bool
    """True when ``share >= min_emerging_share``."""

    @property
    def size(self) -> int:
        """Number of new traces in it."""
        return int(self.members.size)


@attrs.frozen(kw_only=True)
class DriftReport:
    """Drift of a new window against a reference window's strata.

    .. versionadded:: 0.1.0
    """

    reference_size: int
    """Traces in the reference window."""
    new_size: int
    """Traces in the new window."""
    new_labels: npt.NDArray[np.int64] = attrs.field(
        converter=int_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Reference cluster of each new trace (``-1``: fits none)."""
    shifts: tuple[ClusterShift, ...]
    """One row per reference cluster, by cluster id."""
    reference_unassigned_share: float
    """Share of the reference window that fits no cluster under the same assignment rule."""
    unassigned_share: float
    """Share of the new window that fits no reference cluster."""
    unassigned_p_value: float
    """One-sided test p-value that the unassigned share rose."""
    js_divergence: float
    """Jensen-Shannon divergence (bits, 0..1) of the two windows' distributions over the
    reference clusters plus "fits none"."""
    chi2_statistic: float
    """Chi-square statistic of the 2 x categories contingency table (same categories)."""
    chi2_p_value: float
    """Its p-value (a global test of "the mix changed at all")."""
    emerging: tuple[EmergingCluster, ...]
    """Groups of new traces in regions the reference window (nearly) never visited,
    largest first (whether or not a reference cluster absorbs them)."""
    emerging_basis: EmergingBasis
    """What emerging groups were tested against: ``"reference_window"`` (the reference
    window's own vectors, from ``reference_vectors``: the exact two-sample test),
    ``"reference_members"`` (only the cluster members the strata keep; weaker, see
    :func:`detect_drift`) or ``"none"`` (too few traces to test)."""
    alerts: tuple[str, ...]
    """Human-readable alerts; empty when nothing moved beyond the thresholds."""

    @property
    def shifted(self) -> tuple[int, ...]:
        """Reference clusters whose share shift raised an alert."""
        return tuple(s.cluster for s in self.shifts if s.alert)

    @property
    def has_alerts(self) -> bool:
        """True when anything raised an alert."""
        return bool(self.alerts)


def detect_drift(
    reference: HDBSCANStrata,
    vectors: npt.NDArray[np.float32],
    *,
    reference_vectors: npt.NDArray[np.float32] | None = None,
    relative_threshold: float = 0.15,
    min_absolute_shift: float = 0.005,
    alpha: float = 0.01,
    noise_jump: float = 0.05,
    min_emerging_share: float = 0.005,
    emerging_ratio: float = 5.0,
    emerging_min_cluster_size: int | None = None,
    novelty_neighbors: int = 20,
    novelty_sample_size: int | None = 20_000,
    seed: Seed = 0,
) -> DriftReport:
    """Compare a new window with a reference window's strata.

    1. Every new trace is assigned to a reference cluster (:meth:`HDBSCANStrata.assign`)
       or to none (``-1``). The reference window's shares use the same rule
       (:attr:`HDBSCANStrata.assigned_labels`), so windows of any sizes compare.
    2. Per cluster: absolute and relative share change and a two-proportion p-value,
       Benjamini-Hochberg adjusted over the clusters. A cluster alerts when its share
       moves by at least ``relative_threshold`` relative *and* ``min_absolute_shift``
       absolute *and* the adjusted p-value is below ``alpha``; sampling noise in small
       clusters or small windows therefore does not alarm. When nothing changed, the
       chance of any shift alert is at most ``alpha``.
    3. Jensen-Shannon divergence and a chi-square test over clusters plus "fits none".
    4. The unassigned share alerts when it rises by ``noise_jump`` (absolute) and
       significantly (one-sided, ``alpha``).
    5. Emerging clusters, independent of the reference clustering: both windows (a
       seeded sample of at most ``novelty_sample_size`` traces each) are pooled and
       projected on the pool's 50 principal axes. For each new trace, the share of its
       ``novelty_neighbors`` nearest pooled neighbours that come from the new window is
       tested against what the window sizes predict (exact hypergeometric tail: when
       both windows come from one distribution the window labels are exchangeable),
       Benjamini-Hochberg adjusted over the new traces. The significant traces are
       grouped with HDBSCAN (``emerging_min_cluster_size``, the reference stratifier's
       ``min_samples``); a group is emerging when its neighbourhood (members and their
       neighbours) holds at least ``emerging_ratio`` times more of the new window than
       of the reference. It alerts when it also holds ``min_emerging_share`` of the new
       window. New traces outside the sample join the group of their nearest sampled
       new trace when they lie within its neighbourhood radius. Without
       ``reference_vectors`` the reference side is the cluster members the strata keep,
       which cannot see the reference's own noise, so tails of reference clusters may
       show up as emerging.

    Args:
        reference: The reference window's fitted strata.
        vectors: The new window's embeddings (same embedder).
        reference_vectors: The vectors the reference strata were fitted on (same rows,
            same order). Strongly recommended: it is what keeps tails of existing
            clusters from counting as emerging.
        relative_threshold: Relative share change that counts as a shift (0.15 = 15%).
        min_absolute_shift: Smallest absolute share change that may alert.
        alpha: Significance level for shift, unassigned and emerging tests.
        noise_jump: Rise of the unassigned share (absolute) that alerts.
        min_emerging_share: Share of the new window an emerging cluster needs to alert.
        emerging_ratio: How many times its reference share a group's new share must be
            to count as emerging (5: at least four fifths of that traffic is new). A
            known intent that merely grew x2-x4 shows up as a shift of its cluster
            instead.
        emerging_min_cluster_size: ``min_cluster_size`` for emerging groups (default:
            the reference stratifier's).
        novelty_neighbors: ``k`` of the k-nearest-neighbour novelty test. With windows
            of equal size a trace needs about 18 of 20 new-window neighbours to be
            flagged; larger ``k`` smooths over more traffic, so small new intents
            (fewer than about ``2 * k`` traces) blur into their surroundings.
        novelty_sample_size: At most this many traces of each window enter the novelty
            test (seeded sample; ``None``: all). Bounds its cost: the k-NN search is
            quadratic in the pooled sample.
        seed: Seed for the novelty samples and the tie-breaking order.

    Returns:
        A :class:`DriftReport`.

    Raises:
        ConfigError: bad vectors or thresholds, or ``reference_vectors`` that do not
            match the strata.

    Example:
        >>> import numpy as np
        >>> from livingeval.stratify import HDBSCANStratifier
        >>> rng = np.random.default_rng(0)
        >>> centres = np.eye(8)[:3] * 4
        >>> x = np.concatenate([c + rng.normal(0, .1, (60, 8)) for c in centres]).astype(np.float32)
        >>> ref = HDBSCANStratifier(reduction="pca", seed=0).fit(x)
        >>> detect_drift(ref, x, reference_vectors=x).has_alerts
        False
    """
    for name, value in (
        ("relative_threshold", relative_threshold),
        ("min_absolute_shift", min_absolute_shift),
        ("noise_jump", noise_jump),
        ("min_emerging_share", min_emerging_share),
    ):
        if not value >= 0:
            raise ConfigError(f"{name} must be >= 0; {name}={value!r}.", field=name)
    if not emerging_ratio >= 1:
        raise ConfigError(
            f"emerging_ratio must be >= 1; emerging_ratio={emerging_ratio!r}.",
            field="emerging_ratio",
        )
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1); alpha={alpha!r}.", field="alpha")
    counts: tuple[tuple[str, object, int], ...] = (
        ("novelty_neighbors", novelty_neighbors, 2),
        ("novelty_sample_size", novelty_sample_size, 100),
    )
    for name, count, minimum in counts:
        if name == "novelty_sample_size" and count is None:
            continue
        if isinstance(count, bool) or not isinstance(count, int) or count < minimum:
            raise ConfigError(
                f"{name} must be an integer >= {minimum}; {name}={count!r}.", field=name
            )
    if emerging_min_cluster_size is not None and (
        isinstance(emerging_min_cluster_size, bool) or emerging_min_cluster_size < 2
    ):
        raise ConfigError(
            "emerging_min_cluster_size must be an integer >= 2 or None; "
            f"emerging_min_cluster_size={emerging_min_cluster_size!r}.",
            field="emerging_min_cluster_size",
        )
    new_vectors = check_vectors(vectors)
    ref_vectors = None
    if reference_vectors is not None:
        ref_vectors = check_vectors(reference_vectors, name="reference_vectors")
        if ref_vectors.shape[0] != reference.labels.size:
            raise ConfigError(
                f"reference_vectors has {ref_vectors.shape[0]} rows but the strata were "
                f"fitted on {reference.labels.size}; pass the same vectors, in the same "
                "order, that HDBSCANStratifier.fit() was given.",
                field="reference_vectors",
            )
        if ref_vectors.shape[1] != reference.projection.shape[0]:
            raise ConfigError(
                f"reference_vectors have {ref_vectors.shape[1]} dimensions but the strata "
                f"were fitted on {reference.projection.shape[0]}; pass the vectors "
                "HDBSCANStratifier.fit() was given.",
                field="reference_vectors",
            )
    new_labels = reference.assign(new_vectors)
    k = reference.n_clusters
    n_ref = int(reference.assigned_labels.size)
    n_new = int(new_labels.size)
    ref_counts = np.bincount(reference.assigned_labels + 1, minlength=k + 1).astype(np.int64)
    new_counts = np.bincount(new_labels + 1, minlength=k + 1).astype(np.int64)
    ref_share = ref_counts / max(1, n_ref)
    new_share = new_counts / max(1, n_new)

    raw_p = np.array(
        [
            two_proportion_p(int(ref_counts[j]), n_ref, int(new_counts[j]), n_new)
            for j in range(1, k + 1)
        ],
        dtype=np.float64,
    )
    adjusted = benjamini_hochberg(raw_p)
    alerts: list[str] = []
    shifts = []
    for cluster in range(k):
        j = cluster + 1
        change = float(new_share[j] - ref_share[j])
        relative = change / ref_share[j] if ref_share[j] > 0 else (np.inf if change > 0 else 0.0)
        alert = (
            abs(relative) >= relative_threshold
            and abs(change) >= min_absolute_shift
            and adjusted[cluster] < alpha
        )
        shifts.append(
            ClusterShift(
                cluster=cluster,
                reference_share=float(ref_share[j]),
                new_share=float(new_share[j]),
                absolute_change=change,
                relative_change=float(relative),
                p_value=float(adjusted[cluster]),
                alert=bool(alert),
            )
        )
        if alert:
            alerts.append(
                f"cluster {cluster} share {'rose' if change > 0 else 'fell'} from "
                f"{ref_share[j]:.1%} to {new_share[j]:.1%} ({relative:+.0%}, "
                f"p={adjusted[cluster]:.2g})"
            )
    unassigned_change = float(new_share[0] - ref_share[0])
    unassigned_p = one_sided_increase_p(int(ref_counts[0]), n_ref, int(new_counts[0]), n_new)
    if unassigned_change >= noise_jump and unassigned_p < alpha:
        alerts.append(
            f"traces fitting no reference cluster rose from {ref_share[0]:.1%} to "
            f"{new_share[0]:.1%} (p={unassigned_p:.2g})"
        )

    chi2, chi2_p = _chi_square(ref_counts, new_counts)
    jsd = js_divergence(ref_share.astype(np.float64), new_share.astype(np.float64))

    with single_threaded_blas():
        emerging, basis = _emerging(
            reference,
            new_vectors,
            new_labels,
            ref_vectors,
            alpha=alpha,
            ratio=emerging_ratio,
            min_share=min_emerging_share,
            min_cluster_size=emerging_min_cluster_size,
            neighbors=novelty_neighbors,
            sample_size=novelty_sample_size,
            seed=seed,
        )
    for e in emerging:
        if e.alert:
            absorbed = (
                f"; {e.assigned_share:.0%} of it fits a reference cluster"
                if e.assigned_share > 0
                else "; it fits no reference cluster"
            )
            alerts.append(
                f"emerging cluster of {e.size} traces ({e.share:.1%} of the new window): "
                f"its neighbourhood holds {e.neighbourhood_share:.1%} of the new window and "
                f"{e.reference_share:.1%} of the reference (x{e.density_ratio:.3g}){absorbed}"
            )
    return DriftReport(
        reference_size=n_ref,
        new_size=n_new,
        new_labels=new_labels,
        shifts=tuple(shifts),
        reference_unassigned_share=float(ref_share[0]),
        unassigned_share=float(new_share[0]),
        unassigned_p_value=float(unassigned_p),
        js_divergence=jsd,
        chi2_statistic=chi2,
        chi2_p_value=chi2_p,
        emerging=emerging,
        emerging_basis=basis,
        alerts=tuple(alerts),
    )


def _chi_square(
    ref_counts: npt.NDArray[np.int64], new_counts: npt.NDArray[np.int64]
) -> tuple[float, float]:
    """Pearson chi-square of the 2 x categories table (empty categories dropped)."""
    present = (ref_counts + new_counts) > 0
    table = np.vstack([ref_counts[present], new_counts[present]]).astype(np.float64)
    if table.size == 0 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    chi2 = float(np.sum((table - expected) ** 2 / expected))
    df = max(0, int(present.sum()) - 1)
    return chi2, chi2_sf(chi2, df)


def _sample(n: int, size: int | None, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Sorted seeded sample of ``range(n)`` of at most ``size`` (all when ``None``)."""
    if size is None or n <= size:
        return np.arange(n, dtype=np.int64)
    return np.sort(rng.choice(n, size=size, replace=False)).astype(np.int64)


def _emerging(
    reference: HDBSCANStrata,
    new_vectors: npt.NDArray[np.float32],
    new_labels: npt.NDArray[np.int64],
    ref_vectors: npt.NDArray[np.float32] | None,
    *,
    alpha: float,
    ratio: float,
    min_share: float,
    min_cluster_size: int | None,
    neighbors: int,
    sample_size: int | None,
    seed: Seed,
) -> tuple[tuple[EmergingCluster, ...], EmergingBasis]:
    """k-NN novelty test of the new window against the reference; group what is new."""
    rng = as_generator(seed)
    stratifier = reference.stratifier
    mcs = min_cluster_size if min_cluster_size is not None else stratifier.min_cluster_size
    n_new = new_vectors.shape[0]
    new_rows = _sample(n_new, sample_size, rng)
    basis: EmergingBasis
    if ref_vectors is not None:
        ref_rows = _sample(ref_vectors.shape[0], sample_size, rng)
        pool = np.concatenate([new_vectors[new_rows], ref_vectors[ref_rows]])
        # The pool's own principal axes: directions only the new window uses (a new
        # intent) are kept, which the reference's projection would flatten.
        p = max(1, min(_SPACE_DIMS, pool.shape[1], pool.shape[0] - 1))
        mean64, axes64 = _pca(pool, p)
        mean, axes = mean64.astype(np.float32), axes64.astype(np.float32)
        new_points = _project(new_vectors[new_rows], mean, axes)
        ref_points = _project(ref_vectors[ref_rows], mean, axes)
        ref_weight = 1.0 / max(1, ref_rows.size)
        basis = "reference_window"
    else:
        stored = reference.reference_points.astype(np.float32)
        ref_points = np.ascontiguousarray(stored[_sample(stored.shape[0], sample_size, rng)])
        mean = reference.projection_mean.astype(np.float32)
        axes = reference.projection.astype(np.float32)
        new_points = _project(new_vectors[new_rows], mean, axes)
        sample_labels = reference.labels[reference.sample_indices]
        kept = float(np.mean(sample_labels >= 0)) if sample_labels.size else 0.0
        ref_weight = kept / max(1, ref_points.shape[0])
        basis = "reference_members"
    if new_points.shape[0] < max(mcs, neighbors) or ref_points.shape[0] == 0:
        return (), "none"

    scores = novelty_scores(new_points, ref_points, neighbors, rng)
    novel = np.flatnonzero(scores.p_values < alpha)
    if novel.size < mcs:
        return (), basis
    groups = _group(new_points[novel], mcs, stratifier, rng)
    sample_group = np.full(new_rows.size, -1, dtype=np.int64)
    sample_group[novel] = groups
    # A flagged trace HDBSCAN left as noise joins the group of its nearest grouped
    # neighbour, when one is among its k nearest.
    loose = novel[groups < 0]
    if loose.size:
        nb = scores.neighbours[loose]
        nb_group = np.where(nb < new_rows.size, sample_group[np.minimum(nb, new_rows.size - 1)], -1)
        has = (nb_group >= 0).any(axis=1)
        first = np.argmax(nb_group >= 0, axis=1)
        sample_group[loose[has]] = nb_group[has, first[has]]
    window_group = np.full(n_new, -1, dtype=np.int64)
    window_group[new_rows] = sample_group
    if new_rows.size < n_new:
        # The rest of the window joins the group of its nearest sampled new trace when
        # it lies within that trace's neighbourhood radius.
        rest = np.setdiff1d(np.arange(n_new), new_rows, assume_unique=True)
        grouped = np.flatnonzero(sample_group >= 0)
        grouped_points = np.ascontiguousarray(new_points[grouped])
        for start in range(0, rest.size, 16 * _GROUP_SAMPLE):
            chunk = rest[start : start + 16 * _GROUP_SAMPLE]
            points = _project(new_vectors[chunk], mean, axes)
            # Only traces within some member's radius can join: find those cheaply first.
            near, dist = knn_into(points, grouped_points, 1)
            candidate = np.flatnonzero(dist[:, 0] <= scores.radius[grouped[near[:, 0]]])
            if candidate.size == 0:
                continue
            nearest, dist = knn_into(np.ascontiguousarray(points[candidate]), new_points, 1)
            near_all = nearest[:, 0]
            inside = (sample_group[near_all] >= 0) & (dist[:, 0] <= scores.radius[near_all])
            window_group[chunk[candidate[inside]]] = sample_group[near_all[inside]]

    m_new = new_rows.size
    out = []
    for group in range(int(groups.max(initial=-1)) + 1):
        in_sample = np.flatnonzero(sample_group == group)
        region = np.unique(np.concatenate([in_sample, scores.neighbours[in_sample].ravel()]))
        new_in = int(np.sum(region < m_new))
        ref_in = int(region.size - new_in)
        neighbourhood_share = new_in / m_new
        reference_share = ref_in * ref_weight
        density = neighbourhood_share / reference_share if reference_share > 0 else np.inf
        if density < ratio:
            continue  # a region that grew, not a new one: its cluster's shift says so
        members = np.flatnonzero(window_group == group)
        points = new_points[in_sample]
        centre = points.mean(axis=0)
        dist2 = np.einsum("ij,ij->i", points - centre, points - centre)
        reps = new_rows[in_sample[np.argsort(dist2, kind="stable")[:_N_REPRESENTATIVES]]]
        share = members.size / max(1, n_new)
        out.append(
            EmergingCluster(
                members=members,
                representatives=reps,
                share=float(share),
                reference_share=float(reference_share),
                neighbourhood_share=float(neighbourhood_share),
                density_ratio=float(density),
                assigned_share=float(np.mean(new_labels[members] >= 0)),
                p_value=float(scores.p_values[in_sample].max()),
                alert=bool(share >= min_share),
            )
        )
    out.sort(key=lambda e: (-e.size, int(e.members[0])))
    return tuple(out), basis


def _project(
    x: npt.NDArray[np.float32], mean: npt.NDArray[np.float32], axes: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    return np.ascontiguousarray((x - mean) @ axes, dtype=np.float32)


def _group(
    points: npt.NDArray[np.float32],
    min_cluster_size: int,
    stratifier: HDBSCANStratifier,
    rng: np.random.Generator,
) -> npt.NDArray[np.int64]:
    """HDBSCAN labels of the novel points (at most 5,000 clustered, the rest by 1-NN)."""
    if points.shape[0] < min_cluster_size:
        return np.full(points.shape[0], -1, dtype=np.int64)
    n = points.shape[0]
    fit = _sample(n, _GROUP_SAMPLE, rng)
    labels_fit = np.full(fit.size, -1, dtype=np.int64)
    # HDBSCAN never returns a single cluster unless asked; one new intent alone is a
    # single cluster, so ask when the usual run finds none.
    for single in (False, True):
        labels_fit, _ = run_hdbscan(
            points[fit].astype(np.float64),
            min_cluster_size=min_cluster_size,
            min_samples=stratifier.min_samples,
            metric=stratifier.metric,
            cluster_selection_method=stratifier.cluster_selection_method,
            allow_single_cluster=single,
        )
        if labels_fit.max(initial=-1) >= 0:
            break
    if fit.size == n:
        return labels_fit
    labels = np.full(n, -1, dtype=np.int64)
    labels[fit] = labels_fit
    rest = np.setdiff1d(np.arange(n), fit, assume_unique=True)
    nearest, _ = knn_into(np.ascontiguousarray(points[rest]), np.ascontiguousarray(points[fit]), 1)
    labels[rest] = labels_fit[nearest[:, 0]]
    return labels
