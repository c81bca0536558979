"""The loopback server's own HTTP/1.1 transport, spoken to over raw sockets on 127.0.0.1."""

from __future__ import annotations

import socket
import time

import aiohttp
import anyio
import orjson
import pytest
from aiohttp import web

from livingeval.testing import Faults, LoopbackServer

pytestmark = [pytest.mark.network_loopback]

CHAT = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'


def _post(path: str, body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n%s\r\n%s" % (path.encode(), len(body), extra, body)
    )


def _replies(sock: socket.socket, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    """Read ``count`` complete replies (Content-Length framed) from ``sock``."""
    data = b""
    replies: list[tuple[int, dict[str, str], bytes]] = []
    while len(replies) < count:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            lines = data[:head_end].decode("latin-1").split("\r\n")
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines[1:])
            }
            end = head_end + 4 + int(headers["content-length"])
            if len(data) >= end:
                replies.append((int(lines[0].split()[1]), headers, data[head_end + 4 : end]))
                data = data[end:]
                continue
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed after {len(replies)} of {count} replies")
        data += chunk
    return replies


def _connect(server: LoopbackServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def test_pipelined_requests_are_answered_in_order_on_one_connection() -> None:
    with LoopbackServer() as server, _connect(server) as sock:
        bodies = [
            orjson.dumps({"model": f"m{i}", "messages": [{"role": "user", "content": "x"}]})
            for i in range(5)
        ]
        sock.sendall(b"".join(_post("/v1/chat/completions", body) for body in bodies))
        replies = _replies(sock, 5)
        assert [status for status, _, _ in replies] == [200] * 5
        assert [orjson.loads(body)["model"] for _, _, body in replies] == [
            f"m{i}" for i in range(5)
        ]
        assert all(headers["content-type"] == "application/json" for _, headers, _ in replies)
        assert server.stats()["replied"] == 5


def test_a_body_split_across_packets_is_reassembled() -> None:
    with LoopbackServer() as server, _connect(server) as sock:
        request = _post("/v1/chat/completions", CHAT)
        for i in range(0, len(request), 7):
            sock.sendall(request[i : i + 7])
            time.sleep(0.001)
        [(status, _, body)] = _replies(sock, 1)
        assert status == 200
        assert orjson.loads(body)["choices"][0]["message"]["content"] == "ok: hi"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (_post("/v1/nowhere", CHAT), 404),
        (b"GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        (_post("/v1/chat/completions", b"{not json"), 400),
        (_post("/v1/chat/completions", b"[1, 2]"), 400),
    ],
)
def test_bad_requests_get_a_json_error_and_the_connection_stays_open(
    request_bytes: bytes, status: int
) -> None:
    with LoopbackServer() as server, _connect(server) as sock:
        sock.sendall(request_bytes + _post("/v1/chat/completions", CHAT))
        (got, _, body), (after, _, _) = _replies(sock, 2)
        assert got == status
        assert orjson.loads(body)["error"]["message"]
        assert after == 200


def test_a_chunked_upload_gets_411_and_the_connection_closes() -> None:
    with LoopbackServer() as server, _connect(server) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        )
        [(status, headers, body)] = _replies(sock, 1)
        assert status == 411
        assert b"Content-Length" in body
        assert headers["connection"] == "close"
        assert sock.recv(10) == b""


def test_expect_100_continue_is_answered_before_the_body() -> None:
    with LoopbackServer() as server, _connect(server) as sock:
        request = _post("/v1/chat/completions", CHAT, b"Expect: 100-continue\r\n")
        head, body = request.split(b"\r\n\r\n", 1)
        sock.sendall(head + b"\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        [(status, _, _)] = _replies(sock, 1)
        assert status == 200


def test_connection_close_is_honoured_after_the_reply() -> None:
    with LoopbackServer() as server, _connect(server) as sock:
        sock.sendall(_post("/v1/chat/completions", CHAT, b"Connection: close\r\n"))
        [(status, headers, _)] = _replies(sock, 1)
        assert status == 200
        assert headers["connection"] == "close"
        assert sock.recv(10) == b""


def test_retry_after_header_and_stats_over_the_wire() -> None:
    with LoopbackServer(faults=Faults(throttle=1.0, retry_after=2.5)) as server:
        with _connect(server) as sock:
            sock.sendall(
                _post("/v1/chat/completions", CHAT) + b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            (status, headers, _), (stats_status, _, stats) = _replies(sock, 2)
        assert (status, headers["retry-after"]) == (429, "2.5")
        assert stats_status == 200
        assert orjson.loads(stats) == {"requests": 1, "throttled": 1}


def test_stop_ends_a_hanging_request_promptly() -> None:
    server = LoopbackServer(faults=Faults(timeout=1.0, hang=30.0)).start()
    sock = _connect(server)
    try:
        sock.sendall(_post("/v1/chat/completions", CHAT))
        time.sleep(0.1)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2.0
        assert sock.recv(10) == b""  # closed without a reply
    finally:
        sock.close()


@pytest.mark.anyio
async def test_app_serves_the_same_replies_through_aiohttp_web() -> None:
    server = LoopbackServer(faults=Faults(throttle=0.5, retry_after=3.0), seed=1)
    twin = LoopbackServer(faults=Faults(throttle=0.5, retry_after=3.0), seed=1)
    runner = web.AppRunner(server.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        got = []
        async with aiohttp.ClientSession() as session:
            for _ in range(6):
                async with session.post(
                    f"http://127.0.0.1:{port}/v1/chat/completions", data=CHAT
                ) as response:
                    got.append((response.status, response.headers.get("Retry-After")))
            async with session.get(f"http://127.0.0.1:{port}/v1/nowhere") as response:
                assert response.status == 404
        expected = []
        for _ in range(6):
            status, headers, _ = await twin.respond("POST", "/v1/chat/completions", CHAT)
            expected.append((status, dict(headers).get("Retry-After")))
        assert got == expected
        assert {status for status, _ in got} == {200, 429}
        assert server.stats() == twin.stats()
    finally:
        await runner.cleanup()


@pytest.mark.anyio
async def test_a_client_that_gives_up_on_a_hang_does_not_block_the_server() -> None:
    with LoopbackServer(faults=Faults(timeout=0.5, hang=30.0), seed=3) as server:
        timeout = aiohttp.ClientTimeout(total=0.3)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            outcomes = []
            for _ in range(8):
                try:
                    async with session.post(server.url + "/chat/completions", data=CHAT) as r:
                        outcomes.append(r.status)
                except TimeoutError:
                    outcomes.append(0)
            stats = server.stats()
            assert outcomes.count(0) == stats["hangs"] > 0
            assert outcomes.count(200) == stats["replied"] > 0
            with anyio.fail_after(5):  # the hung requests hold nothing later ones need
                while server.stats()["replied"] == stats["replied"]:
                    try:
                        async with session.post(server.url + "/chat/completions", data=CHAT) as r:
                            await r.read()
                    except TimeoutError:
                        continue  # another injected hang
