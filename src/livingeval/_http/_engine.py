"""The engine behind every HTTP call livingeval makes (see the package docstring)."""

from __future__ import annotations

import asyncio
import contextvars
import random
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol

import anyio
import attrs
import orjson
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from livingeval._http._wire import WireClient
from livingeval.errors import ConfigError, JudgeError, TransientJudgeError

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "JSON_HEADERS",
    "TRANSPORTS",
    "HttpEngine",
    "HttpStatistics",
    "JsonReply",
    "Limiter",
    "RateLimiter",
    "RetryPolicy",
    "Transport",
    "check_rates",
    "check_transport",
    "classify_status",
    "on_backoff",
    "parse_retry_after",
    "transport_validator",
]

Sleep = Callable[[float], Awaitable[None]]

Transport = Literal["wire", "aiohttp"]
TRANSPORTS: tuple[Transport, ...] = ("wire", "aiohttp")
"""The HTTP clients an :class:`HttpEngine` can send through (the first is the default)."""


def check_transport(transport: str) -> None:
    """Raise :class:`~livingeval.errors.ConfigError` unless ``transport`` is in :data:`TRANSPORTS`."""
    if transport not in TRANSPORTS:
        raise ConfigError(
            f"transport must be one of {', '.join(map(repr, TRANSPORTS))}; "
            f"got transport={transport!r}",
            field="transport",
        )


