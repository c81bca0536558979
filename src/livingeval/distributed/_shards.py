"""Sharded trace input and stratification shard by shard, in parallel.

The driver never holds all traces: workers read, scrub and embed one shard each, and send
back only what the driver needs (a bounded seeded sample to fit the strata, then one
stratum id per trace).
"""

from __future__ import annotations

import glob
import hashlib
import heapq
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from livingeval.embed import TraceView, default_embedder, embed_traces
from livingeval.errors import ConfigError
from livingeval.protocols import Embedder, Executor, Scrubber, Strata, Stratifier
from livingeval.records import Trace
from livingeval.scrub import default_scrubber, require_scrubbed, scrub_all
from livingeval.sources import JsonlTraceSource
from livingeval.stratify import HDBSCANStratifier, Sample, stratified_sample
from livingeval.stratify._sampling import _hash_keys

__all__ = ["ShardedStrata", "ShardedTraceSource", "stratify_shards"]

_J = TypeVar("_J")
_R = TypeVar("_R")

_SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz", ".gz")


def _resolve(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> tuple[Path, ...]:
    if isinstance(paths, str | os.PathLike):
        root = Path(paths)
        if root.is_dir():
            found = [p for p in root.iterdir() if p.is_file() and p.name.endswith(_SUFFIXES)]
        else:
            found = [Path(p) for p in glob.glob(str(paths)) if Path(p).is_file()]
    else:
        found = [Path(p) for p in paths]
    return tuple(sorted(found))


class ShardedTraceSource:
    """A trace source made of many JSON Lines shards (plain or gzip), read shard by shard.

    Iterating streams the shards in sorted path order, each through a
    :class:`~livingeval.sources.JsonlTraceSource`, so it is a
    :class:`~livingeval.protocols.TraceSource` like any other. :func:`stratify_shards`
    instead hands each shard to a worker.

    Args:
        paths: A directory (its ``*.jsonl`` / ``*.jsonl.gz`` files), a glob pattern
            (``"traces/2026-11-*.jsonl.gz"``) or an explicit list of files.
        lenient: Skip bad lines instead of raising (per shard, see ``JsonlTraceSource``).
        window: Keep only traces at most this old, relative to ``now``.
        now: The reference time for ``window`` (default: the time this source was made,
            so every worker filters alike).

    Raises:
        ConfigError: no shard matches ``paths``.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> for i in range(2):
        ...     _ = (d / f"part-{i}.jsonl").write_text(
        ...         '{"id": "t%d", "timestamp": "2026-01-01T00:00:00Z", '
        ...         '"messages": [{"role": "user", "content": "hi"}]}\\n' % i)
        >>> [t.id for t in ShardedTraceSource(d)]
        ['t0', 't1']

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        lenient: bool = False,
        window: timedelta | None = None,
        now: datetime | None = None,
    ) -> None:
        self.shards: tuple[Path, ...] = _resolve(paths)
        """The shard files, sorted."""
        self.lenient = lenient
        self.window = window
        self.now = now if now is not None or window is None else datetime.now(UTC)
        if not self.shards:
            raise ConfigError(
                f"no trace shards found at paths={os.fspath(paths) if isinstance(paths, str | os.PathLike) else list(paths)!r}; "
                "pass a directory of .jsonl/.jsonl.gz files, a glob or a list of files",
                field="paths",
            )

    def shard(self, index: int) -> JsonlTraceSource:
        """The source of shard ``index`` alone."""
        return _open(str(self.shards[index]), self.lenient, self.window, self.now)

    def __len__(self) -> int:
        return len(self.shards)

    def __iter__(self) -> Iterator[Trace]:
        for index in range(len(self.shards)):
            yield from self.shard(index)

    def __repr__(self) -> str:
        return f"ShardedTraceSource({len(self.shards)} shards, first={str(self.shards[0])!r})"


def _open(
    path: str, lenient: bool, window: timedelta | None = None, now: datetime | None = None
) -> JsonlTraceSource:
    return JsonlTraceSource(path, lenient=lenient, window=window, now=now)


def _key(seed: int, trace_id: str) -> int:
    digest = hashlib.blake2b(trace_id.encode(), digest_size=8, key=seed.to_bytes(8, "little"))
    return int.from_bytes(digest.digest(), "little")


def _wave_size(executor: Executor) -> int:
    """Shards per ``map`` call: enough to keep every worker busy, few enough to fold often."""
    return max(2, 4 * int(getattr(executor, "parallelism", 1)))


def _map_in_waves(executor: Executor, fn: Callable[[_J], _R], jobs: Sequence[_J]) -> Iterator[_R]:
    """``executor.map(fn, jobs)`` a wave of shards at a time, results in job order.

    The caller folds each result into a bounded summary as it comes, so the driver holds
    one wave's results at most, never one result per shard of the whole window.
    """
    step = _wave_size(executor)
    for start in range(0, len(jobs), step):
        yield from executor.map(fn, jobs[start : start + step])


class _FitSample:
    """The driver's fold of pass 1: the ``size`` smallest ``(key, id)`` over all shards.

    Only keys, ids and positions travel: the chosen traces are read afterwards by
    position (:func:`_read_rows`), so the driver never holds more than ``size`` traces.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.total = 0
        self._seen = 0
        # A max-heap on (key, id, arrival): the arrival breaks ties between duplicate ids.
        self._heap: list[tuple[int, _Reversed, int, int, int]] = []

    def add(self, shard: int, result: tuple[int, list[tuple[int, str, int]]]) -> None:
        """Fold one shard's count and ``(key, id, row)`` candidates in."""
        count, part = result
        self.total += count
        for key, trace_id, row in part:
            self._seen += 1
            item = (-key, _Reversed(trace_id), -self._seen, shard, row)
            if len(self._heap) < self.size:
                heapq.heappush(self._heap, item)
            elif item[:3] > self._heap[0][:3]:
                heapq.heapreplace(self._heap, item)

    def positions(self) -> list[tuple[int, int]]:
        """The chosen traces' ``(shard, row)`` by ascending ``(key, id)``."""
        ordered = sorted(self._heap, key=lambda it: (-it[0], it[1].value, -it[2]))
        return [(it[3], it[4]) for it in ordered]


def _fit_sample(
    executor: Executor, source: ShardedTraceSource, paths: Sequence[str], size: int, seed: int
) -> tuple[int, list[Trace]]:
    """Pass 1: the window's trace count and its ``size`` traces with the smallest keys."""
    fit = _FitSample(size)
    sample_shard = _SampleShard(size, seed, source.lenient, source.window, source.now)
    for shard, result in enumerate(_map_in_waves(executor, sample_shard, paths)):
        fit.add(shard, result)
    return fit.total, _read_positions(executor, source, paths, fit.positions(), None)


def _read_positions(
    executor: Executor,
    source: ShardedTraceSource,
    paths: Sequence[str],
    positions: Sequence[tuple[int, int]],
    scrubber: Scrubber | None,
) -> list[Trace]:
    """The traces at ``(shard, row)`` positions, in that order, read by the workers
    (scrubbed by ``scrubber`` unless it is None)."""
    rows: dict[int, set[int]] = defaultdict(set)
    for shard, row in positions:
        rows[shard].add(row)
    with_rows = sorted(rows)
    read = executor.map(
        _FetchShard(scrubber, source.lenient, source.window, source.now),
        [(paths[i], frozenset(rows[i])) for i in with_rows],
    )
    by_shard = dict(zip(with_rows, read, strict=True))
    return [by_shard[shard][row] for shard, row in positions]


@attrs.frozen(order=False)
class _Reversed:
    """A string that sorts in reverse, for max-heaps on ``(key, id)``."""

    value: str

    def __lt__(self, other: _Reversed) -> bool:
        return self.value > other.value

    def __gt__(self, other: _Reversed) -> bool:
        return self.value < other.value


@attrs.frozen
class _SampleShard:
    """Worker side of pass 1: key, id and row of a shard's ``size`` smallest seeded keys."""

    size: int
    seed: int
    lenient: bool
    window: timedelta | None = None
    now: datetime | None = None

    def __call__(self, path: str) -> tuple[int, list[tuple[int, str, int]]]:
        heap: list[tuple[int, str, int]] = []  # max-heap on key via negation
        count = 0
        for row, trace in enumerate(_open(path, self.lenient, self.window, self.now)):
            count += 1
            item = (-_key(self.seed, trace.id), trace.id, row)
            if len(heap) < self.size:
                heapq.heappush(heap, item)
            elif item[0] > heap[0][0]:
                heapq.heapreplace(heap, item)
        return count, [(-k, tid, row) for k, tid, row in heap]


@attrs.frozen
class _AssignShard:
    """Worker side of pass 2: read, scrub, embed and assign one shard; return labels only."""

    scrubber: Scrubber
    embedder: Embedder
    view: TraceView
    strata: Any
    lenient: bool
    batch: int = 4096
    window: timedelta | None = None
    now: datetime | None = None

    def __call__(self, path: str) -> npt.NDArray[np.int32]:
        parts: list[npt.NDArray[np.int32]] = []
        for batch in _scrubbed_batches(
            _open(path, self.lenient, self.window, self.now), self.scrubber, self.batch
        ):
            vectors = embed_traces(self.embedder, batch, view=self.view)
            parts.append(np.asarray(self.strata.assign(vectors), dtype=np.int32))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)


