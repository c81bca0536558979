"""Rubric scoring: several criteria from one call returning JSON, validated, per dimension.

A rubric is versioned data: its content hash goes into every cache key and result, so a
changed rubric never silently mixes with old scores.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

import anyio
import attrs
import orjson

from livingeval._sync import run_sync
from livingeval.errors import ConfigError, InvalidJudgeReplyError
from livingeval.judge._cache import (
    CachedVote,
    JudgmentCache,
    content_digests,
    key_from_digests,
    key_prefix,
)
from livingeval.judge._llm import ChatModel, ChatRequest, ChatSession
from livingeval.judge._pairwise import render_response
from livingeval.records import JudgeInput, Verdict

__all__ = [
    "DEFAULT_RUBRIC",
    "Dimension",
    "Rubric",
    "RubricJudge",
    "RubricScores",
    "parse_rubric_reply",
]


@attrs.frozen(kw_only=True)
class Dimension:
    """One rubric criterion.

    .. versionadded:: 0.1.0
    """

    name: str
    """Key in the JSON reply and in the reported scores."""
    description: str
    """What the judge should assess."""


def _as_dimensions(value: Iterable[Dimension]) -> tuple[Dimension, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Rubric:
    """A versioned multi-criteria rubric scored ``low``..``high`` per dimension.

    Example:
        >>> DEFAULT_RUBRIC.names
        ('correctness', 'relevance', 'clarity', 'calibration', 'length')
        >>> len(DEFAULT_RUBRIC.hash)
        16

    .. versionadded:: 0.1.0
    """

    name: str
    """A short name."""
    version: str
    """A version label; bump it with any change."""
    dimensions: tuple[Dimension, ...] = attrs.field(converter=_as_dimensions)
    """The criteria."""
    low: int = 1
    """Lowest score."""
    high: int = 5
    """Highest score."""

    def __attrs_post_init__(self) -> None:
        if not self.dimensions or self.low >= self.high:
            raise ConfigError(
                f"a rubric needs dimensions and low < high; got {len(self.dimensions)} "
                f"dimensions, low={self.low}, high={self.high}"
            )

    @property
    def names(self) -> tuple[str, ...]:
        """Dimension names in order."""
        return tuple(d.name for d in self.dimensions)

    @property
    def hash(self) -> str:
        """A 16-hex-digit content hash of the whole rubric."""
        blob = orjson.dumps(
            [
                self.name,
                self.version,
                self.low,
                self.high,
                [[d.name, d.description] for d in self.dimensions],
            ]
        )
        return hashlib.sha256(blob).hexdigest()[:16]

    def render(self, *, prompt: str, answer: str) -> tuple[str, str]:
        """``(system, user)`` messages asking for one answer's scores as JSON."""
        lines = "\n".join(f"- {d.name}: {d.description}" for d in self.dimensions)
        example = ", ".join(f'"{d.name}": {self.high}' for d in self.dimensions)
        system = (
            "You are an impartial grader. Score the answer on each criterion with an integer "
            f"from {self.low} (worst) to {self.high} (best).\nCriteria:\n{lines}\n"
            f"Reply with only a JSON object such as {{{example}}}."
        )
        user = (
            f"[User request]\n{prompt}\n[End of user request]\n\n"
            f"[Answer]\n{answer}\n[End of answer]\n\nScore the answer. Reply with the JSON only."
        )
        return system, user


DEFAULT_RUBRIC = Rubric(
    name="livingeval-rubric",
    version="1",
    dimensions=(
        Dimension(name="correctness", description="Is the answer factually and logically right?"),
        Dimension(name="relevance", description="Does it address what was asked?"),
        Dimension(name="clarity", description="Is it clear and well organised?"),
        Dimension(
            name="calibration",
            description="Does it express uncertainty when, and only when, it should?",
        ),
        Dimension(name="length", description="Is its length appropriate (not padded or curt)?"),
    ),
)
"""The default rubric: correctness, relevance, clarity, calibration and length, 1-5."""


