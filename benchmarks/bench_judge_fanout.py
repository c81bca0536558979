"""Fan-out overhead: the pairwise judge vs a bare aiohttp loop, same requests, same run.

Against the loopback server (a subprocess on the other core) with latency jittered
uniformly in 25-75 ms, at concurrency 16, 64 and 256. The judge runs the whole pairwise
protocol (3 runs, both orders, early stopping; a deterministic judge settles in 4 calls)
with the SQLite cache on, so each HTTP request includes protocol, retry and cache work.
The bare loop posts the very bodies the judge sends (same prompt template, same items).
All run in this process's main thread under the same event loop implementation
(``--loop asyncio``, the default, or ``--loop uvloop`` when uvloop is installed).

Rows per concurrency: ``bare`` (the peer: a bare aiohttp loop), ``floor`` (no HTTP: C
workers awaiting timers drawn like the server's latency, i.e. what this machine charges
for the event loop's wake-ups alone), ``wire`` (the bare loop on livingeval's own HTTP
client, ``livingeval._http.WireClient``), ``judge`` (the judge on its default transport)
and ``judge-aio`` (the judge with ``transport="aiohttp"``). "vs bare" is always against
the bare aiohttp loop.

Prints requests/s; client CPU per request (this process only); the share of the wall time
the client spent runnable but waiting for its core ("cli wait", from ``/proc`` schedstat:
other processes on its core took it; above ~0.05 the wall-clock figures say more about
the machine than about the code); the server's CPU per request and how busy its core was
(a server near 1.0 would cap both loops); share of ideal C/latency; ratio to bare; and the
load average. CPU per request is the figure most robust to load.

    python benchmarks/bench_judge_fanout.py [--requests 5000] [--loop uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import orjson
from _loopback import (  # benchmarks/ is sys.path[0]
    loopback_process,
    pin_client,
    run_queue_wait,
    server_cpu,
)

from livingeval._http import TRANSPORTS, Transport, WireClient
from livingeval.judge import (
    OpenAICompatibleJudge,
    PairwiseItem,
    PairwiseJudge,
    PairwiseResult,
    summarize,
)

LATENCY = 0.05  # mean of uniform 25-75 ms


def request_bodies(items: list[PairwiseItem], judge: PairwiseJudge) -> list[bytes]:
    """The bodies the judge sends for ``items`` (runs 0 and 1, both orders), byte for byte."""
    bodies = []
    for item in items:
        for a, b in ((item.candidate, item.baseline), (item.baseline, item.candidate)):
            system, user = judge.template.render(prompt=item.prompt, answer_a=a, answer_b=b)
            body = orjson.dumps(
                {
                    "model": "m",
                    "messages": [
                        {"role": "system", "content": system},
                        {"role": "user", "content": user},
                    ],
                    "temperature": judge.temperature,
                    "max_tokens": judge.max_tokens,
                }
            )
            bodies += [body, body]
    return bodies


async def bare_loop(url: str, bodies: list[bytes], concurrency: int) -> None:
    """The peer: C workers posting the judge's request bodies with one aiohttp session."""
    headers = {"Content-Type": "application/json", "Authorization": "Bearer k"}
    remaining = iter(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for body in remaining:
                async with session.post(url + "/chat/completions", data=body, headers=headers) as r:
                    orjson.loads(await r.read())

        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)


async def timer_loop(url: str, bodies: list[bytes], concurrency: int) -> None:
    """The floor of any client: C workers awaiting timers drawn like the server's latency.

    No HTTP at all, so its CPU per "request" is what this machine charges for the event loop
    waking up, once per timer, at this concurrency.
    """
    loop = asyncio.get_running_loop()
    draw = random.Random(0).uniform
    remaining = iter(bodies)

    async def worker() -> None:
        for _ in remaining:
            wake: asyncio.Future[None] = loop.create_future()
            loop.call_later(draw(0.025, 0.075), wake.set_result, None)
            await wake

    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)


async def wire_loop(url: str, bodies: list[bytes], concurrency: int) -> None:
    """The same loop as :func:`bare_loop` on livingeval's own HTTP client."""
    headers = {"Content-Type": "application/json", "Authorization": "Bearer k"}
    remaining = iter(bodies)
    client = WireClient(max_connections=concurrency)
    loop = asyncio.get_running_loop()
    endpoint = url + "/chat/completions"
    try:

        async def worker() -> None:
            for body in remaining:
                reply = await client.post(endpoint, body, headers, loop.time() + 60.0)
                orjson.loads(reply.body)

        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)
    finally:
        await client.aclose()