def _scrubbed_batches(
    traces: Iterable[Trace], scrubber: Scrubber, size: int
) -> Iterator[list[Trace]]:
    """The traces scrubbed (and checked to be), in batches of ``size`` (the last may be short).

    Each batch goes through the scrubber's batch path when it has one (:func:`scrub_all`).
    """
    batch: list[Trace] = []
    for trace in traces:
        batch.append(trace)
        if len(batch) >= size:
            yield _scrub_checked(scrubber, batch)
            batch = []
    if batch:
        yield _scrub_checked(scrubber, batch)


def _scrub_checked(scrubber: Scrubber, traces: list[Trace]) -> list[Trace]:
    scrubbed = scrub_all(scrubber, traces)
    for trace in scrubbed:
        require_scrubbed(trace)
    return scrubbed


@attrs.frozen(kw_only=True)
class ShardedStrata:
    """Strata fitted on a seeded sample, and the stratum of every trace, shard by shard.

    .. versionadded:: 0.1.0
    """

    strata: Strata
    """The fitted strata (``strata.labels`` are the fit sample's labels)."""
    shards: tuple[Path, ...]
    """The shard files, in the order of :attr:`labels`."""
    labels: tuple[npt.NDArray[np.int32], ...]
    """One stratum id per trace of each shard, in file order; ``-1`` is noise."""
    fit_ids: tuple[str, ...]
    """The ids of the traces the strata were fitted on (the seeded sample)."""

    @property
    def total(self) -> int:
        """The number of traces over all shards."""
        return sum(len(part) for part in self.labels)

    def counts(self) -> dict[int, int]:
        """Traces per stratum over all shards."""
        ids, counts = np.unique(np.concatenate(self.labels), return_counts=True)
        return {int(i): int(c) for i, c in zip(ids, counts, strict=True)}


