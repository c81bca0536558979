"""Stratified sampling: proportional allocation, floors, group caps, nesting, weights.

The sample is built as one deterministic *sequence*: step ``t`` picks the stratum with
the highest Sainte-Laguë priority ``w_h / (n_h + 0.5)`` (strata below their floor come
first), then, inside it, the not-yet-taken trace with the smallest hash key whose group
is still under its cap ``ceil(max_group_share * (t + 1))``. A sample of size ``n`` is the
first ``n`` items of that sequence, so a larger sample from the same window always
contains a smaller one, the allocation never shrinks as ``n`` grows (a divisor method is
house-monotone), and the cap holds for every prefix.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import attrs
import numpy as np
import numpy.typing as npt

from livingeval._random import Seed, as_generator
from livingeval.errors import ConfigError
from livingeval.stratify._arrays import array_eq, float_array, int_array

__all__ = [
    "Sample",
    "StratumAllocation",
    "size_from_budget",
    "stratified_sample",
]


@attrs.frozen(kw_only=True)
class StratumAllocation:
    """One row of a sample's allocation table.

    .. versionadded:: 0.1.0
    """

    stratum: int
    """The stratum id; ``-1`` is noise."""
    population: int
    """Traces of this stratum in the window."""
    allocated: int
    """Traces of this stratum in the sample."""
    weight: float
    """Relative sampling weight (1.0 for clusters, ``noise_weight`` for noise)."""

    @property
    def fraction(self) -> float:
        """``allocated / population``: the stratum's sampling fraction."""
        return self.allocated / self.population if self.population else 0.0


