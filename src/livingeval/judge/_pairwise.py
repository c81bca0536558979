"""The pairwise protocol: both orders per run, k runs, majority with confidence, early stop.

A *run* asks the same comparison twice, once with the candidate shown first and once with
the baseline shown first. When the two orders disagree the run is a tie ("no signal"),
never a win. The verdict is the majority over runs; its confidence is the share of runs
that agree with it; under ``min_confidence`` it is *discarded* (neither a win nor a loss).

Early stopping asks runs in batches and stops as soon as no outcome of the remaining runs
could change the verdict or its discarded flag, so it gives exactly the full protocol's
verdict with fewer calls. Batches are fixed run indices decided only after the whole batch
completed, so results never depend on the order calls complete in.
"""

from __future__ import annotations

import contextvars
import functools
import time
import warnings
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Protocol

import anyio
import anyio.abc
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream

from livingeval._http import on_backoff
from livingeval._sync import run_sync, stream_sync
from livingeval.errors import BudgetExceededError, ConfigError, LivingEvalWarning
from livingeval.judge._cache import (
    FLUSH_ROWS,
    FLUSH_SECONDS,
    CachedVote,
    JudgmentCache,
    VoteRow,
    content_digests,
    key_from_digests,
    key_prefix,
)
from livingeval.judge._fanout import Progress, failure_from, unwrap_single_group
from livingeval.judge._llm import ChatModel, ChatRequest, ChatSession
from livingeval.judge._prompt import DEFAULT_PAIRWISE_TEMPLATE, Choice, PromptTemplate, parse_choice
from livingeval.judge._routing import model_family, models_of
from livingeval.records import JudgeFailure, JudgeInput, Response, Verdict

__all__ = [
    "ORDERS",
    "Order",
    "PairwiseItem",
    "PairwiseJudge",
    "PairwiseResult",
    "PairwiseSummary",
    "Vote",
    "Winner",
    "aggregate",
    "as_pairwise_item",
    "render_response",
    "run_outcome",
    "runs_to_launch",
    "settle",
    "summarize",
]

Winner = Literal["candidate", "baseline", "tie"]
"""A verdict or a run outcome."""
Order = Literal["candidate_first", "baseline_first"]
"""Which answer was shown first (as ``A``)."""
ORDERS: tuple[Order, Order] = ("candidate_first", "baseline_first")
"""Both orders, in the order they are asked."""


