"""The argument judge: the LLM fallback for free-text argument values rules cannot decide.

Only :class:`~livingeval.judge.PendingArgument` items (free-text values that differ from
the reference after normalisation) are sent; everything else was decided by rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

import anyio
import attrs
import orjson

from livingeval._sync import run_sync
from livingeval.errors import BudgetExceededError, ConfigError, InvalidJudgeReplyError
from livingeval.judge._cache import CachedVote, JudgmentCache, vote_key
from livingeval.judge._llm import ChatModel, ChatRequest, ChatSession
from livingeval.judge._structured import (
    PendingArgument,
    StructuredComparison,
    StructuredFailure,
)

__all__ = [
    "ArgumentJudge",
    "ArgumentJudgeStatistics",
    "ArgumentQuestion",
    "CallableArgumentJudge",
    "LLMArgumentJudge",
    "resolve_pending",
    "resolve_pending_sync",
]

_SYSTEM: Final = (
    "You judge whether two tool-call argument values are equivalent for a user's intent. "
    "Answer with exactly one word: YES or NO."
)


def _text(value: Any) -> str:
    return value if type(value) is str else orjson.dumps(value).decode()


@attrs.frozen(kw_only=True)
class ArgumentQuestion:
    """One question for an argument judge: are these two values equivalent here?

    Example:
        >>> q = ArgumentQuestion(intent="Find vegan recipes", tool="search", argument="query",
        ...                      candidate="vegan recipes", reference="recipes without animal products")
        >>> "search" in q.prompt()
        True

    .. versionadded:: 0.1.0
    """

    intent: str
    """What the user asked for (the last user message), so equivalence is judged in context."""
    tool: str
    """The called tool (``""`` for a free-text answer)."""
    argument: str
    """The argument name or JSON path (``"$content"`` for a free-text answer)."""
    candidate: Any
    """The candidate's value."""
    reference: Any
    """The reference's value."""

    def prompt(self) -> str:
        """A self-contained prompt asking for a one-word YES/NO verdict."""
        where = f"argument {self.argument!r} of the tool {self.tool!r}" if self.tool else "answer"
        return (
            "Two AI assistants served the same user request. Decide whether their values for "
            f"the {where} are equivalent for what the user wants: would executing either "
            "give the user the same result?\n\n"
            f"User request:\n{self.intent}\n\n"
            f"Value A:\n{_text(self.reference)}\n\n"
            f"Value B:\n{_text(self.candidate)}\n\n"
            "Reply with exactly one word: YES if they are equivalent, NO otherwise."
        )


@runtime_checkable
class ArgumentJudge(Protocol):
    """**Protocol:** decide whether two free-text argument values are equivalent.

    Implementations usually ask an LLM (``question.prompt()`` is a ready prompt) through
    the judge core's client, so its cache and budget apply.
    """

    async def equivalent(self, question: ArgumentQuestion) -> bool:
        """True when the candidate's value serves the user's intent as the reference's does."""
        ...


@attrs.frozen(kw_only=True)
class CallableArgumentJudge:
    """An :class:`ArgumentJudge` from any async callable ``(question) -> bool``.

    Example:
        >>> async def same_words(q: ArgumentQuestion) -> bool:
        ...     return set(str(q.candidate).split()) == set(str(q.reference).split())
        >>> judge = CallableArgumentJudge(function=same_words)

    .. versionadded:: 0.1.0
    """

    function: Callable[[ArgumentQuestion], Awaitable[bool]]
    """The async callable that decides."""

    async def equivalent(self, question: ArgumentQuestion) -> bool:
        """Return ``await function(question)``."""
        return bool(await self.function(question))

    def equivalent_sync(self, question: ArgumentQuestion) -> bool:
        """Synchronous twin of :meth:`equivalent` (works inside a running loop)."""
        return run_sync(self.equivalent, question)


def _template_hash() -> str:
    probe = ArgumentQuestion(
        intent="{intent}",
        tool="{tool}",
        argument="{argument}",
        candidate="{candidate}",
        reference="{reference}",
    )
    blob = (_SYSTEM + "\n" + probe.prompt()).encode()
    return "argument-equivalence/" + hashlib.sha256(blob).hexdigest()[:16]


_TEMPLATE: Final = _template_hash()


def _parse_yes_no(reply: str) -> bool | None:
    words = reply.strip().strip("*`'\".").split()
    if not words:
        return None
    head = words[0].strip(".,:;!*`'\"").upper()
    if head in ("YES", "EQUIVALENT", "TRUE"):
        return True
    if head in ("NO", "NOT", "FALSE", "DIFFERENT"):
        return False
    return None