def parse_rubric_reply(text: str, rubric: Rubric) -> dict[str, int]:
    """Validated scores from a JSON reply: every dimension present, integers in range.

    Raises:
        InvalidJudgeReplyError: naming what is missing or out of range.

    Example:
        >>> r = Rubric(name="r", version="1", dimensions=[Dimension(name="x", description="x")])
        >>> parse_rubric_reply('Sure: {"x": 4}', r)
        {'x': 4}
    """
    start, end = text.find("{"), text.rfind("}")
    try:
        obj = orjson.loads(text[start : end + 1]) if 0 <= start < end else None
    except orjson.JSONDecodeError:
        obj = None
    if not isinstance(obj, dict):
        raise InvalidJudgeReplyError(f"the rubric reply holds no JSON object: {text[:120]!r}")
    scores: dict[str, int] = {}
    for name in rubric.names:
        value = obj.get(name)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidJudgeReplyError(
                f"the rubric reply lacks an integer for {name!r}: {name}={value!r}"
            )
        if not rubric.low <= value <= rubric.high:
            raise InvalidJudgeReplyError(
                f"score out of range: {name}={value}; expected {rubric.low}..{rubric.high}"
            )
        scores[name] = value
    return scores


@attrs.frozen(kw_only=True)
class RubricScores:
    """One answer's scores per dimension, with the rubric's hash.

    .. versionadded:: 0.1.0
    """

    scores: Mapping[str, int] = attrs.field(hash=False)
    """Score per dimension."""
    rubric_hash: str
    """The rubric's content hash."""
    low: int = 1
    """The rubric's lowest score."""
    high: int = 5
    """The rubric's highest score."""
    cached: bool = False
    """Whether the scores came from the cache."""
    cost_usd: float = 0.0
    """USD paid now."""

    def normalised(self) -> float:
        """Mean score mapped to [0, 1] (only for gates that need one number)."""
        span = self.high - self.low
        values = list(self.scores.values())
        return sum((v - self.low) / span for v in values) / len(values) if values else 0.0


_SESSIONS: contextvars.ContextVar[Mapping[int, tuple[ChatSession, JudgmentCache | None]]] = (
    contextvars.ContextVar("livingeval_rubric_sessions", default=MappingProxyType({}))
)


