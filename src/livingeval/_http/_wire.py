"""The wire client: a lean keep-alive HTTP/1.1 client on asyncio protocols.

:class:`WireClient` is what :class:`~livingeval._http.HttpEngine` sends its requests through
by default (``transport="wire"``). It does only what a JSON API client needs, and does it
with as little Python per request as we could manage:

* one keep-alive connection pool per origin (scheme, host, port), LIFO so the warmest
  connection is reused, never more than ``max_connections`` connections open in all;
* the request head (request line, ``Host`` and the caller's headers) is built once per
  (URL, header mapping) and cached, so a request costs one bytes format and one
  ``transport.write``;
* a response parser for the status line, headers (names lower-cased, so lookups are
  case-insensitive), ``Content-Length`` bodies, ``Transfer-Encoding: chunked`` bodies and
  bodies delimited by the server closing the connection; ``Connection: close`` (and
  HTTP/1.0 without keep-alive) means the connection is not reused; a ``gzip`` or
  ``deflate`` body is decoded (we never ask for one);
* one timer (``loop.call_at``) per request covering connect, send and read, which fails
  the request with :class:`TimeoutError`;
* TLS for ``https`` through asyncio's own TLS transport, with
  :func:`ssl.create_default_context` (or the ``ssl_context`` given, e.g. for a private CA)
  and the URL's host as ``server_hostname``.

It does **not** follow redirects (a 3xx is returned as it is), use proxies (``HTTP_PROXY``
and friends are ignored), send or store cookies, stream request bodies, speak HTTP/2, or
bound the number of requests in flight: its caller does that (the engine's slots), and
each request in flight holds its own connection.

Every failure is an :class:`OSError`: :class:`TimeoutError` for the deadline,
:class:`ConnectionError` subclasses for refused connections, resets, truncated bodies and
malformed replies (:class:`HttpProtocolError`), so the engine maps them all to one
retryable error. A connection whose request failed or was cancelled is aborted, never
returned to the pool; :meth:`WireClient.aclose` closes every connection.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import Mapping
from typing import cast
from urllib.parse import urlsplit

import anyio

from livingeval.errors import ConfigError

__all__ = ["HttpProtocolError", "WireClient", "WireResponse"]

_MAX_HEAD = 64 * 1024
"""Largest response head (status line and headers) accepted, in bytes."""
_NO_BODY = frozenset({204, 304})


class HttpProtocolError(ConnectionError):
    """The server's reply broke HTTP/1.1: a bad status line, bad framing or a cut body."""


class WireResponse:
    """A complete response: status, body, and headers parsed on first use.

    Args:
        status: The HTTP status.
        fields: The header block after the status line (``b"\\r\\nName: value..."``).
        body: The body, de-chunked and decoded.
    """

    __slots__ = ("_fields", "_headers", "body", "status")

    def __init__(self, status: int, fields: bytes, body: bytes) -> None:
        self.status = status
        """The HTTP status."""
        self.body = body
        """The body, de-chunked and decoded."""
        self._fields = fields
        self._headers: dict[str, str] | None = None

    @property
    def headers(self) -> dict[str, str]:
        """Headers by lower-cased name (repeated headers joined with ``", "``)."""
        headers = self._headers
        if headers is None:
            headers = self._headers = _parse_fields(self._fields)
        return headers

    def __repr__(self) -> str:
        return f"WireResponse(status={self.status}, body={self.body[:40]!r})"


