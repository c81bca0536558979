"""Drift between a reference window's strata and a new window's traces.

Shares are compared on one basis: both windows are assigned to the reference clusters
with :meth:`HDBSCANStrata.assign` (the reference leave-one-out, see
:attr:`HDBSCANStrata.assigned_labels`). Per-cluster changes are tested with a
two-proportion test, Benjamini-Hochberg adjusted over the clusters, so an alert needs a
change that is both large (relative threshold) and real for the window sizes.

Emerging clusters are found by clustering the traces that fit no reference cluster
*of both windows together* and keeping the groups where the new window puts
significantly more of its traffic than the reference did. The tails of reference
clusters (traces just beyond every cut-off) exist in both windows in the same
proportion, so they do not count as emerging; an intent the reference never saw does.
"""

from __future__ import annotations

from typing import Literal

import attrs
import numpy as np
import numpy.typing as npt

from livingeval._random import Seed, as_generator
from livingeval.errors import ConfigError
from livingeval.stratify._arrays import array_eq, check_vectors, int_array
from livingeval.stratify._stats import (
    benjamini_hochberg,
    chi2_sf,
    js_divergence,
    one_sided_increase_p,
    two_proportion_p,
)
from livingeval.stratify._stratifier import HDBSCANStrata

__all__ = ["ClusterShift", "DriftReport", "EmergingCluster", "detect_drift"]

_N_REPRESENTATIVES = 5

