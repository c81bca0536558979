"""OpenAIEmbedder against real aiohttp servers on 127.0.0.1 (no mocked transport)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.from_thread
import numpy as np
import orjson
import pytest
from aiohttp import web

from livingeval._http import TRANSPORTS, Transport
from livingeval.embed import CachedEmbedder, EmbeddingReplyError, OpenAIEmbedder
from livingeval.errors import ConfigError, JudgeError, TransientJudgeError
from livingeval.testing import Faults, LoopbackServer, check_embedder

pytestmark = pytest.mark.network_loopback


def _vector(text: str, dim: int) -> list[float]:
    # Deterministic, text-only: letter counts spread over dim, unnormalised on purpose.
    values = [0.0] * dim
    for i, ch in enumerate(text or " "):
        values[(ord(ch) + i) % dim] += 1.0 + (i % 3)
    return values


class ScriptedServer:
    """An embeddings endpoint whose first replies follow a script of HTTP statuses."""

    def __init__(self, script: list[tuple[int, dict[str, str]]] | None = None) -> None:
        self.script = list(script or [])
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        payload = orjson.loads(await request.read())
        self.requests.append(payload)
        self.headers.append(dict(request.headers))
        if self.script:
            status, headers = self.script.pop(0)
            return web.Response(status=status, headers=headers, text='{"error": "scripted"}')
        dim = int(payload.get("dimensions", 16))
        data = [
            {"object": "embedding", "index": i, "embedding": _vector(t, dim)}
            for i, t in enumerate(payload["input"])
        ]
        data.reverse()  # servers may answer out of order; the client sorts by index
        body = orjson.dumps({"object": "list", "data": data, "model": payload["model"]})
        return web.Response(body=body, content_type="application/json")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/embeddings", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/v1"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
def scripted() -> Iterator[tuple[ScriptedServer, anyio.from_thread.BlockingPortal]]:
    server = ScriptedServer()
    with anyio.from_thread.start_blocking_portal(backend="asyncio") as portal:
        portal.call(server.start)
        try:
            yield server, portal
        finally:
            portal.call(server.stop)


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_batches_dimensions_order_and_auth(
    scripted: tuple[ScriptedServer, Any],
) -> None:
    server, _ = scripted
    emb = OpenAIEmbedder(
        base_url=server.url, api_key="sk-test", dimensions=24, batch_size=3, concurrency=2
    )
    texts = [f"text number {i}" for i in range(8)] + [""]
    out = emb.embed(texts)
    assert out.shape == (9, 24)
    assert out.dtype == np.float32
    assert len(server.requests) == math.ceil(9 / 3)
    assert all(
        r["dimensions"] == 24 and r["model"] == "text-embedding-3-large" for r in server.requests
    )
    assert sorted(t for r in server.requests for t in r["input"]) == sorted([*texts[:8], " "])
    assert {h["Authorization"] for h in server.headers} == {"Bearer sk-test"}
    expected = np.asarray([_vector(t or " ", 24) for t in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    check_embedder(emb)


def test_no_dimensions_field_when_unset(scripted: tuple[ScriptedServer, Any]) -> None:
    server, _ = scripted
    OpenAIEmbedder(base_url=server.url, api_key="k").embed(["a"])
    assert "dimensions" not in server.requests[0]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_retries_429_and_5xx_honouring_retry_after(
    scripted: tuple[ScriptedServer, Any], transport: Transport
) -> None:
    server, _ = scripted
    server.script = [(429, {"Retry-After": "1.5"}), (503, {}), (500, {})]
    sleep = RecordingSleep()
    emb = OpenAIEmbedder(
        base_url=server.url, api_key="k", dimensions=8, sleep=sleep, transport=transport
    )
    out = emb.embed(["hello", "world"])
    assert out.shape == (2, 8)
    assert len(server.requests) == 4
    assert sleep.waits[0] == 1.5  # Retry-After replaces the computed backoff
    assert len(sleep.waits) == 3
    assert all(w < 1.5 for w in sleep.waits[1:])


def test_gives_up_after_attempts(scripted: tuple[ScriptedServer, Any]) -> None:
    server, _ = scripted
    server.script = [(502, {})] * 5
    emb = OpenAIEmbedder(base_url=server.url, attempts=3, sleep=RecordingSleep())
    with pytest.raises(TransientJudgeError, match="HTTP 502"):
        emb.embed(["hello"])
    assert len(server.requests) == 3


def test_permanent_error_is_not_retried(scripted: tuple[ScriptedServer, Any]) -> None:
    server, _ = scripted
    server.script = [(401, {})]
    with pytest.raises(JudgeError, match="HTTP 401") as info:
        OpenAIEmbedder(base_url=server.url, api_key="bad", sleep=RecordingSleep()).embed(["x"])
    assert not isinstance(info.value, TransientJudgeError)
    assert len(server.requests) == 1


def test_server_ignoring_dimensions_is_reported(scripted: tuple[ScriptedServer, Any]) -> None:
    server, _ = scripted
    # This server ignores nothing, but a reply of 16 columns for a request of 8 is refused.
    emb = OpenAIEmbedder(base_url=server.url, dimensions=8)
    assert emb.embed(["x"]).shape == (1, 8)
    with pytest.raises(EmbeddingReplyError, match="dimensions=8"):
        emb._parse({"data": [{"index": 0, "embedding": [1.0] * 16}]}, 1, server.url)


@pytest.mark.anyio
async def test_async_entry_point_and_cache_against_loopback_with_faults(tmp_path: Any) -> None:
    faults = Faults(throttle=0.2, retry_after=0.01, server_error=0.1)
    server = LoopbackServer(faults=faults, seed=3)
    await server.start_async()
    try:
        emb = OpenAIEmbedder(
            base_url=server.url, api_key="k", dimensions=32, batch_size=5, concurrency=4
        )
        texts = [f"query {i}" for i in range(60)]
        out = await emb.embed_async(texts)
        assert out.shape == (60, 32)
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
        assert server.stats().get("throttled", 0) + server.stats().get("server_error", 0) > 0
        again = await emb.embed_async(texts[:7])
        np.testing.assert_allclose(again, out[:7], atol=1e-6)
    finally:
        await server.stop_async()


def test_cached_openai_embedder_sends_nothing_the_second_time(tmp_path: Any) -> None:
    with LoopbackServer() as server:
        emb = OpenAIEmbedder(base_url=server.url, api_key="k", dimensions=16)
        path = tmp_path / "emb.sqlite"
        first = CachedEmbedder(emb, path=path).embed(["a", "b", "c"])
        before = server.stats()["replied"]
        second = CachedEmbedder(emb, path=path).embed(["c", "b", "a"])
        assert server.stats()["replied"] == before
        np.testing.assert_array_equal(second, first[::-1])


def test_reply_without_one_vector_per_input_is_an_error() -> None:
    emb = OpenAIEmbedder(base_url="http://127.0.0.1:9/v1", dimensions=4)
    with pytest.raises(EmbeddingReplyError, match="expected=2, got=1"):
        emb._parse({"data": [{"index": 0, "embedding": [1, 0, 0, 0]}]}, 2, "u")
    with pytest.raises(EmbeddingReplyError, match="shape"):
        emb._parse({"data": [{"index": 0, "embedding": [1, 0]}]}, 1, "u")


def test_an_unknown_transport_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="transport"):
        OpenAIEmbedder(transport="httpx")  # type: ignore[arg-type]


def test_key_is_not_in_repr_and_env_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    emb = OpenAIEmbedder(api_key="sk-secret")
    assert "sk-secret" not in repr(emb)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1234/v1/")
    assert OpenAIEmbedder().resolved_base_url == "http://127.0.0.1:1234/v1"