@attrs.frozen(kw_only=True)
class ArgumentJudgeStatistics:
    """What an :class:`LLMArgumentJudge` session did.

    .. versionadded:: 0.1.0
    """

    questions: int
    """Questions asked of the session."""
    calls: int
    """Model calls made (cache misses, plus one re-ask per unreadable reply)."""
    cache_hits: int
    """Questions answered from the judgment cache."""
    cost_usd: float
    """What the calls cost (per the model's price table)."""


class _LLMSession:
    """An open :class:`LLMArgumentJudge`: a live chat session plus the cache."""

    def __init__(self, owner: LLMArgumentJudge, chat: ChatSession, cache: JudgmentCache | None):
        self.owner = owner
        self.chat = chat
        self.cache = cache
        self.questions = 0
        self.calls = 0
        self.cache_hits = 0
        self.cost_usd = 0.0

    def statistics(self) -> ArgumentJudgeStatistics:
        return ArgumentJudgeStatistics(
            questions=self.questions,
            calls=self.calls,
            cache_hits=self.cache_hits,
            cost_usd=self.cost_usd,
        )

    async def equivalent(self, question: ArgumentQuestion) -> bool:
        owner = self.owner
        self.questions += 1
        prompt = question.prompt()
        key = vote_key(
            judge=owner.model.identity,
            template=_TEMPLATE,
            params={"temperature": owner.temperature, "max_tokens": owner.max_tokens},
            order="argument",
            vote=0,
            contents=[prompt],
        )
        if self.cache is not None:
            hit = self.cache.get_many([key]).get(key)
            if hit is not None:
                answer = _parse_yes_no(hit.reply)
                if answer is not None:
                    self.cache_hits += 1
                    return answer
        replies: list[str] = []
        for _attempt in range(2):  # an unreadable reply is re-asked once
            if owner.budget_usd is not None and self.cost_usd >= owner.budget_usd:
                raise BudgetExceededError(
                    f"the argument judge spent {self.cost_usd:.4f} USD, reaching "
                    f"budget_usd={owner.budget_usd}; raise the budget or judge fewer items"
                )
            completion = await self.chat.complete(
                ChatRequest(
                    system=_SYSTEM,
                    user=prompt,
                    temperature=owner.temperature,
                    max_tokens=owner.max_tokens,
                )
            )
            self.calls += 1
            self.cost_usd += completion.cost_usd
            replies.append(completion.text)
            answer = _parse_yes_no(completion.text)
            if answer is not None:
                if self.cache is not None:
                    self.cache.put(
                        key,
                        CachedVote(
                            reply=completion.text,
                            input_tokens=completion.input_tokens,
                            output_tokens=completion.output_tokens,
                            cost_usd=completion.cost_usd,
                            served_by=completion.served_by,
                        ),
                        judge=owner.model.identity,
                        template=_TEMPLATE,
                    )
                return answer
        raise InvalidJudgeReplyError(
            f"the argument judge replied {replies!r} instead of YES or NO "
            f"(tool={question.tool!r}, argument={question.argument!r})"
        )


@attrs.frozen(kw_only=True)
class LLMArgumentJudge:
    """An :class:`ArgumentJudge` that asks a judge-core chat model (YES/NO), with cache and budget.

    Built on the judge core: ``model`` is any :class:`~livingeval.judge.OpenAICompatibleJudge`
    or :class:`~livingeval.judge.AnthropicJudge` (their HTTP engine, rate limits and
    retries apply), answers are stored in the SQLite judgment cache at ``cache_path`` (a
    rerun asks nothing twice), and ``budget_usd`` stops spending once reached.

    Use :meth:`open` to keep one connection for many questions; :meth:`equivalent` on the
    unopened judge connects for that one question.

    Example:
        >>> from livingeval.judge import OpenAICompatibleJudge
        >>> judge = LLMArgumentJudge(model=OpenAICompatibleJudge(
        ...     base_url="http://127.0.0.1:8000/v1", model="m", api_key="k"))
        >>> judge.max_tokens
        4

    .. versionadded:: 0.1.0
    """

    model: ChatModel
    """The judge model (judge core)."""
    cache_path: str | Path | None = None
    """SQLite judgment cache file; ``None`` disables caching."""
    temperature: float = 0.0
    """Sampling temperature of the question."""
    max_tokens: int = 4
    """Completion cap (the answer is one word)."""
    concurrency: int = 8
    """Connection-pool size of an opened session."""
    budget_usd: float | None = None
    """Stop asking (raise :class:`~livingeval.errors.BudgetExceededError`) once spent."""

    def __attrs_post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigError(
                f"concurrency must be at least 1; concurrency={self.concurrency}",
                field="concurrency",
            )

    @asynccontextmanager
    async def open(self) -> AsyncIterator[_LLMSession]:
        """Connect; yields an :class:`ArgumentJudge` with ``statistics()``."""
        async with AsyncExitStack() as stack:
            chat = await stack.enter_async_context(self.model.open(concurrency=self.concurrency))
            cache = (
                stack.enter_context(JudgmentCache(self.cache_path))
                if self.cache_path is not None
                else None
            )
            yield _LLMSession(self, chat, cache)

    async def equivalent(self, question: ArgumentQuestion) -> bool:
        """Connect, ask one question, disconnect."""
        async with self.open() as session:
            return await session.equivalent(question)

    def equivalent_sync(self, question: ArgumentQuestion) -> bool:
        """Synchronous twin of :meth:`equivalent` (works inside a running loop)."""
        return run_sync(self.equivalent, question)


