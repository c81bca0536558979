"""Routing: several providers for the judge role, cheapest-first under a quality bar,
failover in order, and the self-preference guard."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from types import TracebackType
from typing import Any

import attrs

from livingeval._model_family import known_family
from livingeval.errors import ConfigError, JudgeError
from livingeval.judge._llm import ChatModel, ChatRequest, ChatSession, Completion

__all__ = ["Route", "RoutedJudge", "model_family", "models_of", "same_family"]


def model_family(model: str) -> str | None:
    """The vendor family of a model name (``gpt-4o`` -> ``openai``), or ``None``.

    Provider prefixes (``openai/``, ``anthropic:``) are ignored.

    Example:
        >>> model_family("openai/gpt-4o-mini"), model_family("claude-3-5-haiku"), model_family("x")
        ('openai', 'anthropic', None)
    """
    return known_family(model)


def same_family(a: str, b: str) -> bool:
    """Whether two model names belong to the same known family.

    Example:
        >>> same_family("gpt-4o", "gpt-4.1-mini"), same_family("gpt-4o", "claude-sonnet-4")
        (True, False)
    """
    family = model_family(a)
    return family is not None and family == model_family(b)


def models_of(model: Any) -> list[str]:
    """The model names behind a chat model (every route of a :class:`RoutedJudge`)."""
    if isinstance(model, RoutedJudge):
        return [name for route in model.routes for name in models_of(route.model)]
    name = getattr(model, "model", None)
    return [name] if isinstance(name, str) else [str(model.identity).split(":", 1)[-1]]


@attrs.frozen(kw_only=True)
class Route:
    """One provider for the judge role.

    .. versionadded:: 0.1.0
    """

    model: ChatModel
    """The provider's judge model."""
    quality: float | None = None
    """A quality figure measured earlier (e.g. agreement with humans), or ``None``."""
    cost_per_call_usd: float | None = None
    """Typical USD per call; when ``None`` it is taken from the model's price table."""

    def unit_cost(self) -> float:
        """USD per typical judge call (600 prompt tokens, 10 completion tokens)."""
        if self.cost_per_call_usd is not None:
            return self.cost_per_call_usd
        prices = getattr(self.model, "prices", None)
        name = getattr(self.model, "model", None)
        if prices is None or name is None:
            return 0.0
        return float(prices.cost(name, 600, 10))


class _RoutedSession:
    def __init__(self, judge: RoutedJudge, concurrency: int) -> None:
        self.judge = judge
        self.concurrency = concurrency
        self.sessions: list[tuple[str, ChatSession]] = []
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> _RoutedSession:
        for route in self.judge.ordered():
            session = await self._stack.enter_async_context(
                route.model.open(concurrency=self.concurrency)
            )
            self.sessions.append((route.model.identity, session))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def complete(self, request: ChatRequest) -> Completion:
        errors: list[str] = []
        last: Exception | None = None
        for identity, session in self.sessions:
            try:
                return await session.complete(request)
            except JudgeError as exc:  # transient after its own retries, or permanent
                errors.append(f"{identity}: {type(exc).__name__}: {exc}")
                last = exc
        raise JudgeError(
            "every route failed: " + "; ".join(errors) + "; check the providers' status"
        ) from last


def _as_routes(value: Iterable[Route]) -> tuple[Route, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class RoutedJudge:
    """Several providers for the judge role: cheapest first among those meeting a quality bar.

    A call goes to the first route in :meth:`ordered`; on an error (after that route's own
    retries) or a rate limit it fails over to the next. Each vote's ``served_by`` reports
    which route answered.

    Args:
        routes: The providers, in failover order for equal cost.
        min_quality: Routes with ``quality`` below this (or unknown) are left out.
        cheapest_first: Order eligible routes by cost (else keep the given order).

    Example:
        >>> from livingeval.judge import OpenAICompatibleJudge
        >>> a = Route(model=OpenAICompatibleJudge(model="gpt-4o", base_url="http://x/v1"), quality=0.9)
        >>> b = Route(model=OpenAICompatibleJudge(model="gpt-4o-mini", base_url="http://x/v1"), quality=0.8)
        >>> [r.model.identity for r in RoutedJudge(routes=(a, b), min_quality=0.75).ordered()]
        ['openai-compatible:gpt-4o-mini', 'openai-compatible:gpt-4o']

    .. versionadded:: 0.1.0
    """

    routes: tuple[Route, ...] = attrs.field(converter=_as_routes)
    min_quality: float | None = None
    cheapest_first: bool = True

    def __attrs_post_init__(self) -> None:
        if not self.ordered():
            raise ConfigError(
                f"no route meets min_quality={self.min_quality}; lower the bar or add a route "
                "with a measured quality",
                field="min_quality",
            )

    def ordered(self) -> list[Route]:
        """Eligible routes in the order calls try them."""
        eligible = [
            r
            for r in self.routes
            if self.min_quality is None or (r.quality is not None and r.quality >= self.min_quality)
        ]
        if self.cheapest_first:
            eligible.sort(key=lambda r: r.unit_cost())  # stable: given order breaks ties
        return eligible

    @property
    def identity(self) -> str:
        """``routed:`` plus the routes' identities, in order (goes into cache keys)."""
        return "routed:" + "|".join(r.model.identity for r in self.ordered())

    def open(self, *, concurrency: int) -> AbstractAsyncContextManager[ChatSession]:
        """Connect every eligible route."""
        return _RoutedSession(self, concurrency)
