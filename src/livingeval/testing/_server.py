"""A loopback OpenAI-compatible server for tests, benchmarks and users' own CI.

It answers over real HTTP on 127.0.0.1:

* ``POST /v1/chat/completions`` (OpenAI shape) and ``POST /v1/messages`` (Anthropic shape):
  the reply text comes from a *rule*, a function of the last user message's text. Rules for
  pairwise prompts find the two answers between ``[Answer A]``/``[End of Answer A]`` and
  ``[Answer B]``/``[End of Answer B]`` markers (livingeval's default template uses them).
* ``POST /v1/embeddings``: deterministic hashed unit vectors (``dimensions`` defaults to 64).
* ``GET /stats``: counters as JSON. Arrival times are kept too:
  :meth:`LoopbackServer.peak_rate` is the most requests within any window of seconds.

Faults are injected per request from a seeded generator: HTTP 429 with ``Retry-After``,
HTTP 500, hangs longer than any sane client timeout, truncated JSON bodies and malformed
(verdict-free) replies. Latency is drawn uniformly from ``latency=(low, high)`` seconds.

It speaks lean keep-alive HTTP/1.1 straight on an asyncio protocol (no per-request routing,
middleware or header objects), so that one core serves thousands of requests per second and
the server is never what limits a client benchmark; :meth:`LoopbackServer.app` wraps the
same replies in an ``aiohttp.web`` application for embedding.

Run it in-process (``with LoopbackServer(...) as server: server.url``; it serves from its
own thread and event loop) or as a subprocess, which prints its base URL on stdout::

    python -m livingeval.testing._server --latency 0.025 0.075 --throttle 0.1
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import math
import random
import re
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, cast

import anyio
import anyio.from_thread
import attrs
import orjson
from aiohttp import web

__all__ = [
    "Faults",
    "LoopbackServer",
    "Rule",
    "always",
    "extract_answers",
    "position_biased",
    "prefer_containing",
    "prefer_longer",
    "scripted",
]

Rule = Callable[[str], str]
"""A reply rule: the last user message's text in, the reply text out."""

_Headers = tuple[tuple[str, str], ...]
"""Extra reply headers (Content-Type and Content-Length are always sent)."""
_Reply = tuple[int, _Headers, bytes]
"""A reply: status, extra headers and the JSON body."""

_ANSWER = {
    letter: re.compile(rf"\[Answer {letter}\]\n(.*?)\n\[End of Answer {letter}\]", re.DOTALL)
    for letter in "AB"
}


def extract_answers(text: str) -> tuple[str, str] | None:
    """The two answers of a pairwise prompt, first-shown (A) first, or ``None``.

    Example:
        >>> extract_answers("[Answer A]\\nyes\\n[End of Answer A]\\n[Answer B]\\nno\\n[End of Answer B]")
        ('yes', 'no')
    """
    a = _ANSWER["A"].search(text)
    b = _ANSWER["B"].search(text)
    if a is None or b is None:
        return None
    return a.group(1), b.group(1)


def prefer_longer(text: str) -> str:
    """Rule: the longer answer wins (``A``/``B``); equal lengths are a tie.

    A prompt without two answers gets a short plain reply, so the server also works as a
    chat model for responders.
    """
    answers = extract_answers(text)
    if answers is None:
        return f"ok: {text[:40]}"
    a, b = answers
    if len(a) == len(b):
        return '{"winner": "tie"}'
    return "A" if len(a) > len(b) else "B"


def prefer_containing(marker: str) -> Rule:
    """Rule factory: the answer containing ``marker`` wins; neither or both is a tie."""

    def rule(text: str) -> str:
        answers = extract_answers(text)
        if answers is None:
            return f"ok: {text[:40]}"
        a, b = (marker in answer for answer in answers)
        if a == b:
            return '{"winner": "tie"}'
        return '{"winner": "A"}' if a else '{"winner": "B"}'

    return rule


def always(reply: str) -> Rule:
    """Rule factory: always the same reply (``always("A")`` is a judge with position bias)."""
    return lambda text: reply