EmergingBasis = Literal["reference_unassigned", "reference_members", "none"]
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
    """A group of new traces that fits no reference cluster and is new traffic.

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
    """Its share of the new window."""
    reference_share: float
    """Share of the reference window in the same group (its unassigned traces that
    clustered with these; an estimate from cluster members when the reference vectors
    were not given)."""
    p_value: float
    """One-sided test that the new window's share exceeds the reference's,
    Benjamini-Hochberg adjusted over all candidate groups."""
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
    """Groups of unassigned new traces that are significantly more frequent than in the
    reference, largest first."""
    emerging_basis: EmergingBasis
    """What emerging groups were tested against: ``"reference_unassigned"`` (the
    reference window's own unassigned traces, from ``reference_vectors``; tails of
    reference clusters cancel out), ``"reference_members"`` (only the cluster members
    the strata keep; weaker, see :func:`detect_drift`) or ``"none"``."""
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
    5. Emerging clusters: the unassigned traces of both windows are clustered together
       (the reference's stratifier, ``emerging_min_cluster_size``); a group is emerging
       when its share of the new window is at least ``emerging_ratio`` times its share
       of the reference and the one-sided, BH-adjusted p-value is below ``alpha``. It
       alerts when it also holds ``min_emerging_share`` of the new window. This needs
       ``reference_vectors``; without them the groups are compared with a resample of
       the cluster members the strata keep, which cannot see the reference's own
       noise, so tails of reference clusters may show up as emerging.

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
        seed: Seed for clustering the unassigned traces.

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
    if emerging_min_cluster_size is not None and (
        isinstance(emerging_min_cluster_size, bool) or emerging_min_cluster_size < 2
    ):
        raise ConfigError(
            "emerging_min_cluster_size must be an integer >= 2 or None; "
            f"emerging_min_cluster_size={emerging_min_cluster_size!r}.",
            field="emerging_min_cluster_size",
        )
    new_projected = reference.project(vectors)
    ref_projected = None
    if reference_vectors is not None:
        ref_projected = reference.project(
            check_vectors(reference_vectors, name="reference_vectors")
        )
        if ref_projected.shape[0] != reference.labels.size:
            raise ConfigError(
                f"reference_vectors has {ref_projected.shape[0]} rows but the strata were "
                f"fitted on {reference.labels.size}; pass the same vectors, in the same "
                "order, that HDBSCANStratifier.fit() was given.",
                field="reference_vectors",
            )
    new_labels = reference.assign(vectors)
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

    emerging, basis = _emerging(
        reference,
        new_projected,
        new_labels,
        ref_projected,
        alpha=alpha,
        ratio=emerging_ratio,
        min_share=min_emerging_share,
        min_cluster_size=emerging_min_cluster_size,
        seed=seed,
    )
    for e in emerging:
        if e.alert:
            alerts.append(
                f"emerging cluster of {e.size} traces ({e.share:.1%} of the new window, "
                f"{e.reference_share:.1%} of the reference) fits no reference cluster"
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


def _emerging(
    reference: HDBSCANStrata,
    new_projected: npt.NDArray[np.float32],
    new_labels: npt.NDArray[np.int64],
    ref_projected: npt.NDArray[np.float32] | None,
    *,
    alpha: float,
    ratio: float,
    min_share: float,
    min_cluster_size: int | None,
    seed: Seed,
) -> tuple[tuple[EmergingCluster, ...], EmergingBasis]:
    """Cluster the unassigned traces of both windows together; keep the new groups."""
    rng = as_generator(seed)
    stratifier = reference.stratifier
    mcs = min_cluster_size if min_cluster_size is not None else stratifier.min_cluster_size
    unassigned = np.flatnonzero(new_labels == -1)
    n_new = int(new_labels.size)
    basis: EmergingBasis
    if unassigned.size < mcs:
        basis = "none"
        return (), basis
    if ref_projected is not None:
        # The reference window's own unassigned traces: its tails, its noise.
        ref_points = ref_projected[reference.assigned_labels == -1]
        ref_total = float(reference.assigned_labels.size)
        basis = "reference_unassigned"
    else:
        # Only cluster members are kept in the strata: a resample of them, as many as
        # the new window's unassigned traces, stands in for the reference's density.
        stored = reference.reference_points.astype(np.float32)
        sample_labels = reference.labels[reference.sample_indices]
        members = int(np.sum(sample_labels >= 0))
        take = min(stored.shape[0], max(unassigned.size, 1))
        pick = np.sort(rng.choice(stored.shape[0], size=take, replace=False))
        ref_points = stored[pick]
        # Each kept point stands for members / take member traces of the sample.
        ref_total = take * reference.sample_indices.size / max(1, members)
        basis = "reference_members"
    pool = np.concatenate([new_projected[unassigned], ref_points]).astype(np.float32)
    sub = attrs.evolve(stratifier, min_cluster_size=mcs, seed=int(rng.integers(0, 2**31 - 1)))
    fitted = sub.fit(pool)
    from_new = fitted.labels[: unassigned.size]
    from_ref = fitted.labels[unassigned.size :]
    k = fitted.n_clusters
    new_in = np.bincount(from_new[from_new >= 0], minlength=k)
    ref_in = np.bincount(from_ref[from_ref >= 0], minlength=k)
    n_ref_eff = max(1, round(ref_total))
    raw_p = np.array(
        [one_sided_increase_p(int(ref_in[c]), n_ref_eff, int(new_in[c]), n_new) for c in range(k)],
        dtype=np.float64,
    )
    adjusted = benjamini_hochberg(raw_p)
    out = []
    for cluster in range(k):
        share = float(new_in[cluster]) / max(1, n_new)
        reference_share = float(ref_in[cluster]) / ref_total if ref_total > 0 else 0.0
        if adjusted[cluster] >= alpha or share < ratio * reference_share or new_in[cluster] == 0:
            continue
        members = unassigned[from_new == cluster]
        points = new_projected[members]
        centre = points.mean(axis=0)
        dist = np.einsum("ij,ij->i", points - centre, points - centre)
        reps = members[np.argsort(dist, kind="stable")[:_N_REPRESENTATIVES]]
        out.append(
            EmergingCluster(
                members=members,
                representatives=reps,
                share=share,
                reference_share=reference_share,
                p_value=float(adjusted[cluster]),
                alert=bool(share >= min_share),
            )
        )
    out.sort(key=lambda e: (-e.size, int(e.members[0])))
    return tuple(out), basis