def transport_validator(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    """:func:`check_transport` as an ``attrs`` field validator."""
    check_transport(value)


_BACKOFF_HOOK: contextvars.ContextVar[Callable[[bool], None] | None] = contextvars.ContextVar(
    "livingeval_backoff_hook", default=None
)


@contextmanager
def on_backoff(hook: Callable[[bool], None]) -> Iterator[None]:
    """Call ``hook(True)`` when a request in this context starts sleeping out a backoff.

    ``hook(False)`` follows when the sleep ends (or is cancelled). A fan-out uses it to put
    another worker on the freed slot, so a ``Retry-After`` never idles the concurrency.
    Tasks started inside the block inherit it.
    """
    token = _BACKOFF_HOOK.set(hook)
    try:
        yield
    finally:
        _BACKOFF_HOOK.reset(token)


JSON_HEADERS: Mapping[str, str] = {
    "Content-Type": "application/json",
    # Our own User-Agent: aiohttp's ``skip_auto_headers`` costs a header copy per request.
    "User-Agent": "livingeval",
}
"""Headers of every JSON POST; a ``headers`` mapping holding Content-Type is sent as is."""


class _Slots:
    """A counting semaphore whose uncontended acquire never yields (no checkpoint).

    A released slot is handed straight to the longest waiter. A waiter cancelled after the
    hand-over passes the slot on, so none is lost.
    """

    __slots__ = ("free", "waiters")

    def __init__(self, slots: int) -> None:
        self.free = slots
        self.waiters: deque[anyio.Event] = deque()

    async def acquire(self) -> None:
        if self.free > 0:
            self.free -= 1
            return
        event = anyio.Event()
        self.waiters.append(event)
        try:
            await event.wait()
        except BaseException:
            if event.is_set():
                self.release()  # handed over, but we are leaving: pass it on
            else:
                self.waiters.remove(event)
            raise

    def release(self) -> None:
        if self.waiters:
            self.waiters.popleft().set()
        else:
            self.free += 1


_TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date).

    Example:
        >>> parse_retry_after("1.5")
        1.5
        >>> parse_retry_after(None) is None
        True
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import time

    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def classify_status(
    status: int, *, retry_after: float | None = None, body: bytes = b""
) -> JudgeError | None:
    """The error an HTTP ``status`` stands for: ``None`` for 2xx, transient or permanent.

    429, 408, 409, 425 and 5xx are :class:`~livingeval.errors.TransientJudgeError` (worth
    retrying); other 4xx (bad key, bad request) are a plain
    :class:`~livingeval.errors.JudgeError`, never retried.

    Example:
        >>> classify_status(200) is None
        True
        >>> type(classify_status(429, retry_after=1.0)).__name__
        'TransientJudgeError'
        >>> type(classify_status(401)).__name__
        'JudgeError'
    """
    if 200 <= status < 300:
        return None
    snippet = body[:200].decode("utf-8", "replace")
    if status in _TRANSIENT_STATUS or status >= 500:
        return TransientJudgeError(
            f"provider answered HTTP {status} (transient; retried): {snippet}",
            status=status,
            retry_after=retry_after,
        )
    return JudgeError(
        f"provider answered HTTP {status}: {snippet}; check the base_url, api_key and model "
        "(4xx errors other than 408/409/425/429 are not retried)"
    )


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How failed requests are retried (tenacity with exponential jitter).

    Only :class:`~livingeval.errors.TransientJudgeError` is retried. A ``Retry-After`` from
    the provider replaces the computed backoff (capped at ``max_retry_after``).

    Example:
        >>> RetryPolicy(attempts=3).attempts
        3
    """

    attempts: int = attrs.field(default=6, validator=attrs.validators.ge(1))
    """Total tries per request, the first included."""
    initial: float = 0.05
    """First backoff scale in seconds; doubles each attempt, then jittered uniformly."""
    max_wait: float = 10.0
    """Cap on one computed backoff in seconds."""
    max_retry_after: float = 60.0
    """Cap on an honoured ``Retry-After`` in seconds."""
    sleep: Sleep = attrs.field(default=anyio.sleep, eq=False)
    """The sleep used between attempts; tests inject a fake one."""

    def wait_seconds(self, attempt: int, exc: BaseException | None) -> float:
        """Seconds to wait after failed ``attempt`` (1-based) that raised ``exc``."""
        if isinstance(exc, TransientJudgeError) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_retry_after)
        ceiling = min(self.max_wait, self.initial * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _wait_after_first(self, state: RetryCallState) -> float:
        # tenacity counts from the first retry; the attempt before it was the plain one.
        exc = state.outcome.exception() if state.outcome is not None else None
        return self.wait_seconds(state.attempt_number + 1, exc)


class Limiter(Protocol):
    """**Protocol:** what :class:`HttpEngine` asks before and tells after each attempt.

    :class:`RateLimiter` is the in-process one; a limiter shared by several processes
    (``livingeval.distributed``) implements the same three methods remotely.
    """

    async def acquire(self, tokens: int = 0) -> None:
        """Wait until one request of ``tokens`` tokens may be sent."""
        ...

    def on_throttled(self) -> None:
        """Record an HTTP 429."""
        ...

    def on_success(self) -> None:
        """Record a successful reply."""
        ...


def check_rates(requests_per_minute: float | None, tokens_per_minute: float | None) -> None:
    """Raise :class:`~livingeval.errors.ConfigError` unless each limit is positive or None."""
    for name, value in (
        ("requests_per_minute", requests_per_minute),
        ("tokens_per_minute", tokens_per_minute),
    ):
        if value is not None and value <= 0:
            raise ConfigError(f"{name} must be positive or None; got {name}={value}", field=name)


class RateLimiter:
    """A per-provider limit on requests and tokens per minute, adaptive on 429.

    Token buckets refill continuously. Each HTTP 429 halves the effective rate (down to
    1/32 of the configured one); each success wins back 2% of it. With neither limit set
    the limiter only counts, and never waits.

    Args:
        requests_per_minute: Request cap, or ``None`` for no cap.
        tokens_per_minute: Token cap (prompt + completion estimate), or ``None``.

    Example:
        >>> limiter = RateLimiter(requests_per_minute=600)
        >>> limiter.on_throttled(); limiter.factor
        0.5
    """

    def __init__(
        self, *, requests_per_minute: float | None = None, tokens_per_minute: float | None = None
    ) -> None:
        check_rates(requests_per_minute, tokens_per_minute)
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.factor = 1.0
        self._req_level = float(requests_per_minute or 0.0)
        self._tok_level = float(tokens_per_minute or 0.0)
        self._stamp: float | None = None
        self._lock: anyio.Lock | None = None
        self.waited = 0.0

    @property
    def active(self) -> bool:
        """Whether any limit is configured."""
        return self.requests_per_minute is not None or self.tokens_per_minute is not None

    def _refill(self, now: float) -> None:
        if self._stamp is None:
            self._stamp = now
            return
        elapsed = now - self._stamp
        self._stamp = now
        if self.requests_per_minute is not None:
            cap = self.requests_per_minute * self.factor
            self._req_level = min(cap, self._req_level + elapsed * cap / 60.0)
        if self.tokens_per_minute is not None:
            cap = self.tokens_per_minute * self.factor
            self._tok_level = min(max(cap, 1.0), self._tok_level + elapsed * cap / 60.0)

    async def acquire(self, tokens: int = 0) -> None:
        """Wait until one request of ``tokens`` tokens fits under the limits."""
        if not self.active:
            return
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            while True:
                now = anyio.current_time()
                self._refill(now)
                need = 0.0
                if self.requests_per_minute is not None and self._req_level < 1.0:
                    rate = self.requests_per_minute * self.factor / 60.0
                    need = max(need, (1.0 - self._req_level) / rate)
                if self.tokens_per_minute is not None and tokens:
                    cap = max(self.tokens_per_minute * self.factor, 1.0)
                    want = min(float(tokens), cap)
                    if self._tok_level < want:
                        need = max(need, (want - self._tok_level) / (cap / 60.0))
                if need <= 0.0:
                    break
                self.waited += need
                await anyio.sleep(need)
            if self.requests_per_minute is not None:
                self._req_level -= 1.0
            if self.tokens_per_minute is not None and tokens:
                self._tok_level -= float(tokens)

    def on_throttled(self) -> None:
        """Record an HTTP 429: halve the effective rate (not below 1/32)."""
        self.factor = max(1.0 / 32.0, self.factor * 0.5)

    def on_success(self) -> None:
        """Record a success: recover 2% of the configured rate."""
        if self.factor < 1.0:
            self.factor = min(1.0, self.factor + 0.02)


@attrs.frozen(kw_only=True)
class JsonReply:
    """A parsed 2xx JSON reply."""

    status: int
    """The HTTP status."""
    body: Any
    """The parsed JSON body."""
    attempts: int
    """Tries it took, the successful one included."""
    elapsed: float
    """Seconds from the first try to the reply, backoff included."""


@attrs.frozen(kw_only=True)
class HttpStatistics:
    """Counters of an :class:`HttpEngine` since it was opened."""

    requests: int
    """HTTP requests sent (every attempt counts)."""
    succeeded: int
    """Calls that ended in a 2xx JSON reply."""
    failed: int
    """Calls that gave up (retries exhausted or a permanent error)."""
    retries: int
    """Attempts beyond the first."""
    throttled: int
    """HTTP 429 replies."""
    server_errors: int
    """HTTP 5xx replies."""
    timeouts: int
    """Attempts that hit the per-call timeout."""
    connection_errors: int
    """Resets, refused connections and truncated or malformed bodies."""


class HttpEngine:
    """One HTTP client with bounded concurrency, retries, timeouts and rate limits.

    Open it with ``async with`` inside the event loop that will use it (in a ``*_sync`` twin,
    inside the portal's loop). It runs on anyio's asyncio backend (both transports are
    asyncio clients).

    Args:
        concurrency: Requests on the wire at once; also the connection pool size.
        timeout: Seconds allowed for one attempt (connect, send, read).
        retry: The retry policy.
        limiter: A per-provider :class:`RateLimiter` (or any :class:`Limiter`, e.g. one
            shared by every worker of a cluster), or ``None``.
        transport: ``"wire"`` (the default: livingeval's own keep-alive HTTP/1.1 client,
            :class:`~livingeval._http.WireClient`, about half the client CPU per request)
            or ``"aiohttp"`` (one ``aiohttp.ClientSession`` with a ``TCPConnector``; unlike
            the wire client it follows redirects).
        ssl_context: TLS settings for ``https`` (e.g. a private CA); ``None`` uses
            :func:`ssl.create_default_context`.

    Raises:
        ConfigError: ``concurrency`` < 1, ``timeout`` <= 0 or an unknown ``transport``.

    Example:
        >>> async def main(url: str) -> None:  # doctest: +SKIP
        ...     async with HttpEngine(concurrency=16) as engine:
        ...         reply = await engine.post_json(url, {"ping": 1})
    """

    def __init__(
        self,
        *,
        concurrency: int = 64,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        limiter: Limiter | None = None,
        transport: Transport = "wire",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigError(
                f"concurrency must be >= 1; got concurrency={concurrency}", field="concurrency"
            )
        if timeout <= 0:
            raise ConfigError(f"timeout must be > 0; got timeout={timeout}", field="timeout")
        check_transport(transport)
        self.concurrency = concurrency
        self.timeout = timeout
        self.retry = retry if retry is not None else RetryPolicy()
        self.limiter = limiter
        self.transport: Transport = transport
        self.ssl_context = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._wire: WireClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._errors: tuple[type[BaseException], ...] = (OSError,)
        self._slots: _Slots | None = None
        self._counts = dict.fromkeys(
            (
                "requests",
                "succeeded",
                "failed",
                "retries",
                "throttled",
                "server_errors",
                "timeouts",
                "connection_errors",
            ),
            0,
        )

    async def __aenter__(self) -> HttpEngine:
        self._loop = asyncio.get_running_loop()
        if self.transport == "wire":
            self._wire = WireClient(max_connections=self.concurrency, ssl_context=self.ssl_context)
        else:
            import aiohttp  # only this transport needs it

            connector = aiohttp.TCPConnector(
                limit=self.concurrency,
                limit_per_host=self.concurrency,
                ttl_dns_cache=300,
                ssl=self.ssl_context if self.ssl_context is not None else True,
            )
            # The per-attempt timeout is aiohttp's own timer (one loop.call_at per request),
            # cheaper than a cancel scope per call. It starts once a slot is held, so waiting
            # for a slot never counts against it.
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
            self._errors = (aiohttp.ClientError, OSError)
        self._slots = _Slots(self.concurrency)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        wire, self._wire = self._wire, None
        with anyio.CancelScope(shield=True):
            if session is not None:
                await session.close()
            if wire is not None:
                await wire.aclose()

    def statistics(self) -> HttpStatistics:
        """A snapshot of the counters."""
        return HttpStatistics(**self._counts)

    async def post_json(
        self,
        url: str,
        payload: Mapping[str, Any] | bytes,
        *,
        headers: Mapping[str, str] | None = None,
        tokens: int = 0,
    ) -> JsonReply:
        """POST ``payload`` as JSON and return the parsed 2xx reply, retrying transient errors.

        Args:
            url: The endpoint.
            payload: A JSON object, or already-encoded bytes.
            headers: Extra headers (authorisation ...), merged over :data:`JSON_HEADERS`;
                a mapping already holding ``Content-Type`` is sent as it is (no copy).
            tokens: Estimated tokens for the rate limiter.

        Returns:
            The reply with its attempt count.

        Raises:
            TransientJudgeError: retries exhausted on 429/5xx/timeouts/resets.
            JudgeError: a permanent HTTP error (401, 400 ...).
        """
        start = time.monotonic()
        status, body, attempts = await self.post_json_raw(
            url, payload, headers=headers, tokens=tokens
        )
        return JsonReply(
            status=status, body=body, attempts=attempts, elapsed=time.monotonic() - start
        )

    async def post_json_raw(
        self,
        url: str,
        payload: Mapping[str, Any] | bytes,
        *,
        headers: Mapping[str, str] | None = None,
        tokens: int = 0,
    ) -> tuple[int, Any, int]:
        """:meth:`post_json` for hot paths: ``(status, parsed body, attempts)``, no record."""
        data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        if headers is None:
            send_headers: Mapping[str, str] = JSON_HEADERS
        elif "Content-Type" in headers:
            send_headers = headers  # callers on the hot path pass a ready-made mapping
        else:
            send_headers = {**JSON_HEADERS, **headers}
        policy = self.retry
        attempts = 1
        status = 0
        body: Any = None
        try:
            # The common case costs no retry machinery; tenacity takes over after a failure.
            status, body = await self._attempt(url, data, send_headers, tokens)
        except TransientJudgeError as first:
            if policy.attempts <= 1:
                self._counts["failed"] += 1
                raise
            await self._backoff(policy.wait_seconds(1, first))
            retrying = AsyncRetrying(
                sleep=self._backoff,
                stop=stop_after_attempt(policy.attempts - 1),
                wait=policy._wait_after_first,
                retry=retry_if_exception_type(TransientJudgeError),
                reraise=True,
            )
            try:
                async for attempt in retrying:
                    with attempt:
                        attempts += 1
                        self._counts["retries"] += 1
                        status, body = await self._attempt(url, data, send_headers, tokens)
            except Exception:
                self._counts["failed"] += 1
                raise
        except Exception:
            self._counts["failed"] += 1
            raise
        self._counts["succeeded"] += 1
        return status, body, attempts

    async def _backoff(self, seconds: float) -> None:
        """Sleep out a backoff with no slot held, telling the fan-out (see :func:`on_backoff`)."""
        hook = _BACKOFF_HOOK.get()
        if hook is None:
            await self.retry.sleep(seconds)
            return
        hook(True)
        try:
            await self.retry.sleep(seconds)
        finally:
            hook(False)

    async def _attempt(
        self, url: str, data: bytes, headers: Mapping[str, str], tokens: int
    ) -> tuple[int, Any]:
        wire, session, slots = self._wire, self._session, self._slots
        if slots is None or (wire is None and session is None):
            raise RuntimeError("HttpEngine is not open; use `async with HttpEngine(...)`")
        limiter = self.limiter
        if limiter is not None:
            await limiter.acquire(tokens)
        counts = self._counts
        retry_header: str | None = None
        await slots.acquire()  # the slot is held only while on the wire
        try:
            counts["requests"] += 1
            if wire is not None:
                # One timer for connect, send and read, started once the slot is held.
                assert self._loop is not None
                reply = await wire.post(url, data, headers, self._loop.time() + self.timeout)
                status, raw = reply.status, reply.body
                if status == 429 or status == 503:
                    retry_header = reply.headers.get("retry-after")
            else:
                assert session is not None
                async with session.post(url, data=data, headers=headers) as response:
                    status = response.status
                    raw = await response.read()
                    if status == 429 or status == 503:
                        retry_header = response.headers.get("Retry-After")
        except TimeoutError as exc:  # the per-attempt timer (either transport)
            counts["timeouts"] += 1
            raise TransientJudgeError(
                f"no reply within timeout={self.timeout}s from {url}; raise the timeout "
                "or lower the concurrency if the provider is overloaded"
            ) from exc
        except self._errors as exc:
            counts["connection_errors"] += 1
            raise TransientJudgeError(
                f"connection to {url} failed: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            slots.release()
        if not 200 <= status < 300:
            retry_after = (
                parse_retry_after(retry_header) if status == 429 or status == 503 else None
            )
            error = classify_status(status, retry_after=retry_after, body=raw)
            assert error is not None
            if status == 429:
                counts["throttled"] += 1
                if limiter is not None:
                    limiter.on_throttled()
            elif status >= 500:
                counts["server_errors"] += 1
            raise error
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            counts["connection_errors"] += 1
            raise TransientJudgeError(
                f"HTTP {status} from {url} carried a truncated or malformed JSON body "
                f"({len(raw)} bytes): {raw[:80]!r}"
            ) from exc
        if limiter is not None:
            limiter.on_success()
        return status, body