def scripted(replies: Iterable[str]) -> Rule:
    """Rule factory: the given replies in turn, cycling."""
    cycle = itertools.cycle(list(replies))
    lock = threading.Lock()

    def rule(text: str) -> str:
        with lock:
            return next(cycle)

    return rule


def position_biased(base: Rule, *, rate: float, seed: int = 0) -> Rule:
    """Rule factory: with probability ``rate`` answer ``A`` (the first shown) regardless.

    A judge whose preference survives a swap with probability ``1 - rate``; used to
    simulate the swap-flip rates real judges show (10-45%).
    """
    rng = random.Random(seed)
    lock = threading.Lock()

    def rule(text: str) -> str:
        with lock:
            biased = rng.random() < rate
        return "A" if biased else base(text)

    return rule


@attrs.frozen(kw_only=True)
class Faults:
    """Which share of requests get which injected fault (drawn independently, in order).

    Example:
        >>> Faults(throttle=0.1, server_error=0.05).throttle
        0.1
    """

    throttle: float = 0.0
    """Share answered HTTP 429 with ``Retry-After: retry_after``."""
    retry_after: float = 1.0
    """The ``Retry-After`` seconds sent with each 429."""
    server_error: float = 0.0
    """Share answered HTTP 500."""
    timeout: float = 0.0
    """Share that hang for ``hang`` seconds before answering (clients time out)."""
    hang: float = 30.0
    """How long a hanging request hangs."""
    truncated: float = 0.0
    """Share answered 200 with the JSON body cut in half."""
    malformed: float = 0.0
    """Share answered 200 with a well-formed reply that holds no verdict."""


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _last_user_text(messages: Any) -> str:
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                return _text_of(message.get("content"))
    return ""


def _embedding(text: str, dim: int) -> list[float]:
    values: list[float] = []
    counter = 0
    while len(values) < dim:
        digest = hashlib.blake2b(f"{counter}:{text}".encode(), digest_size=64).digest()
        values.extend((byte - 127.5) / 127.5 for byte in digest)
        counter += 1
    values = values[:dim]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


