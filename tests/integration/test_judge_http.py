"""The shared HTTP engine against the loopback server: retries, Retry-After, slots, timeouts."""

from __future__ import annotations

import anyio
import pytest

from livingeval._http import TRANSPORTS, HttpEngine, RateLimiter, RetryPolicy, Transport
from livingeval.errors import TransientJudgeError
from livingeval.testing import Faults, LoopbackServer

pytestmark = [pytest.mark.network_loopback, pytest.mark.anyio]

PAYLOAD = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> Transport:
    """Each engine test runs on every transport (the default wire client and aiohttp)."""
    value: Transport = request.param
    return value


async def test_retry_after_is_honoured_with_an_injected_sleep(transport: Transport) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    with LoopbackServer(faults=Faults(throttle=1.0, retry_after=2.5)) as server:
        engine = HttpEngine(
            concurrency=4, retry=RetryPolicy(attempts=3, sleep=sleep), transport=transport
        )
        async with engine:
            with pytest.raises(TransientJudgeError) as info:
                await engine.post_json(server.url + "/chat/completions", PAYLOAD)
        assert info.value.status == 429
        assert slept == [2.5, 2.5]
        assert engine.statistics().throttled == 3
        assert engine.statistics().retries == 2
        assert server.stats()["requests"] == 3


async def test_the_slot_is_released_while_sleeping_out_retry_after(transport: Transport) -> None:
    other_done = anyio.Event()

    async def sleep(seconds: float) -> None:
        await other_done.wait()  # only returns if the other request got the single slot

    with (
        LoopbackServer(faults=Faults(throttle=1.0)) as throttled,
        LoopbackServer() as healthy,
    ):
        engine = HttpEngine(
            concurrency=1, retry=RetryPolicy(attempts=2, sleep=sleep), transport=transport
        )
        async with engine:

            async def limited() -> None:
                with pytest.raises(TransientJudgeError):
                    await engine.post_json(throttled.url + "/chat/completions", PAYLOAD)

            async def other() -> None:
                await anyio.sleep(0.05)
                reply = await engine.post_json(healthy.url + "/chat/completions", PAYLOAD)
                assert reply.status == 200
                other_done.set()

            with anyio.fail_after(5):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(limited)
                    tg.start_soon(other)


async def test_timeouts_and_truncated_bodies_are_transient(transport: Transport) -> None:
    fast = RetryPolicy(attempts=2, sleep=lambda s: anyio.sleep(0))
    with LoopbackServer(faults=Faults(timeout=1.0, hang=2.0)) as server:
        async with HttpEngine(timeout=0.2, retry=fast, transport=transport) as engine:
            with pytest.raises(TransientJudgeError, match="timeout"):
                await engine.post_json(server.url + "/chat/completions", PAYLOAD)
            assert engine.statistics().timeouts == 2
    with LoopbackServer(faults=Faults(truncated=1.0)) as server:
        async with HttpEngine(retry=fast, transport=transport) as engine:
            with pytest.raises(TransientJudgeError, match="truncated or malformed"):
                await engine.post_json(server.url + "/chat/completions", PAYLOAD)


async def test_500s_are_retried_until_success(transport: Transport) -> None:
    with LoopbackServer(faults=Faults(server_error=0.5), seed=3) as server:
        retry = RetryPolicy(attempts=10, sleep=lambda s: anyio.sleep(0))
        async with HttpEngine(retry=retry, transport=transport) as e:
            for _ in range(20):
                reply = await e.post_json(server.url + "/chat/completions", PAYLOAD)
                assert reply.body["choices"][0]["message"]["content"].startswith("ok")
            assert e.statistics().server_errors > 0
            assert e.statistics().succeeded == 20


async def test_rate_limiter_waits_and_backs_off() -> None:
    limiter = RateLimiter(requests_per_minute=120)  # 2 per second, a minute's burst
    for _ in range(120):
        await limiter.acquire()
    start = anyio.current_time()
    await limiter.acquire()
    assert 0.1 <= anyio.current_time() - start < 1.0
    limiter.on_throttled()
    limiter.on_throttled()
    assert limiter.factor == 0.25
    limiter.on_success()
    assert limiter.factor == pytest.approx(0.27)


async def test_embeddings_endpoint_for_other_stages(transport: Transport) -> None:
    with LoopbackServer() as server:
        async with HttpEngine(transport=transport) as engine:
            reply = await engine.post_json(
                server.url + "/embeddings", {"model": "e", "input": ["a", "b"], "dimensions": 8}
            )
    vectors = [row["embedding"] for row in reply.body["data"]]
    assert len(vectors) == 2
    assert len(vectors[0]) == 8
    assert abs(sum(v * v for v in vectors[0]) - 1.0) < 1e-9
