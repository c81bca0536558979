"""Window pairs drawn from labelled data, to check drift detection on your own traffic.

A drift detector is only as good as what it finds when you *know* what changed. Given one
label per row (an intent, a topic, a tenant), :class:`LabelledWindows` draws a reference
window and a new window of row indices in which chosen labels are held out of the
reference, grown by a factor, or left alone, always in the same seeded way; and
:func:`labels_owning_clusters` tells which labels own a cluster of a fitted reference, so
that "this label grew" can be checked against "that cluster rose".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from livingeval.errors import ConfigError

__all__ = ["LabelledWindows", "draw_labels", "labels_owning_clusters"]

Rows = npt.NDArray[np.int64]


class LabelledWindows:
    """Seeded per-label orders of the rows of a labelled corpus, cut into windows.

    Every label (except those in ``exclude`` and those with fewer than ``min_rows`` rows)
    gets one random order of its rows, drawn once with ``numpy.random.default_rng(seed)``
    in sorted label order. The reference window takes the first ``per_label`` rows of each
    label; the new window the next ``per_label * factor`` rows (fewer when a label runs
    out), so the two windows never share a row.

    Args:
        labels: One label per row.
        per_label: Rows per label in the reference window (and, at factor 1, in the new).
        seed: Seed of the per-label orders.
        exclude: Labels left out of both windows.
        min_rows: Labels with fewer rows are left out of both windows.

    Raises:
        ConfigError: ``per_label`` < 1 or no label is left.

    Example:
        >>> import numpy as np
        >>> windows = LabelledWindows(np.array(["a"] * 6 + ["b"] * 6), per_label=2, seed=0)
        >>> reference = windows.reference(without=["b"])
        >>> new = windows.new({"b": 2})
        >>> len(reference), len(new)
        (2, 6)
    """

    def __init__(
        self,
        labels: npt.ArrayLike,
        *,
        per_label: int = 40,
        seed: int = 0,
        exclude: Collection[str] = (),
        min_rows: int = 0,
    ) -> None:
        if per_label < 1:
            raise ConfigError(
                f"per_label must be >= 1; got per_label={per_label}", field="per_label"
            )
        self.labels = np.asarray(labels)
        self.per_label = per_label
        rng = np.random.default_rng(seed)
        left_out = set(exclude)
        self.orders: dict[str, Rows] = {
            label: rng.permutation(np.flatnonzero(self.labels == label))
            for label in sorted(set(self.labels.tolist()) - left_out)
            if int(np.sum(self.labels == label)) >= min_rows
        }
        if not self.orders:
            raise ConfigError(
                f"no label has min_rows={min_rows} rows outside exclude; lower min_rows "
                "or exclude fewer labels",
                field="min_rows",
            )

    def rows_of(self, label: str) -> int:
        """How many rows ``label`` has (0 for a label outside the windows)."""
        order = self.orders.get(label)
        return 0 if order is None else int(order.size)

    def reference(self, *, without: Collection[str] = ()) -> Rows:
        """The reference window: ``per_label`` rows of every label not in ``without``."""
        held = set(without)
        return self._concat(
            [order[: self.per_label] for label, order in self.orders.items() if label not in held]
        )

    def new(self, factors: Mapping[str, int] | None = None) -> Rows:
        """The new window: the next ``per_label * factors.get(label, 1)`` rows of each label.

        A label with fewer rows left gives what it has (see :meth:`rows_of`).

        Args:
            factors: A growth factor per label (0 drops a label from the new window).

        Raises:
            ConfigError: A factor is negative.
        """
        factors = factors or {}
        parts: list[Rows] = []
        for label, order in self.orders.items():
            factor = factors.get(label, 1)
            if factor < 0:
                raise ConfigError(
                    f"factor of {label!r} must be >= 0; got {factor}", field="factors"
                )
            parts.append(order[self.per_label : self.per_label * (1 + factor)])
        return self._concat(parts)

    @staticmethod
    def _concat(parts: Sequence[Rows]) -> Rows:
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def labels_owning_clusters(
    cluster_labels: npt.ArrayLike,
    row_labels: npt.ArrayLike,
    *,
    min_members: int = 15,
    min_share: float = 0.5,
) -> dict[str, list[int]]:
    """Which label owns which clusters: the clusters where one label is the majority.

    Args:
        cluster_labels: The cluster of each reference row (``-1`` for noise), e.g. a fitted
            strata's ``assigned_labels``.
        row_labels: The label of each reference row.
        min_members: Clusters with fewer rows are skipped.
        min_share: The share of a cluster's rows its label needs to own it.

    Returns:
        The clusters each owning label owns, in cluster order.

    Example:
        >>> labels_owning_clusters([0, 0, 1, 1, 1, -1], list("aabbab"), min_members=2)
        {'a': [0], 'b': [1]}
    """
    clusters = np.asarray(cluster_labels)
    rows = np.asarray(row_labels)
    if clusters.shape != rows.shape:
        raise ConfigError(
            f"cluster_labels has shape {clusters.shape} and row_labels {rows.shape}; give "
            "one cluster and one label per reference row",
            field="row_labels",
        )
    owned: dict[str, list[int]] = {}
    for cluster in sorted(set(clusters.tolist()) - {-1}):
        members = rows[clusters == cluster]
        if members.size < min_members:
            continue
        label, count = Counter(members.tolist()).most_common(1)[0]
        if count >= min_share * members.size:
            owned.setdefault(str(label), []).append(int(cluster))
    return owned


def draw_labels(
    labels: npt.ArrayLike,
    count: int,
    *,
    seed: int,
    min_rows: int = 0,
    exclude: Collection[str] = (),
) -> tuple[str, ...]:
    """``count`` distinct labels drawn by a seeded RNG, e.g. the ones to hold out or grow.

    Args:
        labels: One label per row.
        count: How many labels to draw.
        seed: Seed of the draw (``numpy.random.default_rng(seed)``).
        min_rows: Only labels with at least this many rows are eligible.
        exclude: Labels that are never drawn.

    Returns:
        The drawn labels, sorted.

    Raises:
        ConfigError: Fewer than ``count`` labels are eligible.

    Example:
        >>> draw_labels(list("aabbcc"), 2, seed=0, exclude=["c"])
        ('a', 'b')
    """
    names, counts = np.unique(np.asarray(labels), return_counts=True)
    left_out = set(exclude)
    eligible = sorted(
        str(name)
        for name, n in zip(names, counts, strict=True)
        if n >= min_rows and str(name) not in left_out
    )
    if len(eligible) < count:
        raise ConfigError(
            f"only {len(eligible)} labels have min_rows={min_rows} rows outside exclude; "
            f"cannot draw count={count}. Lower count or min_rows",
            field="count",
        )
    drawn = np.random.default_rng(seed).choice(eligible, count, replace=False)
    return tuple(sorted(str(label) for label in drawn.tolist()))