@attrs.frozen(kw_only=True)
class PairwiseItem:
    """One comparison: a prompt and two answers to it.

    Example:
        >>> PairwiseItem(id="1", prompt="2+2?", candidate="4", baseline="5").id
        '1'

    .. versionadded:: 0.1.0
    """

    id: str
    """The item's id (usually the trace id)."""
    prompt: str
    """What both answers respond to."""
    candidate: str
    """The candidate model's answer, shown verbatim."""
    baseline: str
    """The baseline's answer, shown verbatim."""
    stratum: str | int | None = None
    """The item's stratum (cluster), for cost per stratum."""

    def __attrs_post_init__(self) -> None:
        for name in ("id", "prompt", "candidate", "baseline"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ConfigError(
                    f"PairwiseItem(id={self.id!r}).{name} must be a string, got "
                    f"{type(value).__name__} ({value!r:.60}); convert answers to text first "
                    "(e.g. str(value), or orjson.dumps(value).decode() for JSON)",
                    field=name,
                )


@attrs.frozen(kw_only=True)
class Vote:
    """One judge call: which order was shown, what the judge chose, what it cost.

    .. versionadded:: 0.1.0
    """

    run: int
    """0-based run index (the vote index in the cache key)."""
    order: Order
    """``candidate_first`` (candidate shown as ``A``) or ``baseline_first``."""
    choice: Choice | None
    """The parsed choice (``A``, ``B``, ``tie``), ``None`` when the reply held none."""
    winner: Winner | None
    """The choice mapped back to the answers; ``None`` for an invalid reply."""
    reply: str
    """The raw reply text."""
    cached: bool
    """Whether the vote came from the cache (then it cost nothing this time)."""
    served_by: str
    """``provider:model`` that answered."""
    calls: int = 0
    """Model calls made for this vote now (0 cached, 2 when an invalid reply was re-asked)."""
    input_tokens: int = 0
    """Prompt tokens paid now."""
    output_tokens: int = 0
    """Completion tokens paid now."""
    cost_usd: float = 0.0
    """USD paid now."""
    attempts: int = 0
    """HTTP attempts (retries included) made now."""


def run_outcome(first: Winner | None, second: Winner | None) -> Winner:
    """A run's outcome from its two orders' winners: agreement wins, anything else is a tie.

    Example:
        >>> run_outcome("candidate", "candidate"), run_outcome("candidate", "baseline")
        ('candidate', 'tie')
    """
    if first is not None and first == second:
        return first
    return "tie"


def aggregate(
    outcomes: Sequence[Winner], *, runs: int, min_confidence: float
) -> tuple[Winner, float, bool]:
    """``(verdict, confidence, discarded)`` of a complete set of run outcomes.

    The verdict is the most frequent outcome (a tie between leaders is a ``tie``);
    confidence is its count over ``runs``; ``discarded`` when under ``min_confidence``.
    Order-invariant: only the counts matter.

    Example:
        >>> aggregate(["candidate", "candidate", "tie"], runs=3, min_confidence=0.66)
        ('candidate', 0.6666666666666666, False)
    """
    counts = Counter(outcomes)
    top = max(counts.values(), default=0)
    leaders = [w for w in ("candidate", "baseline", "tie") if counts.get(w, 0) == top]
    verdict: Winner = leaders[0] if len(leaders) == 1 else "tie"  # type: ignore[assignment]
    confidence = top / runs if runs else 0.0
    return verdict, confidence, confidence < min_confidence


def _fill(c: int, b: int, t: int) -> list[Winner]:
    filled: list[Winner] = []
    filled += ["candidate"] * c
    filled += ["baseline"] * b
    filled += ["tie"] * t
    return filled


def _completions(remaining: int) -> Iterable[tuple[int, int, int]]:
    for c in range(remaining + 1):
        for b in range(remaining - c + 1):
            yield c, b, remaining - c - b


def settle(
    outcomes: Sequence[Winner], *, runs: int, min_confidence: float
) -> tuple[Winner, float, bool] | None:
    """The final ``(verdict, confidence, discarded)`` if the remaining runs cannot change it.

    Returns ``None`` while some outcome of the remaining runs could change the verdict or
    the discarded flag. When settled early, ``confidence`` is the lowest the full protocol
    could report (a lower bound).

    Example:
        >>> settle(["candidate", "candidate"], runs=3, min_confidence=0.66)
        ('candidate', 0.6666666666666666, False)
        >>> settle(["candidate", "baseline"], runs=3, min_confidence=0.66) is None
        True
    """
    counts = Counter(outcomes)
    return _settle_counts(
        counts["candidate"], counts["baseline"], counts["tie"], runs, min_confidence
    )


@functools.lru_cache(maxsize=4096)
def _settle_counts(
    c0: int, b0: int, t0: int, runs: int, min_confidence: float
) -> tuple[Winner, float, bool] | None:
    base = _fill(c0, b0, t0)
    remaining = runs - len(base)
    if remaining <= 0:
        return aggregate(base, runs=runs, min_confidence=min_confidence)
    seen: set[tuple[Winner, bool]] = set()
    lowest = 1.0
    for c, b, t in _completions(remaining):
        full = base + _fill(c, b, t)
        verdict, confidence, discarded = aggregate(full, runs=runs, min_confidence=min_confidence)
        seen.add((verdict, discarded))
        if len(seen) > 1:
            return None
        lowest = min(lowest, confidence)
    ((verdict, discarded),) = seen
    return verdict, lowest, discarded


def runs_to_launch(outcomes: Sequence[Winner], *, runs: int, min_confidence: float) -> int:
    """The fewest further runs after which the protocol *could* settle (the next batch size).

    Example:
        >>> runs_to_launch([], runs=3, min_confidence=0.66)
        2
        >>> runs_to_launch(["candidate", "baseline"], runs=3, min_confidence=0.66)
        1
    """
    counts = Counter(outcomes)
    return _launch_counts(
        counts["candidate"], counts["baseline"], counts["tie"], runs, min_confidence
    )


@functools.lru_cache(maxsize=4096)
def _launch_counts(c0: int, b0: int, t0: int, runs: int, min_confidence: float) -> int:
    remaining = runs - (c0 + b0 + t0)
    for k in range(1, remaining + 1):
        for c, b, t in _completions(k):
            if _settle_counts(c0 + c, b0 + b, t0 + t, runs, min_confidence) is not None:
                return k
    return remaining


def as_pairwise_item(item: JudgeInput) -> PairwiseItem:
    """The comparison a :class:`~livingeval.records.JudgeInput` asks for.

    The prompt is the last user message; answers are rendered with :func:`render_response`;
    ``metadata["stratum"]`` becomes the stratum.
    """
    return PairwiseItem(
        id=item.item_id,
        prompt=item.prompt_text,
        candidate=render_response(item.candidate),
        baseline=render_response(item.baseline),
        stratum=item.metadata.get("stratum") if item.metadata else None,
    )


def render_response(response: Response) -> str:
    """An answer as the judge sees it: its text, plus any tool calls as JSON lines."""
    parts = [response.content] if response.content else []
    for call in response.tool_calls:
        parts.append(f'tool call: {{"name": "{call.name}", "arguments": {call.arguments}}}')
    return "\n".join(parts)


@attrs.frozen(kw_only=True)
class PairwiseResult:
    """The protocol's result for one item, with every per-order vote.

    .. versionadded:: 0.1.0
    """

    item_id: str
    """The item's id."""
    verdict: Winner
    """``candidate``, ``baseline`` or ``tie`` (also ``tie`` for a failed item)."""
    confidence: float
    """Agreeing runs / runs (a lower bound when stopped early)."""
    discarded: bool
    """Under ``min_confidence`` (or failed): counts as neither a win nor a loss."""
    votes: tuple[Vote, ...]
    """Every per-order vote, sorted by run then order."""
    failure: JudgeFailure | None = None
    """``None`` when judged, else why not."""
    runs: int = 0
    """Runs completed."""
    planned_runs: int = 0
    """Runs the full protocol asks."""
    template_hash: str = ""
    """Hash of the prompt template used."""
    judge: str = ""
    """Identity of the judge model (``provider:model``)."""
    stratum: str | int | None = None
    """The item's stratum."""

    @property
    def early_stopped(self) -> bool:
        """Whether fewer runs than planned were needed."""
        return self.failure is None and self.runs < self.planned_runs

    @property
    def swap_flips(self) -> int:
        """Runs whose two orders gave different (valid) winners."""
        by_run: dict[int, list[Winner | None]] = {}
        for vote in self.votes:
            by_run.setdefault(vote.run, []).append(vote.winner)
        return sum(
            1
            for winners in by_run.values()
            if len(winners) == 2 and None not in winners and winners[0] != winners[1]
        )

    @property
    def swap_flip_rate(self) -> float:
        """Share of completed runs whose orders disagreed."""
        return self.swap_flips / self.runs if self.runs else 0.0

    @property
    def judge_calls(self) -> int:
        """Model calls made for this item now (cache hits excluded)."""
        return sum(v.calls for v in self.votes)

    @property
    def cache_hits(self) -> int:
        """Votes answered from the cache."""
        return sum(v.cached for v in self.votes)

    @property
    def cost_usd(self) -> float:
        """USD paid for this item now."""
        return sum(v.cost_usd for v in self.votes)

    def to_verdict(self) -> Verdict:
        """This result as a :class:`~livingeval.records.Verdict` (1/0, 0/1 or 0.5/0.5)."""
        scores = {"candidate": (1.0, 0.0), "baseline": (0.0, 1.0), "tie": (0.5, 0.5)}
        candidate_score, baseline_score = scores[self.verdict]
        return Verdict(
            item_id=self.item_id,
            kind="pairwise",
            candidate_score=candidate_score,
            baseline_score=baseline_score,
            outcome=self.verdict,
            confidence=self.confidence,
            discarded=self.discarded,
            judge_calls=self.judge_calls,
            cost_usd=self.cost_usd,
            details={
                "votes": [
                    {
                        "run": v.run,
                        "order": v.order,
                        "choice": v.choice,
                        "winner": v.winner,
                        "cached": v.cached,
                        "served_by": v.served_by,
                    }
                    for v in self.votes
                ],
                "runs": self.runs,
                "planned_runs": self.planned_runs,
                "swap_flip_rate": self.swap_flip_rate,
                "template_hash": self.template_hash,
                "judge": self.judge,
                "cache_hits": self.cache_hits,
            },
        )


@attrs.frozen(kw_only=True)
class PairwiseSummary:
    """Totals over a set of results: outcomes, failures by cause, calls, cache, cost.

    .. versionadded:: 0.1.0
    """

    items: int
    """Results summarised."""
    judged: int
    """Items with a verdict."""
    failed: int
    """Items that failed."""
    failures_by_type: Mapping[str, int] = attrs.field(hash=False)
    """Failed items per error type."""
    wins: int
    """Kept verdicts for the candidate."""
    losses: int
    """Kept verdicts for the baseline."""
    ties: int
    """Kept tie verdicts."""
    discarded: int
    """Judged items discarded as too unsure."""
    judge_calls: int
    """Model calls made."""
    cache_hits: int
    """Votes answered from the cache."""
    retries: int
    """HTTP attempts beyond the first."""
    cost_usd: float
    """USD paid."""
    cost_by_stratum: Mapping[str | int | None, float] = attrs.field(hash=False)
    """USD paid per stratum."""
    swap_flip_rate: float
    """Share of completed runs whose two orders disagreed."""
    served_by: Mapping[str, int] = attrs.field(hash=False)
    """Calls per serving ``provider:model``."""


def summarize(results: Iterable[PairwiseResult]) -> PairwiseSummary:
    """Totals over ``results`` (a pure function).

    Example:
        >>> summarize([]).items
        0
    """
    items = list(results)
    outcomes: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    served: Counter[str] = Counter()
    by_stratum: dict[str | int | None, float] = {}
    runs = flips = calls = hits = retries = 0
    cost = 0.0
    for r in items:
        if r.failure is not None:
            failures[r.failure.error_type] += 1
        elif r.discarded:
            outcomes["discarded"] += 1
        else:
            outcomes[r.verdict] += 1
        runs += r.runs
        flips += r.swap_flips
        for v in r.votes:
            calls += v.calls
            hits += v.cached
            retries += max(0, v.attempts - v.calls)
            cost += v.cost_usd
            if v.calls:
                served[v.served_by] += v.calls
        by_stratum[r.stratum] = by_stratum.get(r.stratum, 0.0) + r.cost_usd
    return PairwiseSummary(
        items=len(items),
        judged=len(items) - sum(failures.values()),
        failed=sum(failures.values()),
        failures_by_type=dict(failures),
        wins=outcomes["candidate"],
        losses=outcomes["baseline"],
        ties=outcomes["tie"],
        discarded=outcomes["discarded"],
        judge_calls=calls,
        cache_hits=hits,
        retries=retries,
        cost_usd=cost,
        cost_by_stratum=by_stratum,
        swap_flip_rate=flips / runs if runs else 0.0,
        served_by=dict(served),
    )


class VoteStore(Protocol):
    """**Protocol:** where votes are cached: a :class:`JudgmentCache`, or a stand-in for one
    shared by every worker of a cluster (``livingeval.distributed``).

    Finished votes are written in batches of up to ``FLUSH_ROWS`` or every ``FLUSH_SECONDS``;
    a store with an integer ``batch_rows`` attribute caps the batch at that many rows.
    """

    def get_many(self, keys: Sequence[str]) -> Mapping[str, CachedVote]:
        """The stored votes among ``keys``."""
        ...

    def put_rows(self, rows: Sequence[VoteRow]) -> None:
        """Store finished votes (ready-made rows) durably, all in one go, before returning."""
        ...


class _Active:
    """The live state of an open :meth:`PairwiseJudge.session`.

    Finished votes wait in ``rows`` and are committed in one transaction per batch
    (:meth:`flush`). A result whose votes are not committed yet waits in ``held`` until the
    batch holding them is committed, so no verdict is ever reported ahead of its votes.
    """

    def __init__(self, judge: PairwiseJudge, chat: ChatSession, cache: VoteStore | None) -> None:
        self.chat = chat
        self.cache = cache
        self.spent = 0.0
        self.identity = judge.model.identity
        self.template_hash = judge.template.hash
        self.key_prefix = key_prefix(
            judge=self.identity,
            template=self.template_hash,
            params={"temperature": judge.temperature, "max_tokens": judge.max_tokens},
        )
        self.rows: list[VoteRow] = []
        self.held: list[PairwiseResult] = []
        self.release: Callable[[PairwiseResult], None] | None = None
        # A store may ask for smaller batches (the cluster-wide store asks for 1, so a killed
        # worker loses only its calls in flight, never finished votes waiting for a commit).
        self.batch_rows: int = getattr(cache, "batch_rows", FLUSH_ROWS)

    def record(
        self, key: str, reply: str, input_tokens: int, output_tokens: int, cost: float, by: str
    ) -> None:
        """Queue a finished vote for the next commit (a full batch commits at once)."""
        rows = self.rows
        rows.append(
            (
                key,
                self.identity,
                self.template_hash,
                time.time(),
                reply,
                input_tokens,
                output_tokens,
                cost,
                by,
            )
        )
        if len(rows) >= self.batch_rows:
            self.flush()

    def report(self, result: PairwiseResult) -> None:
        """Hand ``result`` to ``release`` once its votes are committed."""
        assert self.release is not None
        if self.rows:
            self.held.append(result)
        else:
            self.release(result)

    def flush(self) -> None:
        """Commit the queued votes in one transaction, then release the held results."""
        rows, self.rows = self.rows, []
        if rows and self.cache is not None:
            self.cache.put_rows(rows)
        held, self.held = self.held, []
        release = self.release
        if release is not None:
            for result in held:
                release(result)

    async def flush_periodically(self) -> None:
        """Commit every :data:`FLUSH_SECONDS` until cancelled."""
        while True:
            await anyio.sleep(FLUSH_SECONDS)
            if self.rows or self.held:
                self.flush()


class _InFlight:
    """One item in flight: its vote keys, votes so far, run outcomes and the open batch."""

    __slots__ = (
        "batch_end",
        "counts",
        "error",
        "item",
        "keys",
        "outcomes",
        "pending",
        "requests",
        "settled",
        "votes",
    )

    def __init__(
        self,
        item: PairwiseItem,
        keys: dict[tuple[int, Order], str],
        stored: Mapping[str, CachedVote],
    ) -> None:
        self.item = item
        self.keys = keys
        self.votes: dict[tuple[int, Order], Vote] = {}
        for (run, order), key in keys.items():
            hit = stored.get(key)
            if hit is not None:
                choice = parse_choice(hit.reply)
                self.votes[(run, order)] = Vote(
                    run=run,
                    order=order,
                    choice=choice,
                    winner=None if choice is None else _WINNER[(order, choice)],
                    reply=hit.reply,
                    cached=True,
                    served_by=hit.served_by,
                )
        self.outcomes: list[Winner] = []
        self.counts = [0, 0, 0]  # candidate, baseline, tie among the outcomes
        self.batch_end = 0
        self.pending = 0
        self.error: Exception | None = None
        self.settled: tuple[Winner, float, bool] | None = None
        # One request per order, built on its first call: every run of an order sends the
        # same messages (the run index is in the cache key, not in the prompt).
        self.requests: dict[Order, ChatRequest] = {}


_Job = tuple[_InFlight, int, Order]
_OUTCOME_INDEX: dict[Winner, int] = {"candidate": 0, "baseline": 1, "tie": 2}


class _Scheduler:
    """The protocol over many items with one pool of long-lived workers and one call queue.

    Each worker makes one call at a time. It takes the next call from a single queue: the
    next batch of an item already started comes first, else the first batch of a new item
    (both orders of its first runs, asked in parallel). The calls on the wire therefore
    stay at ``concurrency`` with no task, cancel scope or stream per call or per item. When
    a call sleeps out a ``Retry-After`` or a backoff (its slot released, see
    :func:`~livingeval._http.on_backoff`), a spare worker takes the freed slot; surplus
    workers retire after their next call once the sleeper is back.

    Batches are decided only when all their calls are done, so results never depend on the
    order calls complete in.
    """

    def __init__(
        self,
        judge: PairwiseJudge,
        active: _Active,
        source: Iterator[_InFlight],
        emit: Callable[[PairwiseResult], None],
    ) -> None:
        self.judge = judge
        self.active = active
        self.source = source
        self.emit = emit
        self.jobs: deque[_Job] = deque()
        self.limit = judge.concurrency
        self.live = 0
        self.sleeping = 0
        self.group: anyio.abc.TaskGroup | None = None

    async def run(self, most_calls: int) -> None:
        """Work until every item is finished, with up to ``most_calls`` workers."""
        self.limit = max(1, min(self.judge.concurrency, most_calls))
        with on_backoff(self._on_backoff):
            async with anyio.create_task_group() as group:
                self.group = group
                for _ in range(self.limit):
                    self.live += 1
                    group.start_soon(self._work)
        self.group = None

    def _on_backoff(self, sleeping: bool) -> None:
        if not sleeping:
            self.sleeping -= 1
            return
        self.sleeping += 1
        if self.group is not None and self.live - self.sleeping < self.limit:
            self.live += 1
            self.group.start_soon(self._work)

    async def _work(self) -> None:
        jobs, judge, active = self.jobs, self.judge, self.active
        try:
            while True:
                job = jobs.popleft() if jobs else self._pull()
                if job is None:
                    return
                state, run, order = job
                if state.error is None:
                    slot = (run, order)
                    try:
                        request = state.requests.get(order)
                        if request is None:
                            request = state.requests[order] = judge._request(state.item, order)
                        state.votes[slot] = await judge._ask(
                            active, request, run, order, state.keys[slot]
                        )
                    except Exception as exc:  # a failed call is a value, not a crash
                        if state.error is None:
                            state.error = exc
                state.pending -= 1
                if state.pending == 0:
                    self._advance(state)
                if self.live - self.sleeping > self.limit:
                    return  # a spare whose sleeper is back
        finally:
            self.live -= 1

    def _pull(self) -> _Job | None:
        jobs = self.jobs
        while not jobs:
            state = next(self.source, None)
            if state is None:
                return None
            self._advance(state)  # a fully cached item finishes here, with no call
        return jobs.popleft()

    def _advance(self, state: _InFlight) -> None:
        """Fold the finished batch in; settle the item or queue its next batch."""
        judge = self.judge
        runs, floor, early = judge.runs, judge.min_confidence, judge.early_stopping
        votes, outcomes, counts = state.votes, state.outcomes, state.counts
        while state.error is None:
            for run in range(len(outcomes), state.batch_end):
                outcome = run_outcome(
                    votes[(run, "candidate_first")].winner, votes[(run, "baseline_first")].winner
                )
                outcomes.append(outcome)
                counts[_OUTCOME_INDEX[outcome]] += 1
            done = len(outcomes)
            if early or done == runs:
                state.settled = _settle_counts(counts[0], counts[1], counts[2], runs, floor)
                if state.settled is not None:
                    break
            batch = (
                _launch_counts(counts[0], counts[1], counts[2], runs, floor)
                if early
                else runs - done
            )
            state.batch_end = done + batch
            missing: list[_Job] = [
                (state, run, order)
                for run in range(done, done + batch)
                for order in ORDERS
                if (run, order) not in votes
            ]
            if missing:
                state.pending = len(missing)
                self.jobs.extendleft(reversed(missing))  # started items first
                return
        self.emit(judge._result(self.active, state))


def _vote_order(vote: Vote) -> tuple[int, bool]:
    return vote.run, vote.order != "candidate_first"


_ACTIVE: contextvars.ContextVar[Mapping[int, _Active]] = contextvars.ContextVar(
    "livingeval_pairwise_sessions", default=MappingProxyType({})
)

_READ_CHUNK = 128
"""Items whose cached votes are read in one query."""

_WINNER: dict[tuple[Order, Choice], Winner] = {
    ("candidate_first", "A"): "candidate",
    ("candidate_first", "B"): "baseline",
    ("baseline_first", "A"): "baseline",
    ("baseline_first", "B"): "candidate",
    ("candidate_first", "tie"): "tie",
    ("baseline_first", "tie"): "tie",
}


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value < 1:
        raise ConfigError(
            f"{attribute.name} must be >= 1; got {attribute.name}={value}", field=attribute.name
        )


def _unit(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(
            f"{attribute.name} must be in [0, 1]; got {attribute.name}={value}",
            field=attribute.name,
        )


@attrs.frozen
class PairwiseJudge:
    """Swap-order pairwise judging with k runs, consensus, early stopping and a vote cache.

    Frozen configuration: calling :meth:`compare` (or :meth:`judge`) opens the HTTP session
    and the cache in the running loop and closes them after. It satisfies
    :class:`~livingeval.protocols.Judge` through :meth:`judge`.

    Args:
        model: The judge model (:class:`OpenAICompatibleJudge`, :class:`AnthropicJudge`,
            :class:`RoutedJudge` or any :class:`ChatModel`).
        runs: Runs per item; each run asks both orders.
        temperature: Sampling temperature of every call.
        min_confidence: Verdicts under this share of agreeing runs are discarded.
        concurrency: Calls on the wire at once (the number of fan-out workers).
        cache_path: SQLite judgment cache file, or ``None`` for no cache.
        early_stopping: Stop once the remaining runs cannot change the verdict.
        template: The prompt template (its hash goes into cache keys and results).
        max_tokens: Completion cap per call.
        retry_invalid: Re-ask once when a reply holds no verdict.
        budget_usd: Spend cap; projected before starting, enforced on every call.
        candidate_model: The candidate's model name, to warn about self-preference.
        cache: An open vote store used instead of opening ``cache_path`` (for example
            one cache shared by every worker of a Ray cluster); the judge never closes it.

    Example:
        >>> from livingeval.judge import OpenAICompatibleJudge
        >>> judge = PairwiseJudge(OpenAICompatibleJudge(base_url="http://127.0.0.1:1/v1", model="m"))
        >>> judge.runs, judge.temperature, judge.min_confidence
        (3, 0.3, 0.66)

    .. versionadded:: 0.1.0
    """

    model: ChatModel
    runs: int = attrs.field(default=3, kw_only=True, validator=_positive)
    temperature: float = attrs.field(default=0.3, kw_only=True)
    min_confidence: float = attrs.field(default=0.66, kw_only=True, validator=_unit)
    concurrency: int = attrs.field(default=64, kw_only=True, validator=_positive)
    cache_path: str | Path | None = attrs.field(default=None, kw_only=True)
    early_stopping: bool = attrs.field(default=True, kw_only=True)
    template: PromptTemplate = attrs.field(default=DEFAULT_PAIRWISE_TEMPLATE, kw_only=True)
    max_tokens: int = attrs.field(default=32, kw_only=True, validator=_positive)
    retry_invalid: bool = attrs.field(default=True, kw_only=True)
    budget_usd: float | None = attrs.field(default=None, kw_only=True)
    candidate_model: str | None = attrs.field(default=None, kw_only=True)
    cache: VoteStore | None = attrs.field(default=None, kw_only=True, eq=False, repr=False)

    # ------------------------------------------------------------------ session

    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Open the judge model's HTTP session and the cache for several calls of :meth:`judge`.

        :func:`judge_all` opens it for you. Without it each :meth:`judge` call opens its own.
        """
        self._warn_self_preference()
        async with AsyncExitStack() as stack:
            chat = await stack.enter_async_context(self.model.open(concurrency=self.concurrency))
            cache = self.cache
            if cache is None and self.cache_path is not None:
                cache = stack.enter_context(JudgmentCache(self.cache_path))
            active = _Active(self, chat, cache)
            token = _ACTIVE.set({**_ACTIVE.get(), id(self): active})
            try:
                yield
            finally:
                _ACTIVE.reset(token)
                active.release = None  # the consumer is gone; just commit what was paid for
                active.flush()

    def _warn_self_preference(self) -> None:
        if self.candidate_model is None:
            return
        family = model_family(self.candidate_model)
        for judge_model in models_of(self.model):
            if family is not None and model_family(judge_model) == family:
                warnings.warn(
                    f"the judge model {judge_model!r} is of the same family ({family}) as the "
                    f"candidate candidate_model={self.candidate_model!r}; judges prefer their "
                    "own family's answers (self-preference). Use a judge from another family.",
                    LivingEvalWarning,
                    stacklevel=4,
                )

    # ------------------------------------------------------------------ one item

    def _keys(self, active: _Active, item: PairwiseItem) -> dict[tuple[int, Order], str]:
        digests = content_digests((item.prompt, item.candidate, item.baseline))
        return {
            (run, order): key_from_digests(active.key_prefix, order, run, digests)
            for run in range(self.runs)
            for order in ORDERS
        }

    def _request(self, item: PairwiseItem, order: Order) -> ChatRequest:
        """The judge call for ``item`` shown in ``order`` (the same for every run)."""
        a, b = (
            (item.candidate, item.baseline)
            if order == "candidate_first"
            else (item.baseline, item.candidate)
        )
        system, user = self.template.render(prompt=item.prompt, answer_a=a, answer_b=b)
        return ChatRequest(
            system=system, user=user, temperature=self.temperature, max_tokens=self.max_tokens
        )

    async def _ask(
        self, active: _Active, request: ChatRequest, run: int, order: Order, key: str
    ) -> Vote:
        calls = attempts = tokens_in = tokens_out = 0
        cost = 0.0
        choice: Choice | None = None
        text = served_by = ""
        for _ in range(2 if self.retry_invalid else 1):
            if self.budget_usd is not None and active.spent >= self.budget_usd:
                raise BudgetExceededError(
                    f"spent ${active.spent:.4f} of budget_usd={self.budget_usd}; no more calls. "
                    "Raise the budget or shrink the sample with fit_to_budget()"
                )
            completion = await active.chat.complete(request)
            calls += 1
            attempts += completion.attempts
            tokens_in += completion.input_tokens
            tokens_out += completion.output_tokens
            cost += completion.cost_usd
            active.spent += completion.cost_usd
            text, served_by = completion.text, completion.served_by
            choice = parse_choice(text)
            if choice is not None:
                break
        if active.cache is not None:  # committed with the next batch (see _Active)
            active.record(key, text, tokens_in, tokens_out, cost, served_by)
        return Vote(
            run=run,
            order=order,
            choice=choice,
            winner=None if choice is None else _WINNER[(order, choice)],
            reply=text,
            cached=False,
            served_by=served_by,
            calls=calls,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_usd=cost,
            attempts=attempts,
        )

    def _prepared(self, active: _Active, items: Sequence[PairwiseItem]) -> Iterator[_InFlight]:
        """Items ready to ask, their cached votes read with one query per chunk of items."""
        for start in range(0, len(items), _READ_CHUNK):
            keyed = [
                (item, self._keys(active, item)) for item in items[start : start + _READ_CHUNK]
            ]
            found = (
                active.cache.get_many([k for _, keys in keyed for k in keys.values()])
                if active.cache is not None
                else {}
            )
            for item, keys in keyed:
                yield _InFlight(item, keys, {k: found[k] for k in keys.values() if k in found})

    async def _compare_one(self, active: _Active, item: PairwiseItem) -> PairwiseResult:
        """Run the protocol on one item (its calls in parallel, a batch at a time)."""
        results: list[PairwiseResult] = []
        source = self._prepared(active, [item])
        await _Scheduler(self, active, source, results.append).run(2 * self.runs)
        return results[0]

    def _result(self, active: _Active, state: _InFlight) -> PairwiseResult:
        """The :class:`PairwiseResult` of a finished item."""
        item, votes, outcomes = state.item, state.votes, state.outcomes
        kept = sorted(votes.values(), key=_vote_order)
        settled = state.settled
        if state.error is not None or settled is None:
            return PairwiseResult(
                item_id=item.id,
                verdict="tie",
                confidence=0.0,
                discarded=True,
                votes=tuple(kept),
                failure=None if state.error is None else failure_from(item.id, state.error),
                runs=len(outcomes),
                planned_runs=self.runs,
                template_hash=active.template_hash,
                judge=active.identity,
                stratum=item.stratum,
            )
        verdict, confidence, discarded = settled
        used = len(outcomes)
        return PairwiseResult(
            item_id=item.id,
            verdict=verdict,
            confidence=confidence,
            discarded=discarded,
            votes=tuple(v for v in kept if v.run < used),
            runs=used,
            planned_runs=self.runs,
            template_hash=active.template_hash,
            judge=active.identity,
            stratum=item.stratum,
        )

    def _active(self) -> _Active | None:
        return _ACTIVE.get().get(id(self))

    # ------------------------------------------------------------------ many items

    def project_cost(self, items: Iterable[PairwiseItem | JudgeInput]) -> float:
        """Projected USD for ``items`` at the protocol's floor (4 calls per item, 2 if runs=1).

        Tokens are estimated at 4 characters per token; unpriced models (and routed judges)
        project 0.0. Divide by the item count for ``fit_to_budget(cost_per_item=...)``.
        """
        prices = getattr(self.model, "prices", None)
        model_name = getattr(self.model, "model", None)
        if prices is None or model_name is None:
            return 0.0
        calls = 2 * min(self.runs, 2)
        overhead = len(self.template.system) + len(self.template.user)
        total = 0.0
        for given in items:
            item = as_pairwise_item(given) if isinstance(given, JudgeInput) else given
            chars = overhead + len(item.prompt) + len(item.candidate) + len(item.baseline)
            total += calls * prices.cost(model_name, chars // 4, self.max_tokens // 2)
        return float(total)

    @asynccontextmanager
    async def stream(
        self,
        items: Iterable[PairwiseItem],
        *,
        progress: Callable[[Progress], None] | None = None,
    ) -> AsyncIterator[MemoryObjectReceiveStream[PairwiseResult]]:
        """Compare ``items``, streaming each :class:`PairwiseResult` as it completes.

        Leaving the block early cancels the calls in flight; votes already made are cached.

        Example:
            >>> async def main(judge, items):  # doctest: +SKIP
            ...     async with judge.stream(items) as results:
            ...         async for result in results:
            ...             print(result.item_id, result.verdict)
        """
        materialised = self._checked_items(items)
        total = len(materialised)
        send, receive = anyio.create_memory_object_stream[PairwiseResult](
            max_buffer_size=float("inf")
        )
        counts = {"done": 0, "failed": 0}

        def emit(result: PairwiseResult) -> None:
            counts["done"] += 1
            counts["failed"] += result.failure is not None
            try:
                send.send_nowait(result)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return  # the consumer left early; the run is being cancelled
            if progress is not None:
                progress(Progress(done=counts["done"], total=total, failed=counts["failed"]))

        async def produce() -> None:
            async with send:
                await self._produce(materialised, emit)

        with unwrap_single_group():
            async with anyio.create_task_group() as tg:
                tg.start_soon(produce)
                try:
                    yield receive
                finally:
                    receive.close()
                    tg.cancel_scope.cancel()

    def _checked_items(self, items: Iterable[PairwiseItem]) -> Sequence[PairwiseItem]:
        """``items`` as a sequence, after checking the projected cost against the budget."""
        materialised = items if isinstance(items, Sequence) else list(items)
        if self.budget_usd is not None:
            projected = self.project_cost(materialised)
            if projected > self.budget_usd:
                raise BudgetExceededError(
                    f"projected cost ${projected:.4f} for {len(materialised)} items exceeds "
                    f"budget_usd={self.budget_usd}; shrink the sample per stratum with "
                    "fit_to_budget() or raise the budget"
                )
        return materialised

    async def _produce(
        self, items: Sequence[PairwiseItem], release: Callable[[PairwiseResult], None]
    ) -> None:
        """Run the protocol over ``items``, handing each result to ``release`` once its
        votes are committed."""
        async with self.session():
            active = self._active()
            assert active is not None
            active.release = release
            source = self._prepared(active, items)
            scheduler = _Scheduler(self, active, source, active.report)
            async with anyio.create_task_group() as flushing:
                if active.cache is not None:
                    flushing.start_soon(active.flush_periodically)
                try:
                    await scheduler.run(len(items) * 2 * self.runs)
                finally:
                    active.flush()  # also on cancellation: nothing paid for is lost
                    flushing.cancel_scope.cancel()

    async def compare(
        self,
        items: Iterable[PairwiseItem],
        *,
        progress: Callable[[Progress], None] | None = None,
    ) -> list[PairwiseResult]:
        """Compare every item; one :class:`PairwiseResult` per item, in completion order.

        A failing item becomes a result with ``failure`` set; it never aborts the run.
        """
        materialised = self._checked_items(items)
        total = len(materialised)
        results: list[PairwiseResult] = []
        failed = 0

        def collect(result: PairwiseResult) -> None:
            # Straight into the list: no stream, so no consumer task to wake per result.
            nonlocal failed
            results.append(result)
            failed += result.failure is not None
            if progress is not None:
                progress(Progress(done=len(results), total=total, failed=failed))

        with unwrap_single_group():
            await self._produce(materialised, collect)
        return results

    def compare_sync(
        self,
        items: Iterable[PairwiseItem],
        *,
        progress: Callable[[Progress], None] | None = None,
    ) -> list[PairwiseResult]:
        """Synchronous twin of :meth:`compare` (works inside a running loop, e.g. Jupyter)."""

        async def call() -> list[PairwiseResult]:
            return await self.compare(items, progress=progress)

        return run_sync(call)

    @contextmanager
    def stream_sync(
        self,
        items: Iterable[PairwiseItem],
        *,
        progress: Callable[[Progress], None] | None = None,
    ) -> Iterator[Iterator[PairwiseResult]]:
        """Synchronous twin of :meth:`stream`: a blocking iterator of results as they complete.

        Works inside a running loop (e.g. Jupyter). Leaving the block early cancels the
        calls in flight; votes already made are cached.

        Example:
            >>> with judge.stream_sync(items) as results:  # doctest: +SKIP
            ...     for result in results:
            ...         print(result.item_id, result.verdict)
        """
        with stream_sync(lambda: self.stream(items, progress=progress)) as results:
            yield results

    # ------------------------------------------------------------------ Judge protocol

    async def compare_one(self, item: PairwiseItem) -> PairwiseResult:
        """Compare one item (inside :meth:`session` when open, else in its own session)."""
        active = self._active()
        if active is None:
            async with self.session():
                return await self.compare_one(item)
        result = await self._compare_one(active, item)
        active.flush()  # its votes are committed before its verdict is reported
        return result

    async def judge(self, item: JudgeInput) -> Verdict:
        """:class:`~livingeval.protocols.Judge`: judge one item; scores 1/0, 0/1 or 0.5/0.5.

        Raises:
            JudgeError: when the protocol could not finish (the cause of the failed call).
        """
        result = await self.compare_one(as_pairwise_item(item))
        if result.failure is not None:
            from livingeval.errors import JudgeError

            raise JudgeError(
                f"{result.failure.error_type}: {result.failure.cause}", trace_id=item.item_id
            )
        return result.to_verdict()

    def compare_one_sync(self, item: PairwiseItem) -> PairwiseResult:
        """Synchronous twin of :meth:`compare_one` (works inside a running loop)."""
        return run_sync(self.compare_one, item)

    def judge_sync(self, item: JudgeInput) -> Verdict:
        """Synchronous twin of :meth:`judge` (works inside a running loop).

        Raises:
            JudgeError: when the protocol could not finish.
        """
        return run_sync(self.judge, item)
