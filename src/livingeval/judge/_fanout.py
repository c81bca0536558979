"""The fan-out: bounded workers over an item stream, failures as values, a sync twin."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AsyncExitStack,
    asynccontextmanager,
    contextmanager,
)
from typing import Any, TypeVar

import anyio
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream

from livingeval._sync import run_sync, stream_sync
from livingeval.errors import ConfigError
from livingeval.protocols import Judge
from livingeval.records import JudgeFailure, JudgeInput, Verdict

__all__ = [
    "Progress",
    "failure_from",
    "fan_out",
    "judge_all",
    "judge_all_sync",
    "stream_judgments",
    "stream_judgments_sync",
]

T = TypeVar("T")
R = TypeVar("R")


@attrs.frozen(kw_only=True)
class Progress:
    """Where a fan-out stands, passed to progress callbacks after each item.

    .. versionadded:: 0.1.0
    """

    done: int
    """Items finished (judged or failed)."""
    total: int | None
    """Items in total, when known."""
    failed: int
    """Items that ended as failures."""


def failure_from(item_id: str, exc: Exception) -> JudgeFailure:
    """A :class:`~livingeval.records.JudgeFailure` value for ``exc`` raised on ``item_id``."""
    attempts = getattr(exc, "attempts", 1)
    cause = str(exc) or type(exc).__name__
    if exc.__cause__ is not None and str(exc.__cause__) not in cause:
        cause += f" (caused by {type(exc.__cause__).__name__}: {exc.__cause__})"
    return JudgeFailure(
        item_id=item_id,
        error_type=type(exc).__name__,
        cause=cause,
        attempts=attempts if isinstance(attempts, int) else 1,
    )


async def fan_out(
    fn: Callable[[T], Awaitable[R]],
    items: Iterable[T],
    *,
    workers: int,
    emit: Callable[[R], None],
) -> None:
    """Run ``fn`` over ``items`` with at most ``workers`` in flight; ``emit`` each result.

    ``fn`` must turn expected failures into values; anything it raises is a bug and
    propagates (cancelling the rest), as does cancellation.
    """
    if workers < 1:
        raise ConfigError(f"concurrency must be >= 1; got concurrency={workers}")
    iterator = iter(items)

    async def worker() -> None:
        for item in iterator:  # one shared iterator: items are pulled lazily
            emit(await fn(item))

    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(worker)


@contextmanager
def unwrap_single_group() -> Iterator[None]:
    """Re-raise a task group's lone exception bare, so callers can ``except`` it directly."""
    try:
        yield
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from group.exceptions[0].__cause__
        raise


def _session_of(judge: Any) -> AbstractAsyncContextManager[Any] | None:
    opener = getattr(judge, "session", None)
    if callable(opener):
        session = opener()
        if isinstance(session, AbstractAsyncContextManager):
            return session
    return None


@asynccontextmanager
async def stream_judgments(
    judge: Judge,
    items: Iterable[JudgeInput],
    *,
    concurrency: int = 64,
    timeout: float | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> AsyncIterator[MemoryObjectReceiveStream[Verdict | JudgeFailure]]:
    """Judge ``items`` and stream each :class:`Verdict` or :class:`JudgeFailure` as it completes.

    Leaving the block early cancels the calls in flight (votes already made stay cached).

    Example:
        >>> async def main(judge, items):  # doctest: +SKIP
        ...     async with stream_judgments(judge, items) as results:
        ...         async for result in results:
        ...             print(result.item_id)
    """
    total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
    send, receive = anyio.create_memory_object_stream[Verdict | JudgeFailure](
        max_buffer_size=float("inf")
    )
    counts = {"done": 0, "failed": 0}

    async def one(item: JudgeInput) -> Verdict | JudgeFailure:
        try:
            if timeout is None:
                return await judge.judge(item)
            with anyio.fail_after(timeout):
                return await judge.judge(item)
        except Exception as exc:  # failures are values; bugs in fan_out itself propagate
            return failure_from(item.item_id, exc)

    def emit(result: Verdict | JudgeFailure) -> None:
        counts["done"] += 1
        counts["failed"] += isinstance(result, JudgeFailure)
        try:
            send.send_nowait(result)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return  # the consumer left early; the run is being cancelled
        if progress is not None:
            progress(Progress(done=counts["done"], total=total, failed=counts["failed"]))

    async def produce() -> None:
        async with send, AsyncExitStack() as stack:
            session = _session_of(judge)
            if session is not None:
                await stack.enter_async_context(session)
            await fan_out(one, items, workers=concurrency, emit=emit)

    with unwrap_single_group():
        async with anyio.create_task_group() as tg:
            tg.start_soon(produce)
            try:
                yield receive
            finally:
                receive.close()
                tg.cancel_scope.cancel()


async def judge_all(
    judge: Judge,
    items: Iterable[JudgeInput],
    *,
    concurrency: int = 64,
    timeout: float | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> list[Verdict | JudgeFailure]:
    """Judge every item with any :class:`~livingeval.protocols.Judge`; failures are values.

    Each item becomes a :class:`~livingeval.records.Verdict` or a
    :class:`~livingeval.records.JudgeFailure` carrying its cause; one failing item never
    aborts the run. Results come in completion order. A judge with a ``session()`` async
    context manager (such as :class:`PairwiseJudge`) is opened once for the whole run.

    Args:
        judge: Any judge.
        items: The items.
        concurrency: Items in flight at once.
        timeout: Seconds allowed per item (``None``: the judge's own per-call timeouts).
        progress: Called after each item with a :class:`Progress`.

    Returns:
        One value per item.

    Example:
        >>> import anyio
        >>> from livingeval.records import JudgeInput, Message, Response, Verdict
        >>> class Always:
        ...     async def judge(self, item):
        ...         return Verdict(item_id=item.item_id, kind="pairwise", candidate_score=1.0,
        ...                        baseline_score=0.0, outcome="candidate")
        >>> item = JudgeInput(item_id="1", messages=(Message(role="user", content="hi"),),
        ...                   candidate=Response(content="a"), baseline=Response(content="b"))
        >>> [r.outcome for r in judge_all_sync(Always(), [item])]
        ['candidate']
    """
    results: list[Verdict | JudgeFailure] = []
    async with stream_judgments(
        judge, items, concurrency=concurrency, timeout=timeout, progress=progress
    ) as stream:
        async for result in stream:
            results.append(result)
    return results


def judge_all_sync(
    judge: Judge,
    items: Iterable[JudgeInput],
    *,
    concurrency: int = 64,
    timeout: float | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> list[Verdict | JudgeFailure]:
    """Synchronous twin of :func:`judge_all` (works inside a running loop, e.g. Jupyter)."""

    async def call() -> list[Verdict | JudgeFailure]:
        return await judge_all(
            judge, items, concurrency=concurrency, timeout=timeout, progress=progress
        )

    return run_sync(call)


@contextmanager
def stream_judgments_sync(
    judge: Judge,
    items: Iterable[JudgeInput],
    *,
    concurrency: int = 64,
    timeout: float | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Iterator[Iterator[Verdict | JudgeFailure]]:
    """Synchronous twin of :func:`stream_judgments`: a blocking iterator of results.

    Works inside a running loop (e.g. Jupyter). Leaving the block early cancels the calls
    in flight.

    Example:
        >>> with stream_judgments_sync(judge, items) as results:  # doctest: +SKIP
        ...     for result in results:
        ...         print(result.item_id)
    """
    with stream_sync(
        lambda: stream_judgments(
            judge, items, concurrency=concurrency, timeout=timeout, progress=progress
        )
    ) as results:
        yield results
