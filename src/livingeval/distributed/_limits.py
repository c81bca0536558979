"""One rate limit, one budget and one judgment cache for every worker of a cluster.

A judge shipped to N workers would otherwise carry N rate limiters (N times the
provider's limit), N budgets and N caches. :func:`share_component` instead starts one Ray
actor per judge, on the driver's node, that

* hands out request permits (a GCRA schedule: permits spaced ``60 / requests_per_minute``
  seconds apart, tokens likewise; halved on every HTTP 429, as the in-process
  :class:`~livingeval._http.RateLimiter` does) and refuses them once the budget is spent;
  a :class:`~livingeval.judge.RoutedJudge` gets one permit book per route (provider);
* keeps the spend, charged by every worker after every call;
* fronts the judgment cache's SQLite file, so every worker reads and writes the same votes.

Workers get a copy of the judge whose HTTP engine asks the actor before each attempt
(:class:`RemoteLimiter`) and whose vote store is the actor (:class:`RemoteVoteStore`).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar, cast

import anyio
import attrs

from livingeval._http import check_rates
from livingeval.errors import BudgetExceededError, ConfigError
from livingeval.judge import (
    CachedVote,
    ChatRequest,
    ChatSession,
    Completion,
    JudgmentCache,
    PairwiseJudge,
    RoutedJudge,
)
from livingeval.judge._cache import VoteRow
from livingeval.replay import CachedResponder

__all__ = [
    "PermitBook",
    "RemoteLimiter",
    "RemoteVoteStore",
    "share_component",
]

_T = TypeVar("_T")


class PermitBook:
    """Request and token permits on a GCRA schedule, adaptive on HTTP 429 (one process).

    Permits are reserved in arrival order: :meth:`reserve` returns how long the caller
    must wait before sending. Over any window of ``w`` seconds at most
    ``(w + burst_seconds) * requests_per_minute / 60 + 1`` requests are granted.

    Args:
        requests_per_minute: Request cap, or ``None``.
        tokens_per_minute: Token cap, or ``None``.
        burst_seconds: How far ahead of the schedule a caller may send (0: strict spacing).

    Example:
        >>> book = PermitBook(requests_per_minute=600)
        >>> [round(book.reserve(0.0), 2) for _ in range(3)]
        [0.0, 0.1, 0.2]
    """

    def __init__(
        self,
        *,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        burst_seconds: float = 0.0,
    ) -> None:
        check_rates(requests_per_minute, tokens_per_minute)
        if burst_seconds < 0:
            raise ConfigError(
                f"burst_seconds must be >= 0; got burst_seconds={burst_seconds}",
                field="burst_seconds",
            )
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.burst = burst_seconds
        self.factor = 1.0
        self._requests_at = float("-inf")
        self._tokens_at = float("-inf")
        self.granted = 0
        self.waited = 0.0

    @property
    def active(self) -> bool:
        """Whether any limit is configured."""
        return self.requests_per_minute is not None or self.tokens_per_minute is not None

    def reserve(self, now: float, tokens: int = 0) -> float:
        """Reserve one request of ``tokens`` tokens; return the seconds to wait before sending."""
        self.granted += 1
        if not self.active:
            return 0.0
        grant = now
        if self.requests_per_minute is not None:
            grant = max(grant, self._requests_at - self.burst)
        token_cost = 0.0
        if self.tokens_per_minute is not None and tokens:
            cap = max(self.tokens_per_minute * self.factor, 1.0)
            token_cost = 60.0 * min(float(tokens), cap) / cap
            grant = max(grant, self._tokens_at - self.burst)
        if self.requests_per_minute is not None:
            interval = 60.0 / (self.requests_per_minute * self.factor)
            self._requests_at = max(self._requests_at, grant) + interval
        if token_cost:
            self._tokens_at = max(self._tokens_at, grant) + token_cost
        self.waited += grant - now
        return grant - now

    def on_throttled(self) -> None:
        """Record an HTTP 429: halve the effective rate (not below 1/32)."""
        self.factor = max(1.0 / 32.0, self.factor * 0.5)

    def on_success(self) -> None:
        """Record a success: recover 2% of the configured rate."""
        if self.factor < 1.0:
            self.factor = min(1.0, self.factor + 0.02)


class _JudgeService:
    """The actor behind one shared judge: permits, spend and the judgment cache.

    ``limits`` maps a limiter key (one per provider: ``""`` for a single judge model, the
    route's identity for each route of a :class:`~livingeval.judge.RoutedJudge`) to its
    ``(requests_per_minute, tokens_per_minute)``; each key has its own permit book.
    """

    def __init__(
        self,
        *,
        cache_path: str | None,
        limits: dict[str, tuple[float | None, float | None]],
        burst_seconds: float,
        budget_usd: float | None,
    ) -> None:
        self.cache = JudgmentCache(cache_path) if cache_path is not None else None
        self.books = {
            key: PermitBook(
                requests_per_minute=rpm, tokens_per_minute=tpm, burst_seconds=burst_seconds
            )
            for key, (rpm, tpm) in limits.items()
        }
        self.unlimited = PermitBook()
        self.budget = budget_usd
        self.spent = 0.0
        self.throttled = 0

    def _book(self, key: str) -> PermitBook:
        return self.books.get(key, self.unlimited)

    def reserve(self, tokens: int, key: str = "") -> float | str:
        if self.budget is not None and self.spent >= self.budget:
            return (
                f"spent ${self.spent:.4f} of budget_usd={self.budget} (shared by every worker); "
                "no more calls. Raise the budget or shrink the sample with fit_to_budget()"
            )
        return self._book(key).reserve(time.monotonic(), tokens)

    def on_throttled(self, key: str = "") -> None:
        self.throttled += 1
        self._book(key).on_throttled()

    def on_success(self, key: str = "") -> None:
        self._book(key).on_success()

    def charge(self, usd: float) -> None:
        self.spent += usd

    def get_many(self, keys: list[str]) -> dict[str, CachedVote]:
        return self.cache.get_many(keys) if self.cache is not None else {}

    def put(self, key: str, vote: CachedVote, judge: str, template: str) -> None:
        if self.cache is not None:
            self.cache.put(key, vote, judge=judge, template=template)

    def put_rows(self, rows: list[VoteRow]) -> None:
        if self.cache is not None:
            self.cache.put_rows(rows)

    def statistics(self) -> dict[str, Any]:
        books = [*self.books.values(), self.unlimited]
        return {
            "permits": sum(b.granted for b in books),
            "waited_seconds": round(sum(b.waited for b in books), 3),
            "throttled": self.throttled,
            "factor": min(b.factor for b in books),
            "per_provider": {
                key: {
                    "permits": b.granted,
                    "waited_seconds": round(b.waited, 3),
                    "factor": b.factor,
                }
                for key, b in self.books.items()
            },
            "spent_usd": self.spent,
            "cache_hits": self.cache.hits if self.cache is not None else 0,
            "cache_writes": self.cache.writes if self.cache is not None else 0,
        }

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
            self.cache = None


@attrs.frozen
class RemoteLimiter:
    """A :class:`~livingeval._http.Limiter` whose permits come from the shared actor.

    ``acquire`` raises :class:`~livingeval.errors.BudgetExceededError` once the shared
    budget is spent, so no worker starts a call the budget no longer covers.
    """

    actor: Any = attrs.field(repr=False)
    """The :class:`_JudgeService` actor handle."""
    limited: bool
    """Whether a rate limit is configured (else ``acquire`` only checks the budget)."""
    key: str = ""
    """Which of the actor's permit books this provider draws from (one per provider)."""

    async def acquire(self, tokens: int = 0) -> None:
        """Wait for a permit from the actor."""
        answer = await self.actor.reserve.remote(tokens, self.key)
        if isinstance(answer, str):
            raise BudgetExceededError(answer)
        if answer > 0:
            await anyio.sleep(answer)

    def on_throttled(self) -> None:
        """Tell the actor about an HTTP 429 (every worker slows down)."""
        if self.limited:
            self.actor.on_throttled.remote(self.key)

    def on_success(self) -> None:
        """Tell the actor about a success."""
        if self.limited:
            self.actor.on_success.remote(self.key)


@attrs.frozen
class RemoteVoteStore:
    """A vote store (``get_many`` / ``put_rows``) in front of the actor's SQLite file.

    Each write waits for the actor's write, so a vote received is stored before the
    worker goes on: a worker killed afterwards loses nothing already paid for.
    """

    actor: Any = attrs.field(repr=False)
    """The :class:`_JudgeService` actor handle."""
    batch_rows: int = 1
    """Votes are written one by one: a worker the cluster kills loses only calls in flight."""

    def get_many(self, keys: Sequence[str]) -> Mapping[str, CachedVote]:
        """The stored votes among ``keys``."""
        from livingeval.distributed._ray import import_ray

        found: dict[str, CachedVote] = import_ray().get(self.actor.get_many.remote(list(keys)))
        return found

    def put(self, key: str, vote: CachedVote, *, judge: str, template: str) -> None:
        """Store one vote (returns once it is written)."""
        from livingeval.distributed._ray import import_ray

        import_ray().get(self.actor.put.remote(key, vote, judge, template))

    def put_rows(self, rows: Sequence[VoteRow]) -> None:
        """Store a batch of finished votes in one transaction (returns once written)."""
        from livingeval.distributed._ray import import_ray

        import_ray().get(self.actor.put_rows.remote(list(rows)))


class _ChargingSession:
    def __init__(self, inner: ChatSession, actor: Any) -> None:
        self.inner = inner
        self.actor = actor

    async def complete(self, request: ChatRequest) -> Completion:
        completion = await self.inner.complete(request)
        await self.actor.charge.remote(completion.cost_usd)
        return completion


@attrs.frozen
class _ChargingModel:
    """A chat model that charges every completion's cost to the shared budget."""

    inner: Any
    actor: Any = attrs.field(repr=False)

    @property
    def identity(self) -> str:
        """The wrapped model's identity (so cache keys do not change)."""
        return str(self.inner.identity)

    @property
    def model(self) -> Any:
        """The wrapped model's name."""
        return getattr(self.inner, "model", None)

    @property
    def prices(self) -> Any:
        """The wrapped model's price table."""
        return getattr(self.inner, "prices", None)

    def open(self, *, concurrency: int) -> AbstractAsyncContextManager[ChatSession]:
        """Open the wrapped model; every completion is charged."""
        return self._open(concurrency)

    @asynccontextmanager
    async def _open(self, concurrency: int) -> AsyncIterator[ChatSession]:
        async with self.inner.open(concurrency=concurrency) as session:
            yield _ChargingSession(session, self.actor)


def _service(ray: ModuleType, **kwargs: Any) -> Any:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = ray.get_runtime_context().get_node_id()
    cls = ray.remote(_JudgeService).options(
        num_cpus=0,
        max_concurrency=1,  # one call at a time: the permit book and SQLite need no locks
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=here, soft=False),
    )
    return cls.remote(**kwargs)