def stratify_shards(
    source: ShardedTraceSource,
    *,
    executor: Executor,
    scrubber: Scrubber | None = None,
    embedder: Embedder | None = None,
    stratifier: Stratifier | None = None,
    view: TraceView | str = TraceView.LAST_USER_TURN,
    fit_size: int = 20_000,
    seed: int = 0,
) -> ShardedStrata:
    """Fit strata on a seeded sample, then assign every shard's traces in parallel.

    Pass 1: each worker keeps the ``fit_size`` traces of its shard with the smallest keyed
    hash of the trace id (seeded); the driver keeps the ``fit_size`` smallest overall, a
    uniform sample that does not depend on how traces are split into shards or on which
    worker ran what. The driver scrubs, embeds and fits the stratifier on it. Pass 2: each
    worker reads, scrubs, embeds and assigns one shard and returns only its labels. The
    driver holds the sample and 4 bytes per trace, never the traces.

    Args:
        source: The shards.
        executor: Where the shard work runs (``RayExecutor`` or ``InProcessExecutor``).
        scrubber: Default :func:`~livingeval.scrub.default_scrubber`.
        embedder: Default :func:`~livingeval.embed.default_embedder`.
        stratifier: Default ``HDBSCANStratifier(min_cluster_size=15, seed=seed)``.
        view: Which text of a trace is embedded.
        fit_size: Size of the seeded sample the strata are fitted on.
        seed: Seed of the sample's hash keys (and of the default stratifier).

    Returns:
        The fitted strata and every trace's stratum, shard by shard.

    Raises:
        ConfigError: ``fit_size`` is below 2.

    Example:
        >>> from livingeval.pipeline import InProcessExecutor
        >>> result = stratify_shards(ShardedTraceSource("traces/"),
        ...                          executor=InProcessExecutor())  # doctest: +SKIP
    """
    if fit_size < 2:
        raise ConfigError(f"fit_size must be at least 2, got fit_size={fit_size}", field="fit_size")
    scrubber = scrubber if scrubber is not None else default_scrubber()
    embedder = embedder if embedder is not None else default_embedder()
    stratifier = stratifier or HDBSCANStratifier(min_cluster_size=15, seed=seed)
    view = TraceView(view)
    paths = [str(p) for p in source.shards]

    _, fit_raw = _fit_sample(executor, source, paths, fit_size, seed)
    fit_traces = scrub_all(scrubber, fit_raw)
    fit_vectors = embed_traces(embedder, fit_traces, view=view)
    strata = stratifier.fit(fit_vectors)

    labels = executor.map(
        _AssignShard(
            scrubber, embedder, view, strata, source.lenient, window=source.window, now=source.now
        ),
        paths,
    )
    return ShardedStrata(
        strata=strata,
        shards=source.shards,
        labels=tuple(labels),
        fit_ids=tuple(t.id for t in fit_traces),
    )


