"""The wire client against tiny raw servers on 127.0.0.1 that misbehave on purpose.

Each server here is written in the test with ``asyncio.start_server``: it reads requests
with a ``Content-Length`` and answers with raw bytes, split across TCP writes, cut short,
reset, or never, as the test's handler says.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType

import anyio
import orjson
import pytest
import trustme

from livingeval._http import (
    TRANSPORTS,
    HttpEngine,
    HttpProtocolError,
    RetryPolicy,
    Transport,
    WireClient,
)
from livingeval.errors import ConfigError, TransientJudgeError

pytestmark = [pytest.mark.network_loopback, pytest.mark.anyio]

Handler = Callable[[asyncio.StreamWriter, int], Awaitable[bool]]
"""Answers request number ``n`` (0-based, over all connections); False closes the connection."""

OK = b'{"ok": 1}'


def reply(body: bytes = OK, *, status: int = 200, headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """A raw HTTP/1.1 reply with a ``Content-Length``."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{head}\r\n"
    ).encode() + body


async def send_in_pieces(writer: asyncio.StreamWriter, data: bytes, cuts: Sequence[int]) -> None:
    """Write ``data`` in pieces split at ``cuts``, pausing so each arrives on its own."""
    start = 0
    for cut in [*cuts, len(data)]:
        writer.write(data[start:cut])
        await writer.drain()
        await asyncio.sleep(0.005)
        start = cut


async def always_ok(writer: asyncio.StreamWriter, n: int) -> bool:
    writer.write(reply())
    return True


class RawServer:
    """A keep-alive HTTP/1.1 server on 127.0.0.1 whose replies a handler writes raw."""

    def __init__(self, handler: Handler, *, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.accepted = 0
        self.open = 0
        self.peak = 0
        self.closed_by_client = 0
        self.requests: list[bytes] = []
        self.url = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Future[bool]] = set()

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{port}/v1/chat/completions"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        # End each connection by closing it (cancelling a stream server's task makes
        # asyncio log an error in 3.11): hanging handlers are cancelled, sockets aborted.
        for handler in self._handlers:
            handler.cancel()
        for writer in self._writers:
            writer.transport.abort()
        with anyio.fail_after(5):
            while self._tasks:
                await asyncio.sleep(0.005)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.accepted += 1
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    self.closed_by_client += 1
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                self.requests.append(head + await reader.readexactly(length))
                handler = asyncio.ensure_future(self.handler(writer, len(self.requests) - 1))
                self._handlers.add(handler)
                while not handler.done():
                    await asyncio.wait({handler}, timeout=0.005)
                    if not handler.done() and (reader.at_eof() or reader.exception()):
                        handler.cancel()  # the client gave up on a hanging request
                        self.closed_by_client += 1
                        return
                self._handlers.discard(handler)
                if handler.cancelled() or not handler.result():
                    return
                await writer.drain()
        finally:
            self.open -= 1
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def wait_closed_by_client(self, count: int) -> None:
        """Wait (at most 2 s) until the client has closed ``count`` connections."""
        with anyio.fail_after(2):
            while self.closed_by_client < count:
                await asyncio.sleep(0.005)


def deadline(seconds: float = 5.0) -> float:
    return asyncio.get_running_loop().time() + seconds


async def post(client: WireClient, url: str, body: bytes = b"{}", seconds: float = 5.0) -> bytes:
    response = await client.post(url, body, {"Content-Type": "application/json"}, deadline(seconds))
    assert response.status == 200
    return response.body


async def _no_sleep(seconds: float) -> None:
    await anyio.sleep(0)


FAST = RetryPolicy(attempts=3, sleep=_no_sleep)


# -- framing ----------------------------------------------------------------------------


async def test_content_length_replies_reuse_one_connection() -> None:
    async with RawServer(always_ok) as server:
        client = WireClient(max_connections=4)
        try:
            for _ in range(5):
                assert await post(client, server.url) == OK
            assert client.opened == 1
            assert server.accepted == 1
        finally:
            await client.aclose()
        await server.wait_closed_by_client(1)  # closing the client closed its pool
    head = server.requests[0].split(b"\r\n\r\n")[0].decode()
    assert head.startswith("POST /v1/chat/completions HTTP/1.1\r\n")
    assert f"Host: {server.url.split('/')[2]}" in head
    assert "Content-Length: 2" in head
    assert "User-Agent: livingeval" in head


