"""Fan-out overhead: the pairwise judge vs a bare aiohttp loop, same requests, same run.

Against the loopback server (a subprocess on the other core) with latency jittered
uniformly in 25-75 ms, at concurrency 16, 64 and 256. The judge runs the whole pairwise
protocol (3 runs, both orders, early stopping; a deterministic judge settles in 4 calls)
with the SQLite cache on, so each HTTP request includes protocol, retry and cache work.
The bare loop posts the very bodies the judge sends (same prompt template, same items).
Both run in this process's main thread under the same event loop implementation
(``--loop asyncio``, the default, or ``--loop uvloop`` when uvloop is installed).

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
import os
import platform
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

    def run_bare(url: str, bodies: list[bytes], c: int) -> None:
        anyio.run(bare_loop, url, bodies, c, backend_options=options)

    def run_judge(
        judge: PairwiseJudge, items: list[PairwiseItem], out: list[PairwiseResult]
    ) -> None:
        out.extend(anyio.run(judge.compare, items, backend_options=options))

    with loopback_process("--latency", "0.025", "0.075") as (url, server_pid):
        print(
            f"{'C':>4} {'who':>6} {'req/s':>8} {'CPU ms/req':>10} {'cli wait':>8} "
            f"{'server ms':>9} {'srv busy':>8} {'of ideal':>8} {'vs bare':>7} {'load':>5}"
        )
        for c in args.concurrency:
            n = args.requests
            items = [
                PairwiseItem(id=str(i), prompt=f"q{i}", candidate="x" * (2 + i % 3), baseline="x")
                for i in range(n // 4)
            ]
            with tempfile.TemporaryDirectory() as tmp:
                judge = PairwiseJudge(
                    OpenAICompatibleJudge(base_url=url, model="m", api_key="k"),
                    concurrency=c,
                    cache_path=Path(tmp) / "cache.sqlite",
                )
                bodies = request_bodies(items, judge)
                wall_b, cpu_b, wait_b, srv_b = measure(server_pid, run_bare, url, bodies, c)
                n = len(bodies)
                rate_b = n / wall_b
                results: list[PairwiseResult] = []
                wall_j, cpu_j, wait_j, srv_j = measure(server_pid, run_judge, judge, items, results)
            calls = summarize(results).judge_calls
            rate_j = calls / wall_j
            ideal = c / LATENCY
            load = os.getloadavg()[0]
            print(
                f"{c:>4} {'bare':>6} {rate_b:>8.0f} {1000 * cpu_b / n:>10.3f} "
                f"{wait_b / wall_b:>8.2f} {1000 * srv_b / n:>9.3f} {srv_b / wall_b:>8.2f} "
                f"{rate_b / ideal:>8.2f} {'':>7} {load:>5.1f}"
            )
            print(
                f"{c:>4} {'judge':>6} {rate_j:>8.0f} {1000 * cpu_j / calls:>10.3f} "
                f"{wait_j / wall_j:>8.2f} {1000 * srv_j / calls:>9.3f} {srv_j / wall_j:>8.2f} "
                f"{rate_j / ideal:>8.2f} {rate_j / rate_b:>7.2f} {load:>5.1f}"
            )


if __name__ == "__main__":
    main()
