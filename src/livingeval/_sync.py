"""The blocking-portal helper behind every ``*_sync`` twin.

``run_sync(fn, *args)`` runs an async function to completion from synchronous code. It
uses a fresh event loop in a worker thread (anyio's blocking portal), so it also works
where an event loop is already running in this thread, as in a Jupyter notebook.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import TypeVar, TypeVarTuple

import anyio
import anyio.from_thread
from anyio.abc import ObjectReceiveStream

__all__ = ["run_sync", "stream_sync"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


def run_sync(fn: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> T:
    """Run ``await fn(*args)`` to completion and return its result.

    Loop-bound resources (HTTP sessions, limiters) must be created inside ``fn`` so they
    belong to the portal's loop.

    Example:
        >>> import anyio
        >>> async def add(a: int, b: int) -> int:
        ...     await anyio.sleep(0)
        ...     return a + b
        >>> run_sync(add, 1, 2)
        3
    """

    async def _call() -> T:
        return await fn(*args)

    with anyio.from_thread.start_blocking_portal() as portal:
        return portal.call(_call)


@contextmanager
def stream_sync(
    open_stream: Callable[[], AbstractAsyncContextManager[ObjectReceiveStream[T]]],
) -> Iterator[Iterator[T]]:
    """Enter ``open_stream()`` in a portal's loop and yield a blocking iterator over it.

    The sync twin of an ``async with ... as stream: async for item in stream`` entry point.
    Leaving the ``with`` block early exits the async context manager (which cancels the
    work still in flight) in the portal's loop.

    Example:
        >>> import anyio
        >>> from contextlib import asynccontextmanager
        >>> @asynccontextmanager
        ... async def numbers():
        ...     send, receive = anyio.create_memory_object_stream[int](3)
        ...     async with send:
        ...         for i in range(3):
        ...             send.send_nowait(i)
        ...     async with receive:
        ...         yield receive
        >>> with stream_sync(numbers) as items:
        ...     list(items)
        [0, 1, 2]
    """
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(open_stream()) as stream,
    ):

        def items() -> Iterator[T]:
            while True:
                try:
                    yield portal.call(stream.receive)
                except anyio.EndOfStream:
                    return

        yield items()