CHUNKED = (
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
    b"5;ext=1\r\n" + OK[:5] + b"\r\n"
    b"A\r\n" + OK[5:].ljust(10) + b"\r\n"
    b"0\r\nX-Trailer: yes\r\n\r\n"
)


async def test_chunked_replies_are_dechunked_and_the_connection_reused() -> None:
    async def chunked(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(CHUNKED)
        return True

    async with RawServer(chunked) as server:
        client = WireClient(max_connections=1)
        try:
            for _ in range(3):
                assert orjson.loads(await post(client, server.url)) == {"ok": 1}
            assert client.opened == 1
        finally:
            await client.aclose()


async def test_a_chunked_reply_arriving_byte_by_byte() -> None:
    async def trickle(writer: asyncio.StreamWriter, n: int) -> bool:
        # Every split point: inside a size line, a chunk, its CRLF and the trailers.
        start = CHUNKED.index(b"\r\n\r\n") + 4
        await send_in_pieces(writer, CHUNKED, range(start, len(CHUNKED)))
        return True

    async with RawServer(trickle) as server:
        client = WireClient(max_connections=1)
        try:
            body = await post(client, server.url)
            assert orjson.loads(body) == {"ok": 1}
            assert await post(client, server.url)  # the parser is back at a clean state
        finally:
            await client.aclose()


@pytest.mark.parametrize("where", [b"HTTP/1", b"200", b"Content-Length", b"\r\n\r", b"{"])
async def test_a_reply_split_across_writes(where: bytes) -> None:
    raw = reply(headers=[("Retry-After", "3")])
    cut = raw.index(where) + len(where) // 2 + 1

    async def split(writer: asyncio.StreamWriter, n: int) -> bool:
        await send_in_pieces(writer, raw, [cut])
        return True

    async with RawServer(split) as server:
        client = WireClient(max_connections=1)
        try:
            response = await client.post(server.url, b"{}", {}, deadline())
        finally:
            await client.aclose()
    assert response.body == OK
    assert response.headers["retry-after"] == "3"  # names are lower-cased


async def test_connection_close_is_not_reused() -> None:
    async def closing(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(reply(headers=[("Connection", "close")]))
        return False

    async with RawServer(closing) as server:
        client = WireClient(max_connections=2)
        try:
            assert await post(client, server.url) == OK
            assert await post(client, server.url) == OK
            assert client.opened == 2
            assert server.accepted == 2
        finally:
            await client.aclose()


async def test_a_body_delimited_by_close() -> None:
    async def until_close(writer: asyncio.StreamWriter, n: int) -> bool:
        await send_in_pieces(writer, b"HTTP/1.1 200 OK\r\n\r\n" + OK, [25])
        return False

    async with RawServer(until_close) as server:
        client = WireClient(max_connections=1)
        try:
            assert await post(client, server.url) == OK
            assert await post(client, server.url) == OK  # on a new connection
            assert client.opened == 2
        finally:
            await client.aclose()


async def test_interim_replies_and_gzip_bodies() -> None:
    packed = gzip.compress(OK)

    async def interim(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.write(reply(packed, headers=[("Content-Encoding", "gzip")]))
        return True

    async with RawServer(interim) as server:
        client = WireClient(max_connections=1)
        try:
            assert await post(client, server.url) == OK
        finally:
            await client.aclose()


# -- faults -----------------------------------------------------------------------------


async def test_a_truncated_body_is_a_connection_error_naming_the_url() -> None:
    async def truncated(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(reply(b"x" * 100)[:-90])
        return False

    async with RawServer(truncated) as server:
        client = WireClient(max_connections=1)
        try:
            with pytest.raises(HttpProtocolError, match="10 of 100 body bytes"):
                await post(client, server.url)
        finally:
            await client.aclose()
        for transport in TRANSPORTS:
            async with HttpEngine(retry=FAST, transport=transport) as engine:
                with pytest.raises(TransientJudgeError, match="connection to http://127") as info:
                    await engine.post_json(server.url, {})
            assert server.url in str(info.value)
            assert engine.statistics().connection_errors == 3


async def test_a_reset_mid_body() -> None:
    async def reset(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(reply(b"x" * 1000)[:-500])
        await writer.drain()
        await asyncio.sleep(0.01)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # SO_LINGER 0: the close sends a RST
        return False

    async with RawServer(reset) as server:
        client = WireClient(max_connections=1)
        try:
            with pytest.raises(ConnectionError):
                await post(client, server.url)
            assert client.open_connections == 0
        finally:
            await client.aclose()
        async with HttpEngine(retry=FAST) as engine:
            with pytest.raises(TransientJudgeError, match="connection to"):
                await engine.post_json(server.url, {})


@pytest.mark.parametrize(
    "garbage",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
    ],
)
async def test_a_garbage_reply_is_a_protocol_error(garbage: bytes) -> None:
    async def talk_nonsense(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(garbage)
        return True

    async with RawServer(talk_nonsense) as server:
        client = WireClient(max_connections=1)
        try:
            with pytest.raises(HttpProtocolError, match="malformed"):
                await post(client, server.url)
            assert client.open_connections == 0  # never reused
        finally:
            await client.aclose()
        async with HttpEngine(retry=FAST) as engine:
            with pytest.raises(TransientJudgeError, match="HttpProtocolError: malformed"):
                await engine.post_json(server.url, {})


async def test_a_pooled_connection_closed_between_requests_is_not_used() -> None:
    async def once(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(reply())
        return False  # close without saying so

    async with RawServer(once) as server:
        async with HttpEngine(retry=FAST) as engine:
            await engine.post_json(server.url, {})
            await asyncio.sleep(0.05)  # the close reaches the client
            await engine.post_json(server.url, {})
        assert engine.statistics().retries == 0
        assert server.accepted == 2


async def test_a_stale_connection_closed_as_the_request_arrives_is_retried() -> None:
    async def drop_the_second(writer: asyncio.StreamWriter, n: int) -> bool:
        if n == 1:
            return False  # read the request, close without a reply
        writer.write(reply())
        return True

    async with RawServer(drop_the_second) as server:
        async with HttpEngine(retry=FAST) as engine:
            await engine.post_json(server.url, {})
            reply_ = await engine.post_json(server.url, {})
        assert reply_.body == {"ok": 1}
        assert reply_.attempts == 2
        stats = engine.statistics()
        assert (stats.retries, stats.connection_errors, stats.succeeded) == (1, 1, 2)
        assert server.accepted == 2


async def test_the_timeout_covers_the_read_and_closes_the_connection() -> None:
    async def hang(writer: asyncio.StreamWriter, n: int) -> bool:
        await asyncio.sleep(30)
        return False

    async with RawServer(hang) as server:
        client = WireClient(max_connections=1)
        try:
            start = anyio.current_time()
            with pytest.raises(TimeoutError, match=re.escape(server.url)):
                await post(client, server.url, seconds=0.1)
            assert 0.09 <= anyio.current_time() - start < 1.0
            assert client.open_connections == 0
            await server.wait_closed_by_client(1)
        finally:
            await client.aclose()
        async with HttpEngine(timeout=0.1, retry=FAST) as engine:
            with pytest.raises(TransientJudgeError, match=re.escape("timeout=0.1s")):
                await engine.post_json(server.url, {})
        assert engine.statistics().timeouts == 3


async def test_the_timeout_covers_the_connect() -> None:
    # A listener whose backlog is full never completes a connect (SYNs are dropped).
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(8):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
                fillers.append(filler)
            client = WireClient(max_connections=1)
            try:
                start = anyio.current_time()
                with pytest.raises(TimeoutError, match="connect"):
                    await post(client, f"http://127.0.0.1:{port}/v1", seconds=0.2)
                assert anyio.current_time() - start < 1.5
                assert client.open_connections == 0
            finally:
                await client.aclose()
        finally:
            for filler in fillers:
                filler.close()


async def test_a_cancelled_request_closes_its_connection() -> None:
    started = asyncio.Event()

    async def slow_second(writer: asyncio.StreamWriter, n: int) -> bool:
        if n == 1:
            started.set()
            await asyncio.sleep(30)
        writer.write(reply())
        return True

    async with RawServer(slow_second) as server:
        client = WireClient(max_connections=2)
        try:
            await post(client, server.url)  # one pooled connection
            with anyio.move_on_after(2) as scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(post, client, server.url)
                    await started.wait()
                    tg.cancel_scope.cancel()
            assert not scope.cancelled_caught
            assert client.open_connections == 0  # aborted, not pooled
            await server.wait_closed_by_client(1)
            assert await post(client, server.url) == OK  # a fresh connection
            assert client.opened == 2
        finally:
            await client.aclose()


async def test_the_pool_never_exceeds_the_concurrency() -> None:
    async def slow(writer: asyncio.StreamWriter, n: int) -> bool:
        await asyncio.sleep(0.02)
        writer.write(reply())
        return True

    async with RawServer(slow) as server:
        async with HttpEngine(concurrency=4) as engine:
            async with anyio.create_task_group() as tg:
                for _ in range(40):
                    tg.start_soon(engine.post_json, server.url, {})
            assert engine.statistics().succeeded == 40
        assert server.peak <= 4
        assert server.accepted == 4  # kept alive and reused
        await server.wait_closed_by_client(4)  # closing the engine closed the pool


async def test_connections_to_several_origins_stay_under_the_limit() -> None:
    async with RawServer(always_ok) as first, RawServer(always_ok) as second:
        client = WireClient(max_connections=1)
        try:
            for _ in range(3):
                assert await post(client, first.url) == OK
                assert await post(client, second.url) == OK
                assert client.open_connections == 1  # the idle one was closed first
        finally:
            await client.aclose()


async def test_retry_after_is_read_case_insensitively() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def throttle(writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(reply(b"{}", status=429, headers=[("rEtRy-AfTeR", "2.5")]))
        return True

    engine = HttpEngine(retry=RetryPolicy(attempts=2, sleep=sleep))
    async with RawServer(throttle) as server, engine:
        with pytest.raises(TransientJudgeError) as info:
            await engine.post_json(server.url, {})
    assert info.value.status == 429
    assert slept == [2.5]


async def test_bad_urls_and_header_injection_are_config_errors() -> None:
    client = WireClient(max_connections=1)
    try:
        with pytest.raises(ConfigError, match="http:// and https://"):
            await client.post("ftp://127.0.0.1/x", b"", {}, deadline())
        with pytest.raises(ConfigError, match="line break"):
            await client.post("http://127.0.0.1:9/x", b"", {"X-Evil": "a\r\nHost: b"}, deadline())
    finally:
        await client.aclose()
    with pytest.raises(ConfigError, match="transport"):
        HttpEngine(transport="httpx")  # type: ignore[arg-type]


async def test_a_refused_connection_is_transient() -> None:
    async with HttpEngine(retry=FAST) as engine:
        with pytest.raises(
            TransientJudgeError, match=re.escape("connection to http://127.0.0.1:9/")
        ):
            await engine.post_json("http://127.0.0.1:9/v1/chat/completions", {})


# -- TLS --------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_https_with_a_private_ca(transport: Transport) -> None:
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)

    async with RawServer(always_ok, tls=server_tls) as server:
        assert server.url.startswith("https://127.0.0.1:")
        async with HttpEngine(ssl_context=client_tls, transport=transport) as engine:
            for _ in range(3):
                assert (await engine.post_json(server.url, {})).body == {"ok": 1}
        assert server.accepted == 1
        # The system's CAs do not know ours: the handshake fails, as a connection error.
        async with HttpEngine(retry=FAST, transport=transport) as engine:
            with pytest.raises(TransientJudgeError, match=r"(?i)certificate"):
                await engine.post_json(server.url, {})
