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

Run it in-process (``with LoopbackServer(...) as server: server.url``; it serves from its
own thread and event loop) or as a subprocess, which prints its base URL on stdout::

    python -m livingeval.testing._server --latency 0.025 0.075 --throttle 0.1
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import math
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

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
        self._runner: web.AppRunner | None = None
        self._portal_cm: Any = None
        self._portal: anyio.from_thread.BlockingPortal | None = None

    # ------------------------------------------------------------------ app

    def app(self) -> web.Application:
        """The aiohttp application (for embedding in another server)."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/stats", self._stats)
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

    async def _delay_and_fault(self) -> web.Response | str | None:
        """Sleep the latency, then maybe return a fault response (or a fault tag)."""
        self.arrivals.append(time.monotonic())
        rng = self._rng
        low, high = self.latency
        delay = rng.uniform(low, high) if high > 0 else 0.0
        faults = self.faults
        draw = rng.random()
        self.counts["requests"] += 1
        if delay:
            await anyio.sleep(delay)
        edge = faults.throttle
        if draw < edge:
            self.counts["throttled"] += 1
            return web.Response(
                status=429,
                body=b'{"error": {"message": "rate limited (injected)"}}',
                headers={"Retry-After": f"{faults.retry_after:g}"},
                content_type="application/json",
            )
        edge += faults.server_error
        if draw < edge:
            self.counts["server_errors"] += 1
            return web.Response(
                status=500,
                body=b'{"error": {"message": "internal error (injected)"}}',
                content_type="application/json",
            )
        edge += faults.timeout
        if draw < edge:
            self.counts["hangs"] += 1
            await anyio.sleep(faults.hang)
            return None
        edge += faults.truncated
        if draw < edge:
            self.counts["truncated"] += 1
            return "truncated"
        edge += faults.malformed
        if draw < edge:
            self.counts["malformed"] += 1
            return "malformed"
        return None

    @staticmethod
    def _json(obj: Any, fault: str | None) -> web.Response:
        body = orjson.dumps(obj)
        if fault == "truncated":
            body = body[: len(body) // 2]
        return web.Response(body=body, content_type="application/json")

    async def _chat(self, request: web.Request) -> web.Response:
        payload = orjson.loads(await request.read())
        fault = await self._delay_and_fault()
        if isinstance(fault, web.Response):
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
        return self._json(obj, fault if isinstance(fault, str) else None)

    async def _messages(self, request: web.Request) -> web.Response:
        payload = orjson.loads(await request.read())
        fault = await self._delay_and_fault()
        if isinstance(fault, web.Response):
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
        return self._json(obj, fault if isinstance(fault, str) else None)

    async def _embeddings(self, request: web.Request) -> web.Response:
        payload = orjson.loads(await request.read())
        fault = await self._delay_and_fault()
        if isinstance(fault, web.Response):
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
        return self._json(obj, fault if isinstance(fault, str) else None)

    async def _stats(self, request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(self.stats()), content_type="application/json")

    # ------------------------------------------------------------------ lifecycle

    async def start_async(self) -> None:
        """Start serving in the running event loop (asyncio backend)."""
        runner = web.AppRunner(
            self.app(), access_log=None, handle_signals=False, shutdown_timeout=0.2
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        await site.start()
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])

    async def stop_async(self) -> None:
        """Stop serving."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

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
