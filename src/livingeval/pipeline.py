"""The living evaluation, end to end: the only module that composes the stages.

``source -> scrub -> embed -> stratify -> sample -> replay -> judge -> gate -> Results``

Every stage is a Protocol (:mod:`livingeval.protocols`): pass another implementation to
swap it. :func:`evaluate` is async; :func:`evaluate_sync` is its blocking twin and also
works inside a notebook's running event loop. A run is deterministic for a seed, and
resumable: with ``config.replay_cache`` and ``config.judge_cache`` set, a crashed run, run
again, pays only for what it had not yet received.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import orjson

from livingeval._progress import StageProgress
from livingeval._sync import run_sync
from livingeval.config import EvalConfig
from livingeval.embed import TraceView, default_embedder, embed_traces
from livingeval.errors import ConfigError
from livingeval.gate import FailureKindGate, default_gate
from livingeval.judge import StructuredJudge, judge_all
from livingeval.judge._pairwise import as_pairwise_item
from livingeval.protocols import (
    DistributedExecutor,
    Embedder,
    Executor,
    Gate,
    Judge,
    Responder,
    Scrubber,
    Stratifier,
    TraceSource,
)
from livingeval.records import (
    Candidate,
    ClusterSummary,
    GateDecision,
    GateInput,
    ItemResult,
    JudgeFailure,
    JudgeInput,
    ReplayFailure,
    Response,
    Results,
    Trace,
    Verdict,
)
from livingeval.replay import replay
from livingeval.scrub import default_scrubber, require_scrubbed, scrub_all
from livingeval.stratify import HDBSCANStratifier, stratified_sample

__all__ = [
    "EvalConfig",
    "InProcessExecutor",
    "evaluate",
    "evaluate_sync",
    "judge_path",
    "release_gate",
    "run_from_config",
]


class InProcessExecutor:
    """Run data-parallel stage work in this process (the default executor).

    Example:
        >>> InProcessExecutor().map(len, ["ab", "c"])
        [2, 1]
    """

    def map(self, fn: Callable[[Any], Any], chunks: Sequence[Any]) -> list[Any]:
        """``[fn(chunk) for chunk in chunks]``."""
        return [fn(chunk) for chunk in chunks]


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [items]


@attrs.frozen
class _ScrubChunk:
    """A picklable function object: scrub a chunk of traces and check the marks."""

    scrubber: Scrubber

    def __call__(self, traces: Sequence[Trace]) -> list[Trace]:
        out = scrub_all(self.scrubber, traces)  # the scrubber's batch path, if any
        for trace in out:
            require_scrubbed(trace)
        return out


@attrs.frozen
class _EmbedChunk:
    """A picklable function object: embed a chunk of traces with one view."""

    embedder: Embedder
    view: TraceView

    def __call__(self, traces: Sequence[Trace]) -> npt.NDArray[np.float32]:
        return embed_traces(self.embedder, traces, view=self.view)


def judge_path(candidate: Response, baseline: Response) -> str:
    """``structured`` when either answer calls tools or is a JSON document, else ``pairwise``."""
    if candidate.tool_calls or baseline.tool_calls:
        return "structured"
    text = baseline.text.lstrip()
    if text[:1] in ("{", "[") and _is_json(baseline.text):
        return "structured"
    return "pairwise"


def _is_json(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def _run_id(config: EvalConfig, trace_ids: Sequence[str]) -> str:
    digest = hashlib.blake2b(digest_size=8)
    digest.update(orjson.dumps(config.to_dict(), option=orjson.OPT_SORT_KEYS))
    for trace_id in trace_ids:
        digest.update(trace_id.encode())
    return digest.hexdigest()


def _weighted_mean(
    values: npt.NDArray[np.float64], weights: npt.NDArray[np.float64]
) -> float | None:
    total = float(weights.sum())
    return None if total <= 0 else float((values * weights).sum() / total)


def _children(decision: GateDecision) -> Iterable[GateDecision]:
    yield decision
    for child in getattr(decision, "children", ()):
        yield from _children(child)


def _cluster_metrics(decision: GateDecision) -> dict[int, Mapping[str, Any]]:
    for node in _children(decision):
        if node.gate == "cluster":
            rows = node.metrics.get("clusters", [])
            return {int(r["cluster"]): r for r in rows}
    return {}


@attrs.frozen(kw_only=True)
class _Sampled:
    trace: Trace
    cluster: int
    weight: float
    adversarial: bool


async def evaluate(
    source: TraceSource | Iterable[Trace],
    *,
    responder: Responder,
    text_judge: Judge | None,
    structured_judge: Judge | None = None,
    scrubber: Scrubber | None = None,
    embedder: Embedder | None = None,
    stratifier: Stratifier | None = None,
    gate: Gate | None = None,
    config: EvalConfig | None = None,
    adversarial: Sequence[Trace] = (),
    previous: TraceSource | Iterable[Trace] | None = None,
    cluster_namer: Callable[[Sequence[Trace]], str] | None = None,
    judge_label: str | None = None,
    progress: bool = True,
    executor: Executor | None = None,
    chunk_size: int = 2048,
) -> Results:
    """Run a living evaluation of ``responder`` (the candidate) against production.

    Args:
        source: The production window (already windowed by the source). A
            :class:`~livingeval.distributed.ShardedTraceSource` is never read whole: its
            shards are read, scrubbed, embedded and assigned by the executor's workers,
            the strata are fitted on a seeded sample of the window, and the driver keeps
            only per-cell counts and sampling candidates (see docs/scale.md).
        responder: The candidate model.
        text_judge: Judges free-text answers pairwise (e.g. a
            :class:`~livingeval.judge.PairwiseJudge`); ``None`` only when every sampled
            trace takes the structured path.
        structured_judge: Judges tool calls and JSON (default
            :class:`~livingeval.judge.StructuredJudge`).
        scrubber: Default :func:`~livingeval.scrub.default_scrubber`; skipping scrubbing
            must be explicit (``livingeval.scrub.no_scrubbing(reason=...)``).
        embedder: Default :func:`~livingeval.embed.default_embedder`.
        stratifier: Default ``HDBSCANStratifier(min_cluster_size=config.min_cluster_size)``.
        gate: Default :func:`~livingeval.gate.default_gate` with the config's thresholds.
        config: Run settings (sample size, seed, weights, thresholds ...).
        adversarial: The permanent adversarial slice, added to every evaluation.
        previous: The previous window, to measure drift against.
        cluster_namer: Names a cluster from its traces (default: top terms).
        judge_label: How reports name the free-text judge.
        progress: Show progress bars on stderr.
        executor: Where scrubbing and embedding run, in chunks of ``chunk_size`` traces
            (default: this process; ``livingeval.distributed.RayExecutor`` for a cluster).
            A :class:`~livingeval.protocols.DistributedExecutor` also runs replay and
            judge calls on its workers, with the judges' rate limit, budget and cache
            shared by all of them.
        chunk_size: Traces per chunk handed to the executor.

    Returns:
        The frozen :class:`~livingeval.records.Results`.

    Raises:
        ConfigError: the window is empty, or a free-text item needs a judge and none was given.
        UnscrubbedTraceError: the scrubber returned unmarked traces.
    """
    config = config or EvalConfig()
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(stage: str, since: float) -> float:
        now = time.perf_counter()
        timings[stage] = round(now - since, 3)
        return now

    executor = executor or InProcessExecutor()
    scrubber = scrubber if scrubber is not None else default_scrubber()
    scrub_chunk = _ScrubChunk(scrubber)
    embedder = embedder if embedder is not None else default_embedder()
    view = TraceView(config.embed_view)
    stratifier = stratifier or HDBSCANStratifier(
        min_cluster_size=config.min_cluster_size, seed=config.seed
    )
    t = time.perf_counter()
    window: _Window
    if _is_sharded(source):
        window = _sharded_window(
            source, executor, scrubber, embedder, stratifier, view, config, chunk_size
        )
        t = lap("read+scrub+embed+stratify+sample", t)
    else:
        window = _in_memory_window(
            source, executor, scrub_chunk, embedder, stratifier, view, config, chunk_size, lap
        )
        t = time.perf_counter()
        timings["sample"] = timings.get("sample", 0.0)
    strata = window.strata
    chosen = list(window.chosen)
    adversarial_scrubbed = scrub_chunk(list(adversarial))
    if adversarial_scrubbed:
        adv_vectors = embed_traces(embedder, adversarial_scrubbed, view=view)
        adv_labels = np.asarray(strata.assign(adv_vectors), dtype=np.int64)
        chosen += [
            _Sampled(trace=tr, cluster=int(cl), weight=1.0, adversarial=True)
            for tr, cl in zip(adversarial_scrubbed, adv_labels, strict=True)
        ]
    timings["sample"] = round(timings.get("sample", 0.0) + time.perf_counter() - t, 3)
    t = time.perf_counter()

    structured_judge = structured_judge or StructuredJudge()
    if isinstance(executor, DistributedExecutor):
        replayed, inputs, verdicts = _fan_out_on_workers(
            executor, chosen, responder, structured_judge, text_judge, config
        )
        t = lap("replay+judge", t)
    else:
        replayed = await replay(
            responder,
            [s.trace for s in chosen],
            concurrency=config.replay_concurrency,
            progress=StageProgress("replay", enabled=progress),
        )
        t = lap("replay", t)
        inputs = _judge_inputs(chosen, replayed, text_judge)
        verdicts = {}
        for path, phase, group in _judge_phases(inputs):
            judge = structured_judge if path == "structured" else text_judge
            assert judge is not None  # _judge_inputs checked
            bar = StageProgress(f"judge:{path[:6]}{'+' if phase else ''}", enabled=progress)

            def report(state: Any, bar: StageProgress = bar) -> None:
                bar(state.done, state.total)

            results = await judge_all(
                judge, group, concurrency=config.judge_concurrency, progress=report
            )
            for value in results:
                verdicts[value.item_id] = value
        t = lap("judge", t)

    items = _items(chosen, replayed, verdicts, inputs)
    gate_input = _gate_input(items)
    gate = gate or release_gate(config)
    decision = gate.decide(gate_input)
    t = lap("gate", t)

    drift: dict[str, Any] | None = None
    previous_shares: dict[int, float] = {}
    if previous is not None:
        drift, previous_shares = _drift(
            strata,
            stratifier,
            window.vectors,
            scrub_chunk(list(previous)),
            embedder,
            view,
            config,
        )
        t = lap("drift", t)
    clusters = _clusters(window, items, decision, previous_shares, cluster_namer)
    lap("report", t)

    statistics = _statistics(items, replayed, verdicts, window.total, timings, started)
    if judge_label is not None:
        statistics = {"judge": judge_label, **statistics}
    return Results(
        run_id=_run_id(config, [s.trace.id for s in chosen]),
        created_at=datetime.now(UTC),
        items=tuple(items),
        clusters=clusters,
        decision=decision,
        statistics=statistics,
        drift=drift,
        config=config.to_dict(),
    )


@attrs.frozen(kw_only=True)
class _Window:
    """The window as the later stages need it: strata, population and the sample."""

    total: int
    strata: Any
    vectors: npt.NDArray[np.float32] = attrs.field(eq=False)
    """Every trace's vector (sharded: the fit sample's), for drift."""
    members: Mapping[int, Sequence[Trace]]
    """Traces per cluster, for names and examples (sharded: the fit sample's)."""
    populations: Mapping[int, int]
    chosen: tuple[_Sampled, ...]


def _is_sharded(source: object) -> bool:
    from livingeval.distributed._shards import ShardedTraceSource

    return isinstance(source, ShardedTraceSource)


def _in_memory_window(
    source: TraceSource | Iterable[Trace],
    executor: Executor,
    scrub_chunk: _ScrubChunk,
    embedder: Embedder,
    stratifier: Stratifier,
    view: TraceView,
    config: EvalConfig,
    chunk_size: int,
    lap: Callable[[str, float], float],
) -> _Window:
    t = time.perf_counter()
    traces = list(source)
    if not traces:
        raise ConfigError(
            "the trace source yielded no traces; check the file and the time window "
            f"(window_days={config.window_days})",
            field="source",
        )
    t = lap("read", t)
    scrubbed = [
        tr for part in executor.map(scrub_chunk, _chunks(traces, chunk_size)) for tr in part
    ]
    t = lap("scrub", t)
    vectors = np.concatenate(
        executor.map(_EmbedChunk(embedder, view), _chunks(scrubbed, chunk_size)), axis=0
    ).astype(np.float32, copy=False)
    t = lap("embed", t)
    strata = stratifier.fit(vectors)
    labels = np.asarray(strata.labels, dtype=np.int64)
    t = lap("stratify", t)
    cap_key = config.cap_key
    groups = (
        [str(tr.metadata.get(cap_key, "")) for tr in scrubbed]
        if cap_key is not None and config.cap_share is not None
        else None
    )
    sample = stratified_sample(
        [tr.id for tr in scrubbed],
        labels,
        size=min(config.sample_size, len(scrubbed)),
        noise_weight=config.noise_weight,
        min_per_stratum=config.min_per_cluster,
        groups=groups,
        max_group_share=config.cap_share if config.cap_share is not None else 1.0,
        seed=config.seed,
    )
    chosen = tuple(
        _Sampled(trace=scrubbed[int(i)], cluster=int(cl), weight=float(w), adversarial=False)
        for i, cl, w in zip(sample.indices, sample.strata, sample.weights, strict=True)
    )
    members = {
        int(c): [scrubbed[int(i)] for i in np.flatnonzero(labels == c)]
        for c in sorted(set(labels.tolist()))
    }
    lap("sample", t)
    return _Window(
        total=len(traces),
        strata=strata,
        vectors=vectors,
        members=members,
        populations={c: len(m) for c, m in members.items()},
        chosen=chosen,
    )


def _sharded_window(
    source: Any,
    executor: Executor,
    scrubber: Scrubber,
    embedder: Embedder,
    stratifier: Stratifier,
    view: TraceView,
    config: EvalConfig,
    chunk_size: int,
) -> _Window:
    from livingeval.distributed._shards import sample_window

    window = sample_window(
        source,
        executor=executor,
        scrubber=scrubber,
        embedder=embedder,
        stratifier=stratifier,
        view=view,
        size=config.sample_size,
        seed=config.seed,
        noise_weight=config.noise_weight,
        min_per_stratum=config.min_per_cluster,
        cap_key=config.cap_key,
        max_group_share=config.cap_share,
        chunk_size=chunk_size,
    )
    fit_labels = np.asarray(window.strata.labels, dtype=np.int64)
    members: dict[int, list[Trace]] = {c: [] for c in sorted(window.populations)}
    for trace, label in zip(window.fit_traces, fit_labels.tolist(), strict=True):
        members.setdefault(int(label), []).append(trace)
    sample = window.sample
    return _Window(
        total=window.total,
        strata=window.strata,
        vectors=window.fit_vectors,
        members=members,
        populations=window.populations,
        chosen=tuple(
            _Sampled(trace=tr, cluster=int(cl), weight=float(w), adversarial=False)
            for tr, cl, w in zip(window.sampled, sample.strata, sample.weights, strict=True)
        ),
    )


def _judge_inputs(
    chosen: Sequence[_Sampled],
    replayed: Sequence[Candidate | ReplayFailure],
    text_judge: Judge | None,
) -> dict[str, list[JudgeInput]]:
    inputs: dict[str, list[JudgeInput]] = {"structured": [], "pairwise": []}
    for s, result in zip(chosen, replayed, strict=True):
        if isinstance(result, Candidate):
            path = judge_path(result.candidate, result.baseline)
            inputs[path].append(
                JudgeInput(
                    item_id=_item_id(s),
                    messages=s.trace.messages,
                    candidate=result.candidate,
                    baseline=result.baseline,
                    tools=s.trace.tools,
                    metadata=s.trace.metadata,
                )
            )
    if inputs["pairwise"] and text_judge is None:
        raise ConfigError(
            f"{len(inputs['pairwise'])} sampled items have free-text answers but no text_judge "
            "was given; pass e.g. text_judge=PairwiseJudge(OpenAICompatibleJudge(...))",
            field="text_judge",
        )
    return inputs


def _judge_phases(
    inputs: Mapping[str, Sequence[JudgeInput]],
) -> list[tuple[str, int, list[JudgeInput]]]:
    """The judge calls in order: structured items; free-text items whose comparison comes
    first; then the repeats of a comparison already made.

    Repeats (the same prompt and answers, frequent in production) go last, so they find
    the first one's votes in the judgment cache whatever the concurrency or executor: a
    run pays for a comparison once and gives the same verdicts wherever it runs.
    """
    phases: list[tuple[str, int, list[JudgeInput]]] = []
    if inputs["structured"]:
        phases.append(("structured", 0, list(inputs["structured"])))
    first: list[JudgeInput] = []
    repeats: list[JudgeInput] = []
    seen: set[tuple[str, str, str]] = set()
    for item in inputs["pairwise"]:
        pair = as_pairwise_item(item)
        key = (pair.prompt, pair.candidate, pair.baseline)
        (repeats if key in seen else first).append(item)
        seen.add(key)
    phases += [("pairwise", phase, group) for phase, group in ((0, first), (1, repeats)) if group]
    return phases


def _split(items: Sequence[Any], parts: int) -> list[Sequence[Any]]:
    """``items`` in at most ``parts`` contiguous chunks of near-equal size."""
    parts = max(1, min(parts, len(items)))
    size = math.ceil(len(items) / parts) if items else 1
    return [items[i : i + size] for i in range(0, len(items), size)]


@attrs.frozen
class _ReplayChunk:
    """A picklable function object: replay a chunk of traces (in a worker's own loop)."""

    responder: Responder
    concurrency: int

    def __call__(self, traces: Sequence[Trace]) -> list[Candidate | ReplayFailure]:
        import anyio

        async def run() -> list[Candidate | ReplayFailure]:
            return await replay(self.responder, traces, concurrency=self.concurrency)

        return anyio.run(run)


@attrs.frozen
class _JudgeChunk:
    """A picklable function object: judge a chunk of items (in a worker's own loop)."""

    judge: Judge
    concurrency: int

    def __call__(self, items: Sequence[JudgeInput]) -> list[Verdict | JudgeFailure]:
        import anyio

        async def run() -> list[Verdict | JudgeFailure]:
            return await judge_all(self.judge, items, concurrency=self.concurrency)

        return anyio.run(run)


def _fan_out_on_workers(
    executor: DistributedExecutor,
    chosen: Sequence[_Sampled],
    responder: Responder,
    structured_judge: Judge,
    text_judge: Judge | None,
    config: EvalConfig,
) -> tuple[
    list[Candidate | ReplayFailure],
    dict[str, list[JudgeInput]],
    dict[str, Verdict | JudgeFailure],
]:
    """Replay and judge calls fanned out from the workers, one chunk of the sample each.

    The judges are shared (:meth:`DistributedExecutor.share`): one rate limit, budget and
    judgment cache for every worker, so a task rerun after a worker died pays only for the
    calls that were in flight.
    """
    from contextlib import ExitStack

    parts = executor.parallelism
    with executor.share(responder) as shared_responder:
        replayed = [
            r
            for part in executor.map(
                _ReplayChunk(shared_responder, config.replay_concurrency),
                _split([s.trace for s in chosen], parts),
            )
            for r in part
        ]
    inputs = _judge_inputs(chosen, replayed, text_judge)
    verdicts: dict[str, Verdict | JudgeFailure] = {}
    phases = _judge_phases(inputs)
    if not phases:
        return replayed, inputs, verdicts
    with ExitStack() as stack:
        judges: dict[str, Judge] = {
            "structured": stack.enter_context(executor.share(structured_judge))
        }
        if text_judge is not None and inputs["pairwise"]:
            judges["pairwise"] = stack.enter_context(executor.share(text_judge))
        for path, _, group in phases:
            for part in executor.map(
                _JudgeChunk(judges[path], config.judge_concurrency), _split(group, parts)
            ):
                for value in part:
                    verdicts[value.item_id] = value
    return replayed, inputs, verdicts


def release_gate(config: EvalConfig | None = None) -> Gate:
    """The gate a living evaluation uses unless told otherwise.

    :func:`~livingeval.gate.default_gate` (weighted delta, per cluster, adversarial floor)
    with the config's thresholds, and a failure-kind gate: no structured failure kind
    (``malformed_arguments`` ...) may credibly rise against the baseline.
    """
    config = config or EvalConfig()
    return default_gate(
        margin=config.max_regression,
        adversarial_floor=config.adversarial_floor,
        adversarial_weight=config.adversarial_weight,
        seed=config.seed,
    ) & FailureKindGate(adversarial_weight=config.adversarial_weight)


def _item_id(sampled: _Sampled) -> str:
    return ("adv:" if sampled.adversarial else "") + sampled.trace.id


def _items(
    chosen: Sequence[_Sampled],
    replayed: Sequence[Candidate | ReplayFailure],
    verdicts: Mapping[str, Verdict | JudgeFailure],
    inputs: Mapping[str, Sequence[JudgeInput]],
) -> list[ItemResult]:
    paths = {item.item_id: path for path, group in inputs.items() for item in group}
    items = []
    for s, result in zip(chosen, replayed, strict=True):
        item_id = _item_id(s)
        common: dict[str, Any] = {
            "trace_id": s.trace.id,
            "cluster": s.cluster,
            "weight": s.weight,
            "adversarial": s.adversarial,
            "path": paths.get(item_id, "pairwise"),
        }
        if isinstance(result, ReplayFailure):
            items.append(
                ItemResult(
                    **common,
                    baseline=s.trace.response,
                    outcome="error",
                    error=f"replay failed: {result.error_type}: {result.cause}",
                )
            )
            continue
        verdict = verdicts.get(item_id)
        if verdict is None or isinstance(verdict, JudgeFailure):
            cause = "not judged" if verdict is None else f"{verdict.error_type}: {verdict.cause}"
            items.append(
                ItemResult(
                    **common,
                    candidate=result.candidate,
                    baseline=result.baseline,
                    outcome="error",
                    error=f"judge failed: {cause}",
                )
            )
            continue
        votes = verdict.details.get("votes", ())
        items.append(
            ItemResult(
                **common,
                candidate=result.candidate,
                baseline=result.baseline,
                candidate_score=verdict.candidate_score,
                baseline_score=verdict.baseline_score,
                outcome=verdict.outcome,
                confidence=verdict.confidence,
                discarded=verdict.discarded,
                failure_kinds=verdict.failure_kinds,
                baseline_failure_kinds=tuple(verdict.details.get("baseline_failure_kinds", ())),
                dimensions=dict(verdict.dimensions),
                votes=tuple(dict(v) for v in votes) if isinstance(votes, list | tuple) else (),
                judge_calls=verdict.judge_calls,
                cost_usd=verdict.cost_usd,
            )
        )
    return items


def _gate_input(items: Sequence[ItemResult]) -> GateInput:
    n = len(items)
    candidate = np.array(
        [i.candidate_score if i.candidate_score is not None else 0.0 for i in items]
    )
    baseline = np.array([i.baseline_score if i.baseline_score is not None else 0.0 for i in items])
    valid = np.array([i.judged for i in items], dtype=bool)
    kinds = sorted({k for i in items for k in (*i.failure_kinds, *i.baseline_failure_kinds)})
    failures = {k: np.array([k in i.failure_kinds for i in items], dtype=bool) for k in kinds}
    base_failures = {
        k: np.array([k in i.baseline_failure_kinds for i in items], dtype=bool) for k in kinds
    }
    return GateInput(
        candidate=candidate if n else np.zeros(0),
        baseline=baseline if n else np.zeros(0),
        weights=np.array([i.weight for i in items]),
        clusters=np.array([i.cluster for i in items], dtype=np.int64),
        adversarial=np.array([i.adversarial for i in items], dtype=bool),
        valid=valid,
        candidate_failures=failures,
        baseline_failures=base_failures,
    )


def _top_terms(texts: Sequence[str], k: int = 3) -> str:
    stop = {
        "the", "a", "an", "my", "i", "to", "is", "it", "in", "on", "for", "of", "me", "and",
        "you", "can", "how", "do", "what", "please", "this", "that", "with", "your", "be",
        "im", "i'm", "call", "from", "at", "when", "have", "has", "there", "any",
    }  # fmt: skip
    counts: Counter[str] = Counter()
    for text in texts:
        words = {w.strip(".,!?()'\"").lower() for w in text.split()}
        counts.update(w for w in words if len(w) > 2 and w not in stop and not w.startswith("<"))
    return " / ".join(w for w, _ in counts.most_common(k)) or "misc"


def _clusters(
    window: _Window,
    items: Sequence[ItemResult],
    decision: GateDecision,
    previous_shares: Mapping[int, float],
    namer: Callable[[Sequence[Trace]], str] | None,
) -> tuple[ClusterSummary, ...]:
    total = window.total
    metrics = _cluster_metrics(decision)
    summaries = []
    for cluster in sorted(window.populations):
        members = window.members.get(cluster, ())
        population = window.populations[cluster]
        judged = [i for i in items if i.cluster == cluster and i.judged and not i.adversarial]
        weights = np.array([i.weight for i in judged])
        cand = np.array([i.candidate_score or 0.0 for i in judged])
        base = np.array([i.baseline_score or 0.0 for i in judged])
        cm = _weighted_mean(cand, weights) if judged else None
        bm = _weighted_mean(base, weights) if judged else None
        row = metrics.get(cluster, {})
        delta = (
            row.get("delta")
            if row.get("delta") is not None
            else (None if cm is None or bm is None else cm - bm)
        )
        se = row.get("se")
        ci = (
            (delta - 1.96 * se, delta + 1.96 * se)
            if delta is not None and se is not None and math.isfinite(se)
            else (None, None)
        )
        failure_counts = Counter(k for i in judged for k in set(i.failure_kinds))
        if namer is not None and members:
            name = namer(members)
        else:
            name = _top_terms([m.last_user_text for m in members[:400]])
        summaries.append(
            ClusterSummary(
                cluster=cluster,
                name=name,
                population=population,
                share=population / total,
                sampled=len(judged),
                candidate_mean=cm,
                baseline_mean=bm,
                delta=delta,
                ci_low=ci[0],
                ci_high=ci[1],
                previous_share=previous_shares.get(cluster) if previous_shares else None,
                failure_counts=dict(failure_counts),
                examples=tuple(m.last_user_text[:160] for m in members[:3]),
                flagged=bool(row.get("regressed", False)),
                p_value=row.get("p"),
            )
        )
    summaries.sort(key=lambda c: -c.share)
    return tuple(summaries)


def _drift(
    strata: Any,
    stratifier: Stratifier,
    vectors: npt.NDArray[np.float32],
    previous: Sequence[Trace],
    embedder: Embedder,
    view: TraceView,
    config: EvalConfig,
) -> tuple[dict[str, Any], dict[int, float]]:
    """Drift from the previous window (reference) to this one, and shares per current cluster."""
    from livingeval.stratify import detect_drift

    if not previous:
        return {"alerts": ["the previous window is empty; no drift measured"]}, {}
    previous_vectors = embed_traces(embedder, previous, view=view)
    # Shares of the current clusters in the previous window, for the report's chart.
    assigned = np.asarray(strata.assign(previous_vectors), dtype=np.int64)
    ids, counts = np.unique(assigned, return_counts=True)
    shares = {int(i): float(c) / len(assigned) for i, c in zip(ids, counts, strict=True)}
    reference = stratifier.fit(previous_vectors)
    report = detect_drift(
        reference,  # type: ignore[arg-type]
        vectors,
        reference_vectors=previous_vectors,
        seed=config.seed,
    )
    summary: dict[str, Any] = {
        "reference_size": report.reference_size,
        "new_size": report.new_size,
        "js_divergence": report.js_divergence,
        "unassigned_share": report.unassigned_share,
        "reference_unassigned_share": report.reference_unassigned_share,
        "shifted": [
            {
                "cluster": c.cluster,
                "reference_share": c.reference_share,
                "new_share": c.new_share,
                "relative_change": c.relative_change,
                "p_value": c.p_value,
            }
            for c in report.shifts
            if c.alert
        ],
        "emerging": [
            {"share": e.share, "size": len(e.members)} for e in report.emerging if e.alert
        ],
        "alerts": list(report.alerts),
    }
    return summary, shares


def _statistics(
    items: Sequence[ItemResult],
    replayed: Sequence[Candidate | ReplayFailure],
    verdicts: Mapping[str, Verdict | JudgeFailure],
    traces_read: int,
    timings: Mapping[str, float],
    started: float,
) -> dict[str, Any]:
    failures = [v for v in verdicts.values() if isinstance(v, JudgeFailure)]
    pairwise = [i for i in items if i.path == "pairwise" and i.votes]
    flips = [
        float(v.details.get("swap_flip_rate", 0.0))
        for v in verdicts.values()
        if isinstance(v, Verdict) and v.kind == "pairwise"
    ]
    cache_hits = sum(
        int(v.details.get("cache_hits", 0)) for v in verdicts.values() if isinstance(v, Verdict)
    )
    return {
        "traces_read": traces_read,
        "items": len(items),
        "adversarial_items": sum(i.adversarial for i in items),
        "structured_items": sum(i.path == "structured" for i in items),
        "pairwise_items": len(pairwise),
        "replay_failures": sum(isinstance(r, ReplayFailure) for r in replayed),
        "judge_failures": len(failures),
        "judge_failure_causes": dict(Counter(f.error_type for f in failures)),
        "discarded": sum(i.discarded for i in items),
        "judge_calls": sum(i.judge_calls for i in items),
        "cache_hits": cache_hits,
        "swap_flip_rate": round(float(np.mean(flips)), 4) if flips else 0.0,
        "cost_usd": round(sum(i.cost_usd for i in items), 6),
        "seconds": dict(timings) | {"total": round(time.perf_counter() - started, 3)},
    }


def evaluate_sync(
    source: TraceSource | Iterable[Trace],
    *,
    responder: Responder,
    text_judge: Judge | None,
    **kwargs: Any,
) -> Results:
    """Blocking twin of :func:`evaluate` (works inside a notebook's running loop too).

    Takes the same arguments as :func:`evaluate`.
    """

    async def call() -> Results:
        return await evaluate(source, responder=responder, text_judge=text_judge, **kwargs)

    return run_sync(call)


def _environment(name: str) -> str:
    import os

    return os.environ.get(name, "")


def run_from_config(
    config: EvalConfig,
    *,
    out_dir: str | None = None,
    progress: bool = True,
    executor: Executor | None = None,
) -> Results:
    """Build every component from ``config``, run the evaluation, write the reports.

    This is what ``livingeval run CONFIG`` does. Secrets come from the environment
    variables the config names (``judge.api_key_env`` ...), never from the file.

    ``source.path`` may be a directory or a glob of JSONL shards (``traces/*.jsonl.gz``):
    they are then read shard by shard and never held whole (see docs/scale.md).

    Args:
        config: The run configuration (see :func:`livingeval.config.load_config`).
        out_dir: Overrides ``config.out_dir``.
        progress: Show progress bars.
        executor: Where the data-parallel stages run (default: this process).

    Returns:
        The results (also written as ``report.html``, ``report.md``, ``report.json`` and
        ``results.jsonl`` in the output folder).

    Raises:
        ConfigError: a required key is missing (named), e.g. ``source.path``.
    """
    import os
    from contextlib import ExitStack
    from datetime import timedelta

    from livingeval.adversarial import AdversarialSet
    from livingeval.embed import CachedEmbedder, HashingEmbedder
    from livingeval.judge import AnthropicJudge, OpenAICompatibleJudge, PairwiseJudge
    from livingeval.replay import CachedResponder, OpenAICompatibleResponder, RecordedResponder
    from livingeval.report import write_report
    from livingeval.scrub import (
        HmacTokens,
        Mask,
        Mode,
        Placeholders,
        PseudonymKey,
        Redact,
        no_scrubbing,
    )
    from livingeval.sources import JsonlTraceSource, OtlpJsonTraceSource

    if not config.source_path:
        raise ConfigError("set source.path to the trace file", field="source.path")
    now = datetime.fromisoformat(config.now) if config.now else None
    window = timedelta(days=config.window_days) if config.window_days else None
    source: TraceSource
    path = config.source_path
    if config.source_format != "otlp" and (os.path.isdir(path) or any(c in path for c in "*?[")):
        # A directory or glob of JSONL shards: read shard by shard, never whole.
        from livingeval.distributed import ShardedTraceSource

        source = ShardedTraceSource(path, lenient=config.lenient, window=window, now=now)
    else:
        source_cls = OtlpJsonTraceSource if config.source_format == "otlp" else JsonlTraceSource
        source = source_cls(path, lenient=config.lenient, window=window, now=now)

    if config.scrub_mode == "none":
        scrubber: Scrubber = no_scrubbing(reason="scrub.mode = 'none' in the run configuration")
    else:
        mode: Mode
        if config.scrub_mode == "hmac":
            mode = HmacTokens(key=PseudonymKey.from_env(config.hmac_key_env))
        elif config.scrub_mode == "redact":
            mode = Redact()
        elif config.scrub_mode == "mask":
            mode = Mask()
        else:
            mode = Placeholders()
        scrubber = default_scrubber(mode=mode, allow=config.scrub_allow)

    embedder: Embedder
    if config.embedder == "hashing":
        embedder = HashingEmbedder()
    elif config.embedder == "sentence-transformers":
        from livingeval.embed import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder(model=config.embed_model or "all-MiniLM-L6-v2")
    elif config.embedder == "openai":
        from livingeval.embed import OpenAIEmbedder

        embedder = OpenAIEmbedder(model=config.embed_model or "text-embedding-3-large")
    else:
        embedder = default_embedder()
    if config.embed_cache:
        embedder = CachedEmbedder(embedder, path=config.embed_cache)

    responder: Responder
    if config.candidate_kind == "recorded":
        if not config.candidate_path:
            raise ConfigError(
                "candidate.kind = 'recorded' needs candidate.path", field="candidate.path"
            )
        responder = RecordedResponder(config.candidate_path)
    else:
        if not config.candidate_model:
            raise ConfigError("set candidate.model", field="candidate.model")
        responder = OpenAICompatibleResponder(
            model=config.candidate_model,
            base_url=config.candidate_base_url,
            api_key=_environment(config.candidate_api_key_env),
            concurrency=config.replay_concurrency,
        )
    if config.replay_cache:
        responder = CachedResponder(
            responder,
            config.replay_cache,
            responder_id=f"{config.candidate_kind}:{config.candidate_model or config.candidate_path}",
        )

    adversarial: Sequence[Trace] = ()
    if config.adversarial_path:
        adversarial = (
            AdversarialSet(path=config.adversarial_path, weight=config.adversarial_weight)
            .load()
            .traces
        )

    out = out_dir or config.out_dir
    with ExitStack() as stack:
        label = None
        model: Any
        if config.judge_kind == "offline":
            from livingeval.demo import OFFLINE_JUDGE_LABEL, offline_judge_rule
            from livingeval.testing import LoopbackServer

            server = stack.enter_context(LoopbackServer(rule=offline_judge_rule(seed=config.seed)))
            model = OpenAICompatibleJudge(
                base_url=server.url, model="offline-heuristic", api_key=""
            )
            label = OFFLINE_JUDGE_LABEL
        elif config.judge_kind == "anthropic":
            model = AnthropicJudge(
                model=config.judge_model or "claude-3-5-haiku-latest",
                base_url=config.judge_base_url,
                api_key=_environment(config.judge_api_key_env or "ANTHROPIC_API_KEY"),
            )
        else:
            model = OpenAICompatibleJudge(
                model=config.judge_model or "gpt-4o-mini",
                base_url=config.judge_base_url,
                api_key=_environment(config.judge_api_key_env),
            )
        judge = PairwiseJudge(
            model,
            runs=config.judge_runs,
            temperature=config.judge_temperature,
            min_confidence=config.judge_min_confidence,
            concurrency=config.judge_concurrency,
            cache_path=config.judge_cache,
            budget_usd=config.budget_usd,
            candidate_model=config.candidate_model,
        )
        results = evaluate_sync(
            source,
            responder=responder,
            text_judge=judge,
            scrubber=scrubber,
            embedder=embedder,
            config=config,
            adversarial=adversarial,
            judge_label=label or str(getattr(model, "identity", model)),
            progress=progress,
            executor=executor,
        )
    write_report(results, out)
    return results