# ---------------------------------------------------------------------- the pipeline's window


_NO_THRESHOLD = 2**64 - 1


@attrs.frozen(eq=False)
class _Candidates:
    """Sampling candidates as columns: 8 bytes of key and a few of position per trace.

    ``cells`` holds each candidate's (stratum, group) cell as an index into ``cell_keys``.
    """

    keys: npt.NDArray[np.uint64]
    shards: npt.NDArray[np.int32]
    rows: npt.NDArray[np.int64]
    cells: npt.NDArray[np.int64]
    cell_keys: list[tuple[int, str]]
    trace_ids: list[str]

    @staticmethod
    def empty() -> _Candidates:
        return _Candidates(
            keys=np.zeros(0, dtype=np.uint64),
            shards=np.zeros(0, dtype=np.int32),
            rows=np.zeros(0, dtype=np.int64),
            cells=np.zeros(0, dtype=np.int64),
            cell_keys=[],
            trace_ids=[],
        )

    def merged(
        self, other: _Candidates, size: int, threshold: int = _NO_THRESHOLD, floor: int = 0
    ) -> _Candidates:
        """Both sets, keeping per cell the ``size`` smallest ``(key, shard, row)`` at most,
        and of those only the ``floor`` smallest plus any whose key is below ``threshold``."""
        index = {cell: i for i, cell in enumerate(self.cell_keys)}
        cell_keys = list(self.cell_keys)
        for cell in other.cell_keys:
            if cell not in index:
                index[cell] = len(cell_keys)
                cell_keys.append(cell)
        remap = np.array([index[c] for c in other.cell_keys], dtype=np.int64)
        keys = np.concatenate([self.keys, other.keys])
        shards = np.concatenate([self.shards, other.shards])
        rows = np.concatenate([self.rows, other.rows])
        cells = np.concatenate(
            [self.cells, remap[other.cells] if other.cells.size else other.cells]
        )
        order = np.lexsort((rows, shards, keys, cells))
        sorted_cells = cells[order]
        starts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
        rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
        below = (
            keys[order] < np.uint64(threshold)
            if threshold < _NO_THRESHOLD
            else np.ones(order.size, dtype=bool)
        )
        keep = np.sort(order[(rank < size) & ((rank < floor) | below)])
        ids = self.trace_ids + other.trace_ids
        return _Candidates(
            keys=keys[keep],
            shards=shards[keep],
            rows=rows[keep],
            cells=cells[keep],
            cell_keys=cell_keys,
            trace_ids=[ids[i] for i in keep.tolist()],
        )