def _parse_fields(fields: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in fields.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower().decode("latin-1")
        text = value.strip().decode("latin-1")
        old = headers.get(key)
        headers[key] = text if old is None else f"{old}, {text}"
    return headers


def _field(fields: bytes, name: bytes) -> str | None:
    """The value of header ``name`` (given as ``b"\\r\\nname:"``) in lower-cased ``fields``."""
    start = fields.find(name)
    if start < 0:
        return None
    start += len(name)
    end = fields.find(b"\r\n", start)
    return fields[start : end if end >= 0 else len(fields)].strip().decode("latin-1")


class _Origin:
    """Where to connect, and the idle connections to it (a LIFO stack)."""

    __slots__ = ("host", "idle", "key", "port", "tls")

    def __init__(self, key: tuple[str, str, int], host: str, port: int, tls: bool) -> None:
        self.key = key
        self.host = host
        self.port = port
        self.tls = tls
        self.idle: list[_Connection] = []


# Parser states.
_IDLE, _HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER, _UNTIL_CLOSE = range(8)


class _Connection(asyncio.Protocol):
    """One keep-alive connection: sends a request, parses its response into a future."""

    __slots__ = (
        "body",
        "buffer",
        "close_after",
        "closed",
        "encoding",
        "fields",
        "loop",
        "origin",
        "remaining",
        "state",
        "status",
        "timer",
        "transport",
        "url",
        "waiter",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: _Origin) -> None:
        self.loop = loop
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.state = _IDLE
        self.buffer = bytearray()
        self.body = bytearray()
        self.waiter: asyncio.Future[WireResponse] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.status = 0
        self.fields = b""
        self.encoding: str | None = None
        self.remaining = 0
        self.close_after = False
        self.url = ""

    # -- asyncio callbacks ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is no subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.transport = None
        if self.state == _UNTIL_CLOSE and exc is None:
            self._finish()
        elif self.state != _IDLE:
            self._fail(self._cut_short(exc))

    def eof_received(self) -> bool:
        self.closed = True
        if self.state == _UNTIL_CLOSE:
            self._finish()
        elif self.state != _IDLE:
            self._fail(self._cut_short(None))
        return False  # let the transport close itself

    def data_received(self, data: bytes) -> None:
        state = self.state
        if state == _HEAD:
            buffer = self.buffer
            if buffer:
                buffer += data
                data = bytes(buffer)
                buffer.clear()
            end = data.find(b"\r\n\r\n")
            if end < 0:
                if len(data) > _MAX_HEAD:
                    self._fail(HttpProtocolError(f"response head over {_MAX_HEAD} bytes"))
                else:
                    buffer += data
                return
            rest = self._head(data, end)
            if rest is None:
                return
            state = self.state
            if state == _LENGTH:
                # The common case: the whole body arrived with the head.
                remaining = self.remaining
                if len(rest) == remaining:
                    self._finish(rest)
                    return
            data = rest
        elif state == _IDLE:
            if data:
                # Nobody asked: a server that talks out of turn is not reused.
                self.close_after = True
                self._close()
            return
        self._body(data)

    # -- requests ---------------------------------------------------------------------

    def request(self, data: bytes, deadline: float, url: str) -> asyncio.Future[WireResponse]:
        """Send ``data``; the future gets the response or an :class:`OSError`."""
        waiter = self.loop.create_future()
        self.waiter = waiter
        self.url = url
        self.state = _HEAD
        self.timer = self.loop.call_at(deadline, self._timed_out)
        transport = self.transport
        if transport is None or self.closed:
            self._fail(ConnectionResetError("the pooled connection was closed"))
        else:
            transport.write(data)
        return waiter

    def abort(self) -> None:
        """Drop the connection at once (failed or cancelled request)."""
        self.closed = True
        self.state = _IDLE
        timer, self.timer = self.timer, None
        if timer is not None:
            timer.cancel()
        transport = self.transport
        if transport is not None:
            transport.abort()

    def _close(self) -> None:
        self.closed = True
        transport = self.transport
        if transport is not None:
            transport.close()

    def _timed_out(self) -> None:
        self.timer = None
        self._fail(TimeoutError(f"no complete reply before the deadline from {self.url}"))

    def _cut_short(self, exc: Exception | None) -> OSError:
        if self.state == _HEAD and not self.buffer:
            error: OSError = ConnectionResetError(
                "the server closed the connection before replying"
            )
        elif self.state == _LENGTH:
            got = len(self.body)
            error = HttpProtocolError(
                f"the server closed the connection after {got} of "
                f"{got + self.remaining} body bytes (truncated body)"
            )
        else:
            error = HttpProtocolError("the server closed the connection mid-reply")
        if exc is not None:
            error.__cause__ = exc
        return error

    def _fail(self, error: OSError) -> None:
        waiter = self.waiter
        self.waiter = None
        self.abort()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _finish(self, body: bytes | None = None) -> None:
        timer, self.timer = self.timer, None
        if timer is not None:
            timer.cancel()
        self.state = _IDLE
        if body is None:
            body = bytes(self.body)
            self.body.clear()
        encoding = self.encoding
        if encoding is not None and encoding != "identity":
            try:
                body = _decode(body, encoding)
            except (zlib.error, HttpProtocolError) as exc:
                self._fail(
                    exc
                    if isinstance(exc, HttpProtocolError)
                    else HttpProtocolError(f"bad {encoding} body: {exc}")
                )
                return
        if self.buffer:
            self.close_after = True  # bytes beyond the reply: the stream is out of step
            self.buffer.clear()
        if self.close_after and not self.closed:
            self._close()
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(WireResponse(self.status, self.fields, body))

    # -- parsing ----------------------------------------------------------------------

    def _head(self, data: bytes, end: int) -> bytes | None:
        """Parse the head ending at ``end``; set the body state; return what follows it."""
        line_end = data.find(b"\r\n", 0, end)
        if line_end < 0:
            line_end = end
        line = data[:line_end]
        version = line[:9]
        if (
            (version != b"HTTP/1.1 " and version != b"HTTP/1.0 ")
            or len(line) < 12
            or not line[9:12].isdigit()
            or (len(line) > 12 and line[12:13] != b" ")
        ):
            self._fail(HttpProtocolError(f"malformed status line {line[:80]!r}"))
            return None
        status = int(line[9:12])
        # The header block, lower-cased once: the framing headers are found with bytes
        # searches; the rest are parsed only if someone asks (WireResponse.headers).
        raw_fields = data[line_end:end]
        fields = raw_fields.lower()
        for raw in fields.split(b"\r\n")[1:]:
            if b":" not in raw:
                self._fail(HttpProtocolError(f"malformed header line {raw[:80]!r}"))
                return None
        rest = data[end + 4 :]
        if 100 <= status < 200:
            # An interim reply (100 Continue, 103 Early Hints): the real one follows.
            if status == 101:
                self._fail(HttpProtocolError("the server switched protocols (HTTP 101)"))
                return None
            if rest:
                self.data_received(rest)
            return None
        self.status = status
        self.fields = raw_fields
        if b"\r\nconnection:" in fields:
            connection = _field(fields, b"\r\nconnection:") or ""
            self.close_after = "close" in connection or (
                version == b"HTTP/1.0 " and "keep-alive" not in connection
            )
        else:
            self.close_after = version == b"HTTP/1.0 "
        self.encoding = (
            _field(fields, b"\r\ncontent-encoding:") if b"\r\ncontent-encoding:" in fields else None
        )
        if status in _NO_BODY:
            self.state = _LENGTH
            self.remaining = 0
        elif b"\r\ntransfer-encoding:" in fields and "chunked" in (
            _field(fields, b"\r\ntransfer-encoding:") or ""
        ):
            self.state = _CHUNK_SIZE
        elif (length := _field(fields, b"\r\ncontent-length:")) is not None:
            if not length.isdigit():
                self._fail(HttpProtocolError(f"bad Content-Length {length[:40]!r}"))
                return None
            self.state = _LENGTH
            self.remaining = int(length)
        else:
            self.state = _UNTIL_CLOSE
            self.close_after = True
        if self.state == _LENGTH and self.remaining == 0:
            if rest:
                self.buffer += rest
            self._finish()
            return None
        return rest

    def _body(self, data: bytes) -> None:
        state = self.state
        if state == _LENGTH:
            remaining = self.remaining
            if len(data) < remaining:
                self.body += data
                self.remaining = remaining - len(data)
                return
            self.body += data[:remaining]
            self.remaining = 0
            if len(data) > remaining:
                self.buffer += data[remaining:]
            self._finish()
            return
        if state == _UNTIL_CLOSE:
            self.body += data
            return
        if state in (_IDLE, _HEAD):
            return
        self._chunks(data)

    def _chunks(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            state = self.state
            if state == _CHUNK_SIZE:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > 1024:
                        self._fail(HttpProtocolError("chunk size line over 1024 bytes"))
                    return
                size_text = bytes(buffer[:end]).split(b";", 1)[0].strip()
                del buffer[: end + 2]
                try:
                    size = int(size_text, 16)
                except ValueError:
                    size = -1
                if size < 0:
                    self._fail(HttpProtocolError(f"bad chunk size {size_text[:40]!r}"))
                    return
                if size == 0:
                    self.state = _TRAILER
                else:
                    self.state = _CHUNK_DATA
                    self.remaining = size
            elif state == _CHUNK_DATA:
                take = min(self.remaining, len(buffer))
                if take == 0:
                    return
                self.body += buffer[:take]
                del buffer[:take]
                self.remaining -= take
                if self.remaining:
                    return
                self.state = _CHUNK_END
            elif state == _CHUNK_END:
                if len(buffer) < 2:
                    return
                if buffer[:2] != b"\r\n":
                    self._fail(HttpProtocolError("a chunk did not end with CRLF"))
                    return
                del buffer[:2]
                self.state = _CHUNK_SIZE
            elif state == _TRAILER:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > _MAX_HEAD:
                        self._fail(HttpProtocolError(f"trailers over {_MAX_HEAD} bytes"))
                    return
                del buffer[: end + 2]
                if end == 0:  # the empty line after the (ignored) trailers
                    self._finish()
                    return
            else:
                return


def _decode(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(body, wbits=31)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, wbits=-15)  # raw deflate, as some servers send
    raise HttpProtocolError(f"unsupported Content-Encoding {encoding!r} (we never ask for one)")


def _header_value(name: str, value: str) -> str:
    if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
        raise ConfigError(
            f"HTTP header {name!r} holds a line break (or its name a colon); "
            "remove it from the headers",
            field="headers",
        )
    return value


class WireClient:
    """A keep-alive HTTP/1.1 client for JSON POSTs (see the module docstring).

    Create it inside the event loop that uses it; close it with :meth:`aclose`.

    Args:
        max_connections: Connections open at once over every origin; when a new one is
            needed at the limit, an idle connection (of another origin) is closed first.
        ssl_context: TLS settings for ``https`` URLs; ``None`` uses
            :func:`ssl.create_default_context` (the system's CAs).
        user_agent: Sent unless the headers hold a ``User-Agent``.

    Example:
        >>> async def main(url: str) -> None:  # doctest: +SKIP
        ...     client = WireClient(max_connections=8)
        ...     deadline = asyncio.get_running_loop().time() + 30.0
        ...     reply = await client.post(url, b"{}", {"Content-Type": "application/json"}, deadline)
        ...     await client.aclose()
    """

    def __init__(
        self,
        *,
        max_connections: int,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = "livingeval",
    ) -> None:
        if max_connections < 1:
            raise ConfigError(
                f"max_connections must be >= 1; got max_connections={max_connections}",
                field="max_connections",
            )
        self.max_connections = max_connections
        self.user_agent = user_agent
        self._ssl = ssl_context
        self._origins: dict[tuple[str, str, int], _Origin] = {}
        # (url, id(headers)) -> (the mapping, a copy to detect changes, request head, origin)
        self._heads: dict[
            tuple[str, int], tuple[Mapping[str, str], dict[str, str], bytes, _Origin]
        ] = {}
        self._live: set[_Connection] = set()
        self._closed = False
        self.opened = 0
        """Connections opened so far (tests check reuse with it)."""

    @property
    def open_connections(self) -> int:
        """Connections currently open (idle or in use)."""
        return sum(1 for conn in self._live if not conn.closed)

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], deadline: float
    ) -> WireResponse:
        """POST ``body`` to ``url`` and return the whole response.

        Args:
            url: An ``http://`` or ``https://`` URL.
            body: The request body (sent with a ``Content-Length``).
            headers: Request headers; the head built from them is cached per (URL,
                mapping), so pass the same mapping on every call.
            deadline: Event-loop time (``loop.time()``) by which the response must be
                complete: connecting, sending and reading all count.

        Returns:
            The status, headers and body.

        Raises:
            TimeoutError: the deadline passed.
            ConnectionError: refused, reset, a truncated or malformed reply
                (:class:`HttpProtocolError`).
            ConfigError: a URL that is not http(s), or a header with a line break.
        """
        entry = self._heads.get((url, id(headers)))
        if entry is None or entry[0] is not headers or entry[1] != headers:
            entry = self._head(url, headers)
        origin = entry[3]
        idle = origin.idle
        conn = None
        while idle:
            conn = idle.pop()
            if not conn.closed:
                break
            self._live.discard(conn)
            conn = None
        if conn is None:
            conn = await self._connect(origin, deadline, url)
        waiter = conn.request(b"%b%d\r\n\r\n%b" % (entry[2], len(body), body), deadline, url)
        try:
            response = await waiter
        except BaseException:
            conn.abort()  # failed or cancelled mid-request: never reused
            self._live.discard(conn)
            raise
        if conn.closed:
            self._live.discard(conn)
        else:
            idle.append(conn)
        return response

    def _head(
        self, url: str, headers: Mapping[str, str]
    ) -> tuple[Mapping[str, str], dict[str, str], bytes, _Origin]:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"bad URL {url!r}: {exc}", field="url") from None
        scheme = parts.scheme.lower()
        host = parts.hostname
        if scheme not in ("http", "https") or not host:
            raise ConfigError(
                f"the wire client speaks http:// and https:// only; got url={url!r}", field="url"
            )
        tls = scheme == "https"
        default = 443 if tls else 80
        port = default if port is None else port
        key = (scheme, host, port)
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = _Origin(key, host, port, tls)
        name = f"[{host}]" if ":" in host else host
        authority = name if port == default else f"{name}:{port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"POST {target} HTTP/1.1", f"Host: {authority}"]
        lower = {name.lower() for name in headers}
        if "user-agent" not in lower:
            lines.append(f"User-Agent: {self.user_agent}")
        for name, value in headers.items():
            if name.lower() in ("content-length", "host", "transfer-encoding"):
                continue  # ours to set
            lines.append(f"{name}: {_header_value(name, value)}")
        lines.append("Content-Length: ")
        head = "\r\n".join(lines).encode("latin-1")
        entry = (headers, dict(headers), head, origin)
        if len(self._heads) >= 1024:
            self._heads.clear()  # callers passing a new mapping per call: stay bounded
        self._heads[(url, id(headers))] = entry
        return entry

    async def _connect(self, origin: _Origin, deadline: float, url: str) -> _Connection:
        if self._closed:
            raise RuntimeError("the wire client is closed")
        live = self._live
        if len(live) >= self.max_connections:
            self._evict(origin)
        loop = asyncio.get_running_loop()
        conn = _Connection(loop, origin)
        context: ssl.SSLContext | None = None
        if origin.tls:
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        live.add(conn)
        self.opened += 1
        try:
            with anyio.fail_after(max(0.0, deadline - loop.time())):
                await loop.create_connection(
                    lambda: conn,
                    origin.host,
                    origin.port,
                    ssl=context,
                    server_hostname=origin.host if context is not None else None,
                )
        except TimeoutError:
            conn.abort()
            live.discard(conn)
            raise TimeoutError(f"could not connect to {url} before the deadline") from None
        except BaseException:
            conn.abort()
            live.discard(conn)
            raise
        return conn

    def _evict(self, origin: _Origin) -> None:
        """Close idle connections (other origins' first) until one more fits."""
        live = self._live
        for conn in [c for c in live if c.closed]:
            live.discard(conn)
        for other in sorted(self._origins.values(), key=lambda o: o is origin):
            while other.idle and len(live) >= self.max_connections:
                conn = other.idle.pop(0)  # the coldest
                conn.abort()
                live.discard(conn)

    async def aclose(self) -> None:
        """Close every connection, idle or in use (requests in flight fail)."""
        self._closed = True
        for origin in self._origins.values():
            origin.idle.clear()
        live, self._live = self._live, set()
        for conn in live:
            if conn.waiter is not None:
                conn._fail(ConnectionResetError("the HTTP client was closed"))
            else:
                conn.abort()
        await asyncio.sleep(0)  # let the transports run their connection_lost