class LoopbackServer(AbstractContextManager["LoopbackServer"]):
    """An OpenAI-compatible (and Anthropic-compatible) server on 127.0.0.1.

    Args:
        rule: Reply rule for chat requests (default :func:`prefer_longer`).
        latency: ``(low, high)`` seconds; each request waits a uniform draw.
        faults: Injected faults.
        seed: Seed of the fault and latency draws.
        port: Port to bind; 0 picks a free one.

    Example:
        >>> with LoopbackServer() as server:  # doctest: +SKIP
        ...     server.url
        'http://127.0.0.1:41234/v1'
    """

    def __init__(
        self,
        *,
        rule: Rule = prefer_longer,
        latency: tuple[float, float] = (0.0, 0.0),
        faults: Faults | None = None,
        seed: int = 0,
        port: int = 0,
    ) -> None:
        self.rule = rule
        self.latency = latency
        self.faults = faults if faults is not None else Faults()
        self.port = port
        self._rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.arrivals: list[float] = []
        """``time.monotonic()`` of every request's arrival, in order."""
        self._listener: asyncio.Server | None = None
        self._connections: set[_HttpConnection] = set()
        self._portal_cm: Any = None
        self._portal: anyio.from_thread.BlockingPortal | None = None

    # ------------------------------------------------------------------ app

    def app(self) -> web.Application:
        """The same replies as an ``aiohttp.web`` application (for embedding in another server)."""

        async def handle(request: web.Request) -> web.Response:
            status, headers, body = await self.respond(
                request.method, request.path_qs, await request.read()
            )
            return web.Response(
                status=status, body=body, headers=dict(headers), content_type="application/json"
            )

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        return app

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> dict[str, int]:
        """Counters: ``requests``, ``replied`` (billable 200s), and one per fault kind."""
        return dict(self.counts)

    def peak_rate(self, window: float = 1.0) -> int:
        """The most requests that arrived within any ``window`` seconds (sliding).

        Example:
            >>> server = LoopbackServer()
            >>> server.arrivals = [0.0, 0.4, 0.9, 1.5]
            >>> server.peak_rate(1.0)
            3
        """
        times = sorted(self.arrivals)
        peak = start = 0
        for end, now in enumerate(times):
            while now - times[start] >= window:
                start += 1
            peak = max(peak, end - start + 1)
        return peak

    async def _delay_and_fault(self) -> _Reply | str | None:
        """Sleep the latency, then maybe return a fault reply (or a fault tag)."""
        self.arrivals.append(time.monotonic())
        rng = self._rng
        low, high = self.latency
        delay = rng.uniform(low, high) if high > 0 else 0.0
        faults = self.faults
        draw = rng.random()
        counts = self.counts
        counts["requests"] += 1
        if delay:
            await asyncio.sleep(delay)
        edge = faults.throttle
        if draw < edge:
            counts["throttled"] += 1
            return (
                429,
                (("Retry-After", f"{faults.retry_after:g}"),),
                b'{"error": {"message": "rate limited (injected)"}}',
            )
        edge += faults.server_error
        if draw < edge:
            counts["server_errors"] += 1
            return 500, (), b'{"error": {"message": "internal error (injected)"}}'
        edge += faults.timeout
        if draw < edge:
            counts["hangs"] += 1
            await asyncio.sleep(faults.hang)
            return None
        edge += faults.truncated
        if draw < edge:
            counts["truncated"] += 1
            return "truncated"
        edge += faults.malformed
        if draw < edge:
            counts["malformed"] += 1
            return "malformed"
        return None

    @staticmethod
    def _json(obj: Any, fault: str | None) -> _Reply:
        body = orjson.dumps(obj)
        if fault == "truncated":
            body = body[: len(body) // 2]
        return 200, (), body

    async def respond(
        self, method: str, path: str, body: bytes
    ) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
        """The reply to one request: ``(status, extra headers, JSON body)``.

        Both transports (the lean built-in one and :meth:`app`) serve these replies. It
        counts the request, sleeps the latency and draws the faults, as over HTTP.

        Args:
            method: ``"POST"`` or ``"GET"``.
            path: The request target, e.g. ``"/v1/chat/completions"`` (a query is ignored).
            body: The raw request body (a JSON object for the POST routes).

        Returns:
            The status (404/405 for an unknown route or method, 400 for a body that is
            not a JSON object), extra headers beyond Content-Type and Content-Length
            (``Retry-After`` on a 429), and the JSON body.

        Example:
            >>> import anyio
            >>> status, headers, body = anyio.run(LoopbackServer().respond, "GET", "/stats", b"")
            >>> status, body
            (200, b'{}')

        .. versionadded:: 0.1.0
        """
        route = _ROUTES.get(path.partition("?")[0])
        if route is None:
            return _error(404, f"no route {path}; try POST /v1/chat/completions")
        verb, handler = route
        if method != verb:
            return _error(405, f"{path} takes {verb}, not {method}")
        if handler is None:
            return 200, (), orjson.dumps(self.stats())
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return _error(400, f"the request body is not JSON ({exc}); send a JSON object")
        if not isinstance(payload, dict):
            return _error(400, "the request body must be a JSON object")
        return await handler(self, payload)

    async def _chat(self, payload: dict[str, Any]) -> _Reply:
        fault = await self._delay_and_fault()
        if isinstance(fault, tuple):
            return fault
        text = _last_user_text(payload.get("messages"))
        reply = "I cannot tell which answer is better." if fault == "malformed" else self.rule(text)
        self.counts["replied"] += 1
        obj = {
            "id": f"chatcmpl-{self.counts['replied']}",
            "object": "chat.completion",
            "model": payload.get("model", "loopback"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": len(text) // 4 + 8,
                "completion_tokens": max(1, len(reply) // 4),
                "total_tokens": len(text) // 4 + 8 + max(1, len(reply) // 4),
            },
        }
        return self._json(obj, fault)

    async def _messages(self, payload: dict[str, Any]) -> _Reply:
        fault = await self._delay_and_fault()
        if isinstance(fault, tuple):
            return fault
        text = _last_user_text(payload.get("messages"))
        reply = "I cannot tell which answer is better." if fault == "malformed" else self.rule(text)
        self.counts["replied"] += 1
        obj = {
            "id": f"msg_{self.counts['replied']}",
            "type": "message",
            "role": "assistant",
            "model": payload.get("model", "loopback"),
            "content": [{"type": "text", "text": reply}],
            "stop_reason": "end_turn",
            "usage": {
                "input_tokens": len(text) // 4 + 8,
                "output_tokens": max(1, len(reply) // 4),
            },
        }
        return self._json(obj, fault)

    async def _embeddings(self, payload: dict[str, Any]) -> _Reply:
        fault = await self._delay_and_fault()
        if isinstance(fault, tuple):
            return fault
        inputs = payload.get("input", [])
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        dim = int(payload.get("dimensions", 64))
        self.counts["replied"] += 1
        obj = {
            "object": "list",
            "model": payload.get("model", "loopback"),
            "data": [
                {"object": "embedding", "index": i, "embedding": _embedding(str(t), dim)}
                for i, t in enumerate(texts)
            ],
            "usage": {"prompt_tokens": sum(len(str(t)) // 4 for t in texts)},
        }
        return self._json(obj, fault)

    # ------------------------------------------------------------------ lifecycle

    async def start_async(self) -> None:
        """Start serving in the running event loop (asyncio backend)."""
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(
            lambda: _HttpConnection(self), "127.0.0.1", self.port
        )
        self.port = int(self._listener.sockets[0].getsockname()[1])

    async def stop_async(self) -> None:
        """Stop serving: close the listener and every open connection."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.close()
        tasks = [task for c in self._connections if (task := c.close()) is not None]
        self._connections.clear()
        if tasks:
            await asyncio.wait(tasks)
        await listener.wait_closed()

    def start(self) -> LoopbackServer:
        """Start serving from a background thread with its own event loop."""
        self._portal_cm = anyio.from_thread.start_blocking_portal(backend="asyncio")
        self._portal = self._portal_cm.__enter__()
        self._portal.call(self.start_async)
        return self

    def stop(self) -> None:
        """Stop the background server and its thread."""
        if self._portal is not None:
            self._portal.call(self.stop_async)
            self._portal_cm.__exit__(None, None, None)
            self._portal = None
            self._portal_cm = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


_Handler = Callable[[LoopbackServer, dict[str, Any]], Awaitable[_Reply]]
_ROUTES: dict[str, tuple[str, _Handler | None]] = {
    "/v1/chat/completions": ("POST", LoopbackServer._chat),
    "/v1/messages": ("POST", LoopbackServer._messages),
    "/v1/embeddings": ("POST", LoopbackServer._embeddings),
    "/stats": ("GET", None),  # the counters, answered by respond() itself
}


def _error(status: int, message: str) -> _Reply:
    return status, (), orjson.dumps({"error": {"message": message}})


_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    411: b"Length Required",
    413: b"Payload Too Large",
    429: b"Too Many Requests",
    500: b"Internal Server Error",
}
_MAX_HEAD = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024

_Request = tuple[str, str, bytes, bool, _Reply | None]
"""Method, target, body, whether to close after replying, and a ready reply (a bad request)."""


class _HttpConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; its requests are answered one at a time, in order.

    Request bodies need a ``Content-Length`` (chunked uploads get HTTP 411);
    ``Expect: 100-continue`` is answered. The replies come from
    :meth:`LoopbackServer.respond`.
    """

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.buffer = bytearray()
        self.queue: deque[_Request] = deque()
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None
        self.closing = False
        self.continued = False  # sent "100 Continue" for the request being received

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is no subclass
        self.server._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.server._connections.discard(self)
        if self.task is not None:
            self.task.cancel()  # e.g. a hanging request whose client gave up

    def close(self) -> asyncio.Task[None] | None:
        """Close the connection; return its request task (cancelled) if one is running."""
        task = self.task
        if task is not None:
            task.cancel()
        if self.transport is not None:
            self.transport.close()
        return task

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while not self.closing:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    self._enqueue(_error(400, "the request head is too large"))
                return
            lines = bytes(buffer[:end]).split(b"\r\n")
            parts = lines[0].split(b" ")
            if len(parts) != 3:
                self._enqueue(_error(400, "malformed request line"))
                return
            length = 0
            close = parts[2] == b"HTTP/1.0"
            expect = False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    if not value.strip().isdigit():
                        self._enqueue(_error(400, "bad Content-Length"))
                        return
                    length = int(value)
                elif name == b"transfer-encoding":
                    self._enqueue(_error(411, "send the request body with a Content-Length"))
                    return
                elif name == b"connection":
                    token = value.strip().lower()
                    close = token == b"close" or (close and token != b"keep-alive")
                elif name == b"expect":
                    expect = value.strip().lower() == b"100-continue"
            if length > _MAX_BODY:
                self._enqueue(_error(413, "the request body is too large"))
                return
            start = end + 4
            if len(buffer) < start + length:
                if expect and not self.continued and self.transport is not None:
                    self.continued = True  # e.g. curl, which waits for it before the body
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                return
            self.continued = False
            body = bytes(buffer[start : start + length])
            del buffer[: start + length]
            self.closing = close
            method, target = parts[0].decode("latin-1"), parts[1].decode("latin-1")
            self.queue.append((method, target, body, close, None))
            if self.task is None:
                self.task = asyncio.get_running_loop().create_task(self._serve())

    def _enqueue(self, reply: _Reply) -> None:
        """Answer ``reply`` after the requests before it, then close (a broken request)."""
        self.closing = True
        self.queue.append(("", "", b"", True, reply))
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._serve())

    async def _serve(self) -> None:
        queue = self.queue
        while queue:
            method, target, body, close, ready = queue.popleft()
            status, headers, payload = (
                ready if ready is not None else await self.server.respond(method, target, body)
            )
            transport = self.transport
            if transport is None:
                return
            head = "".join(f"{name}: {value}\r\n" for name, value in headers)
            transport.write(
                b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                b"%s%s\r\n%s"
                % (
                    status,
                    _REASONS.get(status, b"Unknown"),
                    len(payload),
                    head.encode("latin-1"),
                    b"Connection: close\r\n" if close else b"",
                    payload,
                )
            )
            if close:
                transport.close()
                return
        self.task = None


_RULES: dict[str, Rule] = {
    "longer": prefer_longer,
    "first": always("A"),
    "second": always("B"),
    "tie": always('{"winner": "tie"}'),
}


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until killed; print the base URL on stdout first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, nargs=2, default=(0.0, 0.0))
    parser.add_argument("--rule", choices=sorted(_RULES), default="longer")
    parser.add_argument("--seed", type=int, default=0)
    for name in ("throttle", "server-error", "timeout", "truncated", "malformed"):
        parser.add_argument(f"--{name}", type=float, default=0.0)
    parser.add_argument("--retry-after", type=float, default=1.0)
    parser.add_argument("--hang", type=float, default=30.0)
    args = parser.parse_args(argv)
    server = LoopbackServer(
        rule=_RULES[args.rule],
        latency=(args.latency[0], args.latency[1]),
        faults=Faults(
            throttle=args.throttle,
            retry_after=args.retry_after,
            server_error=args.server_error,
            timeout=args.timeout,
            hang=args.hang,
            truncated=args.truncated,
            malformed=args.malformed,
        ),
        seed=args.seed,
        port=args.port,
    )

    async def serve() -> None:
        await server.start_async()
        sys.stdout.write(server.url + "\n")
        sys.stdout.flush()
        await anyio.sleep_forever()

    anyio.run(serve, backend="asyncio")


if __name__ == "__main__":
    main()