@attrs.frozen
class _ShardSummary:
    """What one shard sends back: cell populations and each cell's sampling candidates."""

    cells: dict[tuple[int, str], int]
    candidates: _Candidates


@attrs.frozen
class _SummariseShard:
    """Worker side: read, scrub, embed and assign one shard; keep counts and candidates.

    Per (stratum, group) cell only the ``size`` traces with the smallest sampling keys can
    be drawn (a sample never takes more than ``size`` from one cell), so that is all a
    worker returns: the driver's memory does not grow with the shard.
    """

    scrubber: Scrubber
    embedder: Embedder
    view: TraceView
    strata: Any
    size: int
    seed: int
    cap_key: str | None
    lenient: bool
    window: timedelta | None
    now: datetime | None
    batch: int = 2048
    threshold: int = _NO_THRESHOLD
    floor: int = 0

    def __call__(self, job: tuple[int, str]) -> _ShardSummary:
        shard, path = job
        cells: dict[tuple[int, str], int] = defaultdict(int)
        heaps: dict[tuple[int, str], list[tuple[int, int, str]]] = defaultdict(list)
        start = 0
        for batch in _scrubbed_batches(
            _open(path, self.lenient, self.window, self.now), self.scrubber, self.batch
        ):
            vectors = embed_traces(self.embedder, batch, view=self.view)
            labels = np.asarray(self.strata.assign(vectors), dtype=np.int64).tolist()
            keys = _hash_keys([t.id for t in batch], self.seed).tolist()
            for offset, (trace, label, key) in enumerate(zip(batch, labels, keys, strict=True)):
                group = "" if self.cap_key is None else str(trace.metadata.get(self.cap_key, ""))
                cell = (int(label), group)
                cells[cell] += 1
                heap = heaps[cell]
                item = (-int(key), -(start + offset), trace.id)  # max-heap: drop the largest
                if len(heap) < self.size:
                    heapq.heappush(heap, item)
                elif item > heap[0]:
                    heapq.heapreplace(heap, item)
            start += len(batch)
        cell_keys = list(heaps)
        flat = [(i, k, r, tid) for i, cell in enumerate(cell_keys) for k, r, tid in heaps[cell]]
        candidates = _Candidates(
            keys=np.array([-k for _, k, _, _ in flat], dtype=np.uint64),
            shards=np.full(len(flat), shard, dtype=np.int32),
            rows=np.array([-r for _, _, r, _ in flat], dtype=np.int64),
            cells=np.array([i for i, _, _, _ in flat], dtype=np.int64),
            cell_keys=cell_keys,
            trace_ids=[tid for _, _, _, tid in flat],
        )
        candidates = _Candidates.empty().merged(candidates, self.size, self.threshold, self.floor)
        return _ShardSummary(cells=dict(cells), candidates=candidates)