async def resolve_pending(
    comparison: StructuredComparison,
    judge: ArgumentJudge,
    *,
    intent: str = "",
    concurrency: int = 8,
) -> StructuredComparison:
    """Ask ``judge`` about every pending value and return the final comparison.

    An equivalent value is accepted; a non-equivalent one becomes a ``value_mismatch``
    failure. ``judged`` counts the questions asked. Comparisons that already failed by
    rules are returned unchanged (no judge call is spent on them).

    Args:
        comparison: A result of :func:`~livingeval.judge.compare_tool_calls` or
            :func:`~livingeval.judge.compare_json`.
        judge: The argument judge.
        intent: The user's request, shown to the judge.
        concurrency: How many questions may be in flight at once.

    Returns:
        The comparison with ``pending`` empty and ``score`` 1.0 or 0.0.

    Example:
        >>> import anyio
        >>> from livingeval.records import Response, ToolCall
        >>> from livingeval.judge import compare_tool_calls
        >>> a = Response(tool_calls=(ToolCall(name="search", arguments='{"q": "cheap flights to Rome"}'),))
        >>> b = Response(tool_calls=(ToolCall(name="search", arguments='{"q": "low-cost flights Rome"}'),))
        >>> pending = compare_tool_calls(a, b)
        >>> pending.score
        0.5
        >>> async def yes(q: ArgumentQuestion) -> bool:
        ...     return True
        >>> final = anyio.run(resolve_pending, pending, CallableArgumentJudge(function=yes))
        >>> final.score, final.judged
        (1.0, 1)
    """
    if comparison.failures or not comparison.pending:
        return comparison
    items = comparison.pending
    answers: list[bool] = [False] * len(items)
    limiter = anyio.CapacityLimiter(max(1, concurrency))

    async def ask(index: int, item: PendingArgument) -> None:
        async with limiter:
            answers[index] = await judge.equivalent(
                ArgumentQuestion(
                    intent=intent,
                    tool=item.tool,
                    argument=item.argument,
                    candidate=item.candidate,
                    reference=item.reference,
                )
            )

    async with anyio.create_task_group() as tg:
        for index, item in enumerate(items):
            tg.start_soon(ask, index, item)
    failures = tuple(
        StructuredFailure(
            kind="value_mismatch",
            message=f"the argument judge found {item.argument}={item.candidate!r} not "
            f"equivalent to the reference {item.reference!r}",
            call_index=item.call_index if item.call_index >= 0 else None,
            tool=item.tool or None,
            argument=item.argument,
        )
        for item, ok in zip(items, answers, strict=True)
        if not ok
    )
    return attrs.evolve(
        comparison,
        score=0.0 if failures else 1.0,
        failures=failures,
        pending=(),
        judged=comparison.judged + len(items),
    )


def resolve_pending_sync(
    comparison: StructuredComparison,
    judge: ArgumentJudge,
    *,
    intent: str = "",
    concurrency: int = 8,
) -> StructuredComparison:
    """Synchronous twin of :func:`resolve_pending` (works inside a running loop).

    Example:
        >>> from livingeval.records import Response, ToolCall
        >>> from livingeval.judge import compare_tool_calls
        >>> a = Response(tool_calls=(ToolCall(name="search", arguments='{"q": "cheap flights to Rome"}'),))
        >>> b = Response(tool_calls=(ToolCall(name="search", arguments='{"q": "low-cost flights Rome"}'),))
        >>> async def no(q: ArgumentQuestion) -> bool:
        ...     return False
        >>> resolve_pending_sync(compare_tool_calls(a, b), CallableArgumentJudge(function=no)).score
        0.0
    """

    async def call() -> StructuredComparison:
        return await resolve_pending(comparison, judge, intent=intent, concurrency=concurrency)

    return run_sync(call)