def _limits_of(model: Any) -> tuple[bool, tuple[float | None, float | None] | None]:
    """Whether ``model`` takes a limiter, and its ``(rpm, tpm)`` when it has a rate limit."""
    limitable = attrs.has(type(model)) and any(
        a.name == "limiter" for a in attrs.fields(type(model))
    )
    rpm = getattr(model, "requests_per_minute", None)
    tpm = getattr(model, "tokens_per_minute", None)
    return limitable, ((rpm, tpm) if limitable and (rpm is not None or tpm is not None) else None)


def _with_remote_limiter(model: Any, actor: Any, key: str, budgeted: bool) -> Any:
    limitable, limit = _limits_of(model)
    if limitable and (limit is not None or budgeted):
        return attrs.evolve(model, limiter=RemoteLimiter(actor, limit is not None, key))
    return model


def _shared_judge(ray: ModuleType, judge: PairwiseJudge) -> tuple[PairwiseJudge, Any]:
    model: Any = judge.model
    budgeted = judge.budget_usd is not None
    # One permit book per provider: the single model's under "", each route's under its
    # identity, so N workers share each provider's limit.
    providers = (
        {route.model.identity: route.model for route in model.routes}
        if isinstance(model, RoutedJudge)
        else {"": model}
    )
    limits = {key: limit for key, m in providers.items() if (limit := _limits_of(m)[1]) is not None}
    cache_path = (
        os.path.abspath(os.fspath(judge.cache_path)) if judge.cache_path is not None else None
    )
    actor = _service(
        ray,
        cache_path=cache_path,
        limits=limits,
        burst_seconds=0.0,
        budget_usd=judge.budget_usd,
    )
    if isinstance(model, RoutedJudge):
        model = attrs.evolve(
            model,
            routes=tuple(
                attrs.evolve(
                    route,
                    model=_with_remote_limiter(route.model, actor, route.model.identity, budgeted),
                )
                for route in model.routes
            ),
        )
    else:
        model = _with_remote_limiter(model, actor, "", budgeted)
    if budgeted:
        model = _ChargingModel(model, actor)
    shared = attrs.evolve(
        judge,
        model=model,
        cache_path=None,
        cache=RemoteVoteStore(actor) if cache_path is not None else None,
        budget_usd=None,  # enforced by the actor, for all workers together
    )
    return shared, actor