@attrs.frozen
class _FetchShard:
    """Worker side: the traces at some rows of one shard, scrubbed unless ``scrubber`` is None
    (the fit sample, which the driver has scrubbed and embedded in chunks)."""

    scrubber: Scrubber | None
    lenient: bool
    window: timedelta | None
    now: datetime | None

    def __call__(self, job: tuple[str, frozenset[int]]) -> dict[int, Trace]:
        path, rows = job
        found: dict[int, Trace] = {}
        for row, trace in enumerate(_open(path, self.lenient, self.window, self.now)):
            if row in rows:
                found[row] = trace if self.scrubber is None else self.scrubber.scrub(trace)
                if len(found) == len(rows):
                    break
        return found


@attrs.frozen
class _ScrubEmbed:
    scrubber: Scrubber
    embedder: Embedder
    view: TraceView

    def __call__(self, traces: Sequence[Trace]) -> tuple[list[Trace], npt.NDArray[np.float32]]:
        scrubbed = _scrub_checked(self.scrubber, list(traces))
        return scrubbed, embed_traces(self.embedder, scrubbed, view=self.view)


@attrs.frozen(kw_only=True)
class ShardedWindow:
    """A sharded window, sampled without the driver ever holding all of it.

    .. versionadded:: 0.1.0
    """

    total: int
    """Traces in the window (all shards)."""
    strata: Strata
    """Strata fitted on the seeded fit sample."""
    fit_traces: tuple[Trace, ...]
    """The fit sample, scrubbed (stands for the window in cluster summaries and drift)."""
    fit_vectors: npt.NDArray[np.float32] = attrs.field(eq=False)
    """The fit sample's vectors."""
    populations: dict[int, int]
    """Traces per stratum over the whole window."""
    sample: Sample
    """The stratified sample (the one the whole window gives for the seed)."""
    sampled: tuple[Trace, ...]
    """The sampled traces, scrubbed, in sample order."""


_CANDIDATE_MARGIN = 16.0
_FLOOR_MARGIN = 8


def _gather_candidates(
    executor: Executor, summarise: _SummariseShard, paths: Sequence[str], size: int
) -> tuple[dict[tuple[int, str], int], _Candidates]:
    """Pass 2: every shard's cell populations, and the candidates folded wave by wave."""
    cells: dict[tuple[int, str], int] = defaultdict(int)
    pool = _Candidates.empty()
    for summary in _map_in_waves(executor, summarise, list(enumerate(paths))):
        for cell, count in summary.cells.items():
            cells[cell] += count
        pool = pool.merged(summary.candidates, size, summarise.threshold, summarise.floor)
    return dict(cells), pool