def measure(
    server_pid: int, fn: Callable[..., object], *args: Any
) -> tuple[float, float, float, float]:
    """Of ``fn(*args)``: wall seconds, this process's CPU seconds, its seconds waiting for
    its core, and the server's CPU seconds."""
    me = os.getpid()
    server, waited = server_cpu(server_pid), run_queue_wait(me)
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return (
        time.perf_counter() - wall,
        time.process_time() - cpu,
        run_queue_wait(me) - waited,
        server_cpu(server_pid) - server,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[16, 64, 256])
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    options = {"use_uvloop": args.loop == "uvloop"}
    if args.loop == "uvloop":
        import uvloop  # noqa: F401  (fail here, not deep inside anyio)
    pin_client()
    print(
        f"event loop: {args.loop} (both loops); Python {platform.python_version()}, "
        f"aiohttp {aiohttp.__version__}; client and server each pinned to one core"
    )

    def run_loop(loop_fn: Callable[..., Any], url: str, bodies: list[bytes], c: int) -> None:
        anyio.run(loop_fn, url, bodies, c, backend_options=options)

    def run_judge(
        judge: PairwiseJudge, items: list[PairwiseItem], out: list[PairwiseResult]
    ) -> None:
        out.extend(anyio.run(judge.compare, items, backend_options=options))

    with loopback_process("--latency", "0.025", "0.075") as (url, server_pid):
        print(
            f"{'C':>4} {'who':>9} {'req/s':>8} {'CPU ms/req':>10} {'cli wait':>8} "
            f"{'server ms':>9} {'srv busy':>8} {'of ideal':>8} {'vs bare':>7} {'load':>5}"
        )
        for c in args.concurrency:
            items = [
                PairwiseItem(id=str(i), prompt=f"q{i}", candidate="x" * (2 + i % 3), baseline="x")
                for i in range(args.requests // 4)
            ]
            with tempfile.TemporaryDirectory() as tmp:
                bodies = request_bodies(items, judge_with(url, TRANSPORTS[0], c, tmp))
                n = len(bodies)
                timing = measure(server_pid, run_loop, bare_loop, url, bodies, c)
                rate_b = row(c, "bare", n, timing, None)
                timing = measure(server_pid, run_loop, timer_loop, url, bodies, c)
                row(c, "floor", n, timing, rate_b)
                timing = measure(server_pid, run_loop, wire_loop, url, bodies, c)
                row(c, "wire", n, timing, rate_b)
                for transport in TRANSPORTS:
                    results: list[PairwiseResult] = []
                    judge = judge_with(url, transport, c, tmp)
                    timing = measure(server_pid, run_judge, judge, items, results)
                    who = "judge" if transport == TRANSPORTS[0] else f"judge-{transport[:3]}"
                    row(c, who, summarize(results).judge_calls, timing, rate_b)


def judge_with(url: str, transport: Transport, concurrency: int, tmp: str) -> PairwiseJudge:
    """The benchmarked judge on ``transport``, with its own cache file in ``tmp``."""
    return PairwiseJudge(
        OpenAICompatibleJudge(base_url=url, model="m", api_key="k", transport=transport),
        concurrency=concurrency,
        cache_path=Path(tmp) / f"cache-{transport}.sqlite",
    )


def row(
    c: int, who: str, n: int, timing: tuple[float, float, float, float], rate_b: float | None
) -> float:
    """Print one row of the table; return its requests per second."""
    wall, cpu, wait, srv = timing
    rate = n / wall
    ratio = f"{rate / rate_b:>7.2f}" if rate_b else f"{'':>7}"
    print(
        f"{c:>4} {who:>9} {rate:>8.0f} {1000 * cpu / n:>10.3f} {wait / wall:>8.2f} "
        f"{1000 * srv / n:>9.3f} {srv / wall:>8.2f} {rate / (c / LATENCY):>8.2f} {ratio} "
        f"{os.getloadavg()[0]:>5.1f}",
        flush=True,
    )
    return rate


if __name__ == "__main__":
    main()