@contextmanager
def share_component(ray: ModuleType, component: _T) -> Iterator[_T]:
    """A stand-in for ``component`` whose limits and cache are one for every worker.

    A :class:`~livingeval.judge.PairwiseJudge` gets one actor on this (the driver's) node
    for its rate limit, budget and judgment cache; a
    :class:`~livingeval.replay.CachedResponder` is shipped as is (each worker opens the
    same SQLite file, which needs the workers on this machine or a shared file system);
    anything else is returned unchanged. The actor is stopped on exit.
    """
    if isinstance(component, PairwiseJudge):
        # Workers' warnings end up in their logs: warn here, where the user sees it.
        component._warn_self_preference()
        shared, actor = _shared_judge(ray, component)
        try:
            yield cast("_T", shared)
        finally:
            try:
                ray.get(actor.close.remote(), timeout=30)
            finally:
                ray.kill(actor)
        return
    if isinstance(component, CachedResponder):
        Path(component.path).parent.mkdir(parents=True, exist_ok=True)
    yield component


def service_statistics(ray: ModuleType, judge: PairwiseJudge) -> dict[str, Any] | None:
    """The shared actor's counters for a judge made by :func:`share_component`, if any."""
    model = judge.model
    actor = getattr(model, "actor", None) or getattr(getattr(model, "limiter", None), "actor", None)
    if actor is None and isinstance(model, RoutedJudge):
        for route in model.routes:
            actor = actor or getattr(getattr(route.model, "limiter", None), "actor", None)
    if actor is None and isinstance(judge.cache, RemoteVoteStore):
        actor = judge.cache.actor
    if actor is None:
        return None
    stats: dict[str, Any] = ray.get(actor.statistics.remote())
    return stats