@attrs.frozen
class RubricJudge:
    """Scores candidate and baseline on a rubric (one call each), reported per dimension.

    Satisfies :class:`~livingeval.protocols.Judge`: the verdict's ``dimensions`` hold
    ``candidate.<name>`` and ``baseline.<name>`` scores; ``candidate_score`` and
    ``baseline_score`` are the normalised means, for gates that need one number.

    Args:
        model: The judge model.
        rubric: The rubric (its hash goes into cache keys and verdicts).
        temperature: Sampling temperature.
        concurrency: Calls on the wire at once.
        cache_path: SQLite judgment cache, or ``None``.
        max_tokens: Completion cap.

    Example:
        >>> from livingeval.judge import OpenAICompatibleJudge
        >>> RubricJudge(OpenAICompatibleJudge(base_url="http://127.0.0.1:1/v1", model="m")).rubric.name
        'livingeval-rubric'

    .. versionadded:: 0.1.0
    """

    model: ChatModel
    rubric: Rubric = attrs.field(default=DEFAULT_RUBRIC, kw_only=True)
    temperature: float = attrs.field(default=0.0, kw_only=True)
    concurrency: int = attrs.field(default=64, kw_only=True)
    cache_path: str | Path | None = attrs.field(default=None, kw_only=True)
    max_tokens: int = attrs.field(default=200, kw_only=True)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Open the model's HTTP session and the cache for several calls."""
        async with AsyncExitStack() as stack:
            chat = await stack.enter_async_context(self.model.open(concurrency=self.concurrency))
            cache = (
                stack.enter_context(JudgmentCache(self.cache_path))
                if self.cache_path is not None
                else None
            )
            token = _SESSIONS.set({**_SESSIONS.get(), id(self): (chat, cache)})
            try:
                yield
            finally:
                _SESSIONS.reset(token)

    async def score(self, prompt: str, answer: str) -> RubricScores:
        """Score one answer (re-asking once when the reply is invalid).

        Raises:
            InvalidJudgeReplyError: when the reply is still invalid after one re-ask.
        """
        active = _SESSIONS.get().get(id(self))
        if active is None:
            async with self.session():
                return await self.score(prompt, answer)
        chat, cache = active
        rubric_hash = self.rubric.hash
        prefix = key_prefix(
            judge=self.model.identity,
            template=rubric_hash,
            params={"temperature": self.temperature, "max_tokens": self.max_tokens},
        )
        key = key_from_digests(prefix, "rubric", 0, content_digests((prompt, answer)))
        if cache is not None:
            hit = cache.get_many([key]).get(key)
            if hit is not None:
                try:
                    scores = parse_rubric_reply(hit.reply, self.rubric)
                except InvalidJudgeReplyError:
                    pass
                else:
                    return RubricScores(
                        scores=scores,
                        rubric_hash=rubric_hash,
                        low=self.rubric.low,
                        high=self.rubric.high,
                        cached=True,
                    )
        system, user = self.rubric.render(prompt=prompt, answer=answer)
        request = ChatRequest(
            system=system, user=user, temperature=self.temperature, max_tokens=self.max_tokens
        )
        cost = 0.0
        error: InvalidJudgeReplyError | None = None
        for _ in range(2):
            completion = await chat.complete(request)
            cost += completion.cost_usd
            try:
                scores = parse_rubric_reply(completion.text, self.rubric)
            except InvalidJudgeReplyError as exc:
                error = exc
                continue
            if cache is not None:
                cache.put(
                    key,
                    CachedVote(
                        reply=completion.text,
                        input_tokens=completion.input_tokens,
                        output_tokens=completion.output_tokens,
                        cost_usd=cost,
                        served_by=completion.served_by,
                    ),
                    judge=self.model.identity,
                    template=rubric_hash,
                )
            return RubricScores(
                scores=scores,
                rubric_hash=rubric_hash,
                low=self.rubric.low,
                high=self.rubric.high,
                cost_usd=cost,
            )
        assert error is not None
        raise error

    def score_sync(self, prompt: str, answer: str) -> RubricScores:
        """Synchronous twin of :meth:`score` (works inside a running loop, e.g. Jupyter).

        Raises:
            InvalidJudgeReplyError: when the reply is still invalid after one re-ask.
        """
        return run_sync(self.score, prompt, answer)

    def judge_sync(self, item: JudgeInput) -> Verdict:
        """Synchronous twin of :meth:`judge` (works inside a running loop, e.g. Jupyter)."""
        return run_sync(self.judge, item)

    async def judge(self, item: JudgeInput) -> Verdict:
        """:class:`~livingeval.protocols.Judge`: score both answers, report per dimension."""
        results: dict[str, RubricScores] = {}
        errors: list[Exception] = []

        async def run(role: str, answer: str) -> None:
            try:
                results[role] = await self.score(item.prompt_text, answer)
            except Exception as exc:  # re-raised bare below, not as an ExceptionGroup
                errors.append(exc)

        async def both() -> None:
            async with anyio.create_task_group() as tg:
                tg.start_soon(run, "candidate", render_response(item.candidate))
                tg.start_soon(run, "baseline", render_response(item.baseline))

        if _SESSIONS.get().get(id(self)) is None:
            async with self.session():
                await both()
        else:
            await both()
        if errors:
            raise errors[0]
        cand, base = results["candidate"], results["baseline"]
        c, b = cand.normalised(), base.normalised()
        dimensions: dict[str, float] = {}
        for role, scores in (("candidate", cand), ("baseline", base)):
            for name, value in scores.scores.items():
                dimensions[f"{role}.{name}"] = float(value)
        details: dict[str, Any] = {
            "rubric": f"{self.rubric.name}@{self.rubric.version}",
            "rubric_hash": cand.rubric_hash,
            "cached": [cand.cached, base.cached],
        }
        return Verdict(
            item_id=item.item_id,
            kind="rubric",
            candidate_score=c,
            baseline_score=b,
            outcome="candidate" if c > b else "baseline" if b > c else "tie",
            dimensions=dimensions,
            judge_calls=int(not cand.cached) + int(not base.cached),
            cost_usd=cand.cost_usd + base.cost_usd,
            details=details,
        )