def sample_window(
    source: ShardedTraceSource,
    *,
    executor: Executor,
    scrubber: Scrubber,
    embedder: Embedder,
    stratifier: Stratifier,
    view: TraceView,
    size: int,
    seed: int,
    noise_weight: float,
    min_per_stratum: int,
    cap_key: str | None,
    max_group_share: float | None,
    fit_size: int = 20_000,
    chunk_size: int = 2048,
) -> ShardedWindow:
    """Fit, assign and sample a sharded window shard by shard (the pipeline's sharded path).

    1. Workers keep each shard's ``fit_size`` smallest seeded keys; the driver keeps the
       ``fit_size`` smallest overall (a uniform sample fixed by the seed), has them
       scrubbed and embedded in chunks, and fits the stratifier.
    2. Workers read, scrub, embed and assign their shard and return, per (stratum, group)
       cell, its population and its ``size`` traces with the smallest sampling keys.
    3. The driver draws the stratified sample from those candidates with the cell
       populations: the same sample the whole window gives for the seed.
    4. Workers return the sampled traces, scrubbed.

    The driver holds the fit sample, the candidates (at most ``size`` per cell) and the
    sample; never the window.
    """
    paths = [str(p) for p in source.shards]
    total, fit_raw = _fit_sample(executor, source, paths, fit_size, seed)
    if total == 0:
        raise ConfigError(
            f"the {len(paths)} shards hold no traces; check the files and the time window "
            f"(window={source.window})",
            field="source",
        )
    parts = executor.map(
        _ScrubEmbed(scrubber, embedder, view),
        [fit_raw[i : i + chunk_size] for i in range(0, len(fit_raw), chunk_size)],
    )
    del fit_raw
    fit_traces = tuple(t for part, _ in parts for t in part)
    fit_vectors = np.concatenate([v for _, v in parts], axis=0).astype(np.float32, copy=False)
    del parts
    strata = stratifier.fit(fit_vectors)

    cap = cap_key if max_group_share is not None else None
    summarise = _SummariseShard(
        scrubber,
        embedder,
        view,
        strata,
        size,
        seed,
        cap,
        source.lenient,
        source.window,
        source.now,
        batch=chunk_size,
    )
    # Keys are uniform hashes, so the sample reaches about ``size / total`` deep into a
    # cell (more for noise, floors and group caps): keep per cell the ``floor`` smallest
    # keys and any below a threshold with a wide margin. The driver then holds a bounded
    # number of candidates whatever the window's size. If the sample used up a cell's
    # candidates short of its population, the answer might differ from the whole
    # window's: draw again with a higher threshold (the last round keeps every cell's
    # ``size`` smallest, which is always exact).
    share = _CANDIDATE_MARGIN * size / max(1, total)
    while True:
        threshold = _NO_THRESHOLD if share >= 1.0 else int(share * _NO_THRESHOLD)
        floor = min_per_stratum + _FLOOR_MARGIN
        cells, pool = _gather_candidates(
            executor,
            attrs.evolve(summarise, threshold=threshold, floor=floor),
            paths,
            size,
        )
        # In window order (shard, row), as stratified_sample expects.
        order = np.lexsort((pool.rows, pool.shards))
        cell_of = pool.cells[order]
        labels = np.array([pool.cell_keys[c][0] for c in cell_of.tolist()], dtype=np.int64)
        groups = [pool.cell_keys[c][1] for c in cell_of.tolist()]
        candidate_ids = [pool.trace_ids[i] for i in order.tolist()]
        candidate_at = np.stack([pool.shards[order].astype(np.int64), pool.rows[order]], axis=1)
        held = np.bincount(cell_of, minlength=len(pool.cell_keys))
        cell_keys = pool.cell_keys
        del pool
        sample = stratified_sample(
            candidate_ids,
            labels,
            size=min(size, total),
            noise_weight=noise_weight,
            min_per_stratum=min_per_stratum,
            groups=groups if cap is not None else None,
            max_group_share=max_group_share if max_group_share is not None else 1.0,
            seed=seed,
            populations=dict(cells),
        )
        taken = np.bincount(cell_of[sample.indices], minlength=len(cell_keys))
        exhausted = [
            c
            for c, key in enumerate(cell_keys)
            if taken[c] >= held[c] and held[c] < min(cells[key], size)
        ]
        if not exhausted or threshold == _NO_THRESHOLD:
            break
        share *= 4.0
    picked = [(int(candidate_at[i, 0]), int(candidate_at[i, 1])) for i in sample.indices]
    sampled = _read_positions(executor, source, paths, picked, scrubber)
    populations: dict[int, int] = defaultdict(int)
    for (label, _), count in cells.items():
        populations[label] += count
    return ShardedWindow(
        total=total,
        strata=strata,
        fit_traces=fit_traces,
        fit_vectors=fit_vectors,
        populations=dict(populations),
        sample=sample,
        sampled=tuple(sampled),
    )