@attrs.frozen(kw_only=True)
class Sample:
    """A stratified sample: which traces, from which stratum, standing for how many.

    ``weights[i]`` is the number of production traces sampled item ``i`` stands for; the
    weights of every sampled stratum add up to its population (so, once every stratum
    has an item, to the window size), and weighted means over the sample estimate
    production-level rates without bias.

    Example:
        >>> s = stratified_sample([f"t{i}" for i in range(9)], [0] * 6 + [1] * 3, size=3, seed=0)
        >>> s.size, float(s.weights.sum())
        (3, 9.0)

    .. versionadded:: 0.1.0
    """

    trace_ids: tuple[str, ...]
    """Sampled trace ids, in selection order."""
    indices: npt.NDArray[np.int64] = attrs.field(
        converter=int_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Position of each sampled trace in the input arrays."""
    strata: npt.NDArray[np.int64] = attrs.field(
        converter=int_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Stratum of each sampled trace (``-1``: noise)."""
    weights: npt.NDArray[np.float64] = attrs.field(
        converter=float_array, eq=attrs.cmp_using(eq=array_eq)
    )
    """Inclusion weight of each sampled trace (population traces it stands for)."""
    groups: tuple[str, ...] | None
    """Group key (tenant) of each sampled trace, when groups were given."""
    allocation: tuple[StratumAllocation, ...]
    """One row per stratum of the window, by stratum id (noise first)."""
    population_size: int
    """Traces in the window."""
    max_group_share: float | None
    """The group cap used (``None`` without groups)."""
    cap_relaxed: bool
    """True when the cap could not hold (every remaining trace was in a capped group)
    and was exceeded rather than returning a smaller sample."""
    seed: int
    """The integer seed the hash keys were derived from."""

    @property
    def size(self) -> int:
        """Number of sampled traces."""
        return len(self.trace_ids)


def size_from_budget(budget: float, cost_per_item: float) -> int:
    """How many items a budget pays for: ``floor(budget / cost_per_item)``.

    Args:
        budget: Money (or any unit) available for the evaluation, >= 0.
        cost_per_item: Projected cost of evaluating one sampled trace, > 0.

    Returns:
        The affordable sample size.

    Raises:
        ConfigError: a negative budget or a non-positive cost.

    Example:
        >>> size_from_budget(10.0, 0.004)
        2500
    """
    if not math.isfinite(budget) or budget < 0:
        raise ConfigError(f"budget must be finite and >= 0; budget={budget!r}.", field="budget")
    if not math.isfinite(cost_per_item) or cost_per_item <= 0:
        raise ConfigError(
            f"cost_per_item must be finite and > 0; cost_per_item={cost_per_item!r}.",
            field="cost_per_item",
        )
    # A tiny epsilon keeps 10.0 / 0.004 from rounding down to 2499.
    return math.floor(budget / cost_per_item + 1e-9)


def _hash_keys(trace_ids: Sequence[str], seed: int) -> npt.NDArray[np.uint64]:
    salt = seed.to_bytes(8, "little", signed=True)
    keys = np.empty(len(trace_ids), dtype=np.uint64)
    for i, trace_id in enumerate(trace_ids):
        digest = hashlib.blake2b(trace_id.encode("utf-8"), digest_size=8, key=salt).digest()
        keys[i] = int.from_bytes(digest, "little")
    return keys


def stratified_sample(
    trace_ids: Sequence[str],
    strata: Sequence[int] | npt.NDArray[np.integer],
    *,
    size: int | None = None,
    budget: float | None = None,
    cost_per_item: float | None = None,
    groups: Sequence[str] | None = None,
    max_group_share: float = 0.25,
    noise_weight: float = 0.2,
    min_per_stratum: int = 2,
    seed: Seed = 0,
    populations: Mapping[tuple[int, str], int] | None = None,
) -> Sample:
    """Draw a stratified, nested, weighted sample of a window's traces.

    Allocation is proportional to each stratum's population times its weight (1 for
    clusters, ``noise_weight`` for noise), after giving every cluster a floor of
    ``min_per_stratum`` items (noise gets no floor). Selection inside a stratum is by a
    keyed hash of the trace id, so it is reproducible for a seed and nested across sizes.
    With ``groups`` (e.g. the tenant of each trace) no group takes more than
    ``ceil(max_group_share * size)`` items.

    Args:
        trace_ids: Unique id of each trace in the window.
        strata: Stratum of each trace (``-1`` noise), e.g. ``strata.labels``.
        size: Sample size (at most the window size). Give this or ``budget``.
        budget: Money available; the size is ``size_from_budget(budget, cost_per_item)``.
        cost_per_item: Cost of evaluating one item (with ``budget``).
        groups: Optional group key per trace (tenant or any metadata value).
        max_group_share: Cap on any group's share of the sample, in ``(0, 1]``.
        noise_weight: Relative sampling weight of noise traces, in ``[0, 1]``.
        min_per_stratum: Floor per cluster (capped by the cluster's population).
        seed: Seed for the hash keys; an int, or a Generator to draw one from.
        populations: For a window too large to pass whole: the population of every
            (stratum, group) cell of the window (group ``""`` without ``groups``), while
            ``trace_ids`` / ``strata`` / ``groups`` hold only each cell's ``size`` traces
            with the smallest hash keys, in window order. The sample is then the one the
            whole window gives (``livingeval.distributed`` gathers the candidates shard by
            shard).

    Returns:
        A :class:`Sample` with per-item trace id, stratum and inclusion weight, and the
        allocation table.

    Raises:
        ConfigError: mismatched lengths, duplicate ids, a size larger than the window,
            or an out-of-range parameter.

    Example:
        >>> ids = [f"t{i}" for i in range(100)]
        >>> labels = [0] * 60 + [1] * 30 + [-1] * 10
        >>> s = stratified_sample(ids, labels, size=20, seed=1)
        >>> [(a.stratum, a.allocated) for a in s.allocation]
        [(-1, 0), (0, 13), (1, 7)]
    """
    n = len(trace_ids)
    labels = np.asarray(strata, dtype=np.int64)
    if labels.shape != (n,):
        raise ConfigError(
            f"strata must have one entry per trace id; len(trace_ids)={n}, "
            f"strata.shape={labels.shape}.",
            field="strata",
        )
    if groups is not None and len(groups) != n:
        raise ConfigError(
            f"groups must have one entry per trace id; len(trace_ids)={n}, "
            f"len(groups)={len(groups)}.",
            field="groups",
        )
    if len(set(trace_ids)) != n:
        raise ConfigError(
            "trace_ids must be unique (selection is keyed by trace id); deduplicate the window.",
            field="trace_ids",
        )
    cells = (
        {(int(h), str(g)): int(c) for (h, g), c in populations.items()}
        if populations is not None
        else None
    )
    window = sum(cells.values()) if cells is not None else n
    if size is None:
        if budget is None or cost_per_item is None:
            raise ConfigError(
                "give either size=..., or budget=... with cost_per_item=...", field="size"
            )
        size = min(window, size_from_budget(budget, cost_per_item))
    if isinstance(size, bool) or not 0 <= size <= window:
        raise ConfigError(
            f"size must be in [0, {window}] (the window size); size={size!r}.", field="size"
        )
    if not 0.0 <= noise_weight <= 1.0:
        raise ConfigError(
            f"noise_weight must be in [0, 1]; noise_weight={noise_weight!r}.",
            field="noise_weight",
        )
    if not 0.0 < max_group_share <= 1.0:
        raise ConfigError(
            f"max_group_share must be in (0, 1]; max_group_share={max_group_share!r}.",
            field="max_group_share",
        )
    if min_per_stratum < 0:
        raise ConfigError(
            f"min_per_stratum must be >= 0; min_per_stratum={min_per_stratum!r}.",
            field="min_per_stratum",
        )
    int_seed = seed if isinstance(seed, int) else int(as_generator(seed).integers(0, 2**62))
    if isinstance(seed, int) and not isinstance(seed, bool):
        as_generator(seed)  # validates the type
    keys = _hash_keys(trace_ids, int_seed)

    if cells is None:
        stratum_ids, counts = np.unique(labels, return_counts=True)
    else:
        per_stratum: dict[int, int] = defaultdict(int)
        for (h, _), c in cells.items():
            per_stratum[h] += c
        stratum_ids = np.array(sorted(per_stratum), dtype=np.int64)
        counts = np.array([per_stratum[int(h)] for h in stratum_ids], dtype=np.int64)
        missing = set(np.unique(labels).tolist()) - set(per_stratum)
        if missing:
            raise ConfigError(
                f"populations has no cell for strata {sorted(missing)}; give the population "
                "of every (stratum, group) cell of the window",
                field="populations",
            )
    weight_of = {int(h): (noise_weight if h == -1 else 1.0) for h in stratum_ids}
    # Per stratum, per group: trace positions by ascending hash key (then id as tie-break).
    order = np.lexsort((np.arange(n), keys))
    group_of = list(groups) if groups is not None else [""] * n
    queues: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i in order.tolist():
        queues[int(labels[i])][group_of[i]].append(i)
    # Per stratum a heap of (head key, group) and per-(stratum, group) read positions.
    heads: dict[int, list[tuple[int, int, str]]] = {}
    pos: dict[tuple[int, str], int] = {}
    for h, by_group in queues.items():
        heap = [(int(keys[q[0]]), q[0], g) for g, q in by_group.items()]
        heapq.heapify(heap)
        heads[h] = heap
        for g in by_group:
            pos[(h, g)] = 0

    taken_per_stratum: dict[int, int] = {int(h): 0 for h in stratum_ids}
    floor = {
        int(h): (0 if h == -1 else min(min_per_stratum, int(p)))
        for h, p in zip(stratum_ids, counts, strict=True)
    }
    population = {int(h): int(p) for h, p in zip(stratum_ids, counts, strict=True)}
    group_count: dict[str, int] = defaultdict(int)
    capped = groups is not None and max_group_share < 1.0
    cap_relaxed = False
    chosen: list[int] = []

    def priority(h: int) -> tuple[int, float, int]:
        taken = taken_per_stratum[h]
        if weight_of[h] == 0:
            tier, base = 2, float(population[h])  # only once everything else is taken
        else:
            tier, base = (0 if taken < floor[h] else 1), population[h] * weight_of[h]
        # Heap pops the smallest: negate the priority; ties go to the smaller stratum id.
        return (tier, -base / (taken + 0.5), h)

    strata_heap = [priority(h) for h in population]
    heapq.heapify(strata_heap)

    def take_from(h: int, cap: int | None) -> int | None:
        heap = heads[h]
        parked: list[tuple[int, int, str]] = []
        found: int | None = None
        while heap:
            entry = heapq.heappop(heap)
            _, item, g = entry
            if cap is not None and group_count[g] >= cap:
                parked.append(entry)
                continue
            found = item
            pos[(h, g)] += 1
            queue = queues[h][g]
            if pos[(h, g)] < len(queue):
                nxt = queue[pos[(h, g)]]
                heapq.heappush(heap, (int(keys[nxt]), nxt, g))
            group_count[g] += 1
            break
        for entry in parked:
            heapq.heappush(heap, entry)
        return found

    for t in range(size):
        cap = math.ceil(max_group_share * (t + 1)) if capped else None
        skipped: list[tuple[int, float, int]] = []
        item: int | None = None
        while strata_heap and item is None:
            entry = heapq.heappop(strata_heap)
            h = entry[2]
            item = take_from(h, cap)
            if item is None:
                if heads[h]:
                    skipped.append(entry)  # only capped groups left here for now
                continue
            taken_per_stratum[h] += 1
            if taken_per_stratum[h] < population[h]:
                heapq.heappush(strata_heap, priority(h))
        for entry in skipped:
            heapq.heappush(strata_heap, entry)
        if item is None:
            # Every stratum with items left holds only capped groups: relax the cap.
            cap_relaxed = True
            for entry in sorted(strata_heap):
                h = entry[2]
                item = take_from(h, None)
                if item is not None:
                    taken_per_stratum[h] += 1
                    strata_heap.remove(entry)
                    if taken_per_stratum[h] < population[h]:
                        strata_heap.append(priority(h))
                    heapq.heapify(strata_heap)
                    break
        if item is None:  # pragma: no cover - size <= n guarantees an item
            raise AssertionError("stratified_sample ran out of traces")
        chosen.append(item)

    chosen_arr = np.asarray(chosen, dtype=np.int64)
    chosen_strata = labels[chosen_arr] if chosen else np.zeros(0, dtype=np.int64)
    weights = _inclusion_weights(chosen_arr, labels, group_of, cells)
    allocation = tuple(
        StratumAllocation(
            stratum=int(h),
            population=int(p),
            allocated=int(taken_per_stratum[int(h)]),
            weight=weight_of[int(h)],
        )
        for h, p in zip(stratum_ids, counts, strict=True)
    )
    return Sample(
        trace_ids=tuple(trace_ids[i] for i in chosen),
        indices=chosen_arr,
        strata=chosen_strata,
        weights=weights,
        groups=tuple(group_of[i] for i in chosen) if groups is not None else None,
        allocation=allocation,
        population_size=window,
        max_group_share=max_group_share if groups is not None else None,
        cap_relaxed=cap_relaxed,
        seed=int_seed,
    )


def _inclusion_weights(
    chosen: npt.NDArray[np.int64],
    labels: npt.NDArray[np.int64],
    group_of: Sequence[str],
    cells: Mapping[tuple[int, str], int] | None = None,
) -> npt.NDArray[np.float64]:
    """Weights ``N_hg / n_hg`` per (stratum, group) cell, rescaled so each stratum's sum is
    its population ``N_h`` (cells of a stratum with no sampled item are spread over the
    sampled cells of that stratum)."""
    weights = np.zeros(chosen.size, dtype=np.float64)
    if chosen.size == 0:
        return weights
    cell_pop: dict[tuple[int, str], int] = defaultdict(int)
    stratum_pop: dict[int, int] = defaultdict(int)
    if cells is None:
        for label, g in zip(labels.tolist(), group_of, strict=True):
            cell_pop[(label, g)] += 1
            stratum_pop[label] += 1
    else:
        for (label, g), c in cells.items():
            cell_pop[(label, g)] += c
            stratum_pop[label] += c
    cell_n: dict[tuple[int, str], int] = defaultdict(int)
    for i in chosen.tolist():
        cell_n[(int(labels[i]), group_of[i])] += 1
    covered: dict[int, int] = defaultdict(int)
    for h, g in cell_n:
        covered[h] += cell_pop[(h, g)]
    for j, i in enumerate(chosen.tolist()):
        h, g = int(labels[i]), group_of[i]
        weights[j] = cell_pop[(h, g)] / cell_n[(h, g)] * stratum_pop[h] / covered[h]
    return weights
