"""Benchmark: stream generated traces from JSON Lines and report traces/s and peak RSS.

Target (issue #3): at least 100,000 traces/s and peak RSS under 300 MB, whatever the file size.

Usage: python benchmarks/bench_jsonl_stream.py [--traces 1000000] [--gzip]
The generated file goes to a temporary directory and is removed afterwards.
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import tempfile
import time
from pathlib import Path

import orjson

from livingeval.sources import JsonlTraceSource
from livingeval.sources._common import open_trace_file


def _write(path: Path, n: int, use_gzip: bool) -> None:
    opener = gzip.open if use_gzip else open
    base = 1_763_000_000
    with opener(path, "wb") as out:  # type: ignore[operator]
        for i in range(n):
            record = {
                "id": f"trace-{i:08d}",
                "timestamp": base + i,
                "messages": [
                    {"role": "system", "content": "You are a helpful banking assistant."},
                    {
                        "role": "user",
                        "content": f"Where is my card number {i % 977}? It has not arrived.",
                    },
                ],
                "response": (
                    {
                        "role": "assistant",
                        "content": None,
                        "finish_reason": "tool_calls",
                        "tool_calls": [
                            {
                                "id": f"c{i}",
                                "type": "function",
                                "function": {
                                    "name": "track_card",
                                    "arguments": f'{{"customer": "c-{i}"}}',
                                },
                            }
                        ],
                    }
                    if i % 3 == 0
                    else {
                        "role": "assistant",
                        "content": "Your card was posted on Monday.",
                        "finish_reason": "stop",
                    }
                ),
                "metadata": {"tenant": f"tenant-{i % 7}", "model_version": "prod-3"},
            }
            out.write(orjson.dumps(record) + b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("traces.jsonl.gz" if args.gzip else "traces.jsonl")
        t0 = time.perf_counter()
        _write(path, args.traces, args.gzip)
        size_mb = path.stat().st_size / 1e6
        print(
            f"generated {args.traces:,} traces ({size_mb:,.0f} MB) in {time.perf_counter() - t0:.1f} s"
        )
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        source = JsonlTraceSource(path)
        t0, c0 = time.perf_counter(), time.process_time()
        count = 0
        for _ in source:
            count += 1
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # Reference floor from the same run: read and parse every line, build nothing.
        t0 = time.perf_counter()
        with open_trace_file(str(path)) as handle:
            parsed = sum(1 for line in handle if orjson.loads(line))
        floor = time.perf_counter() - t0
    print(
        f"livingeval JsonlTraceSource: {count / elapsed:,.0f} traces/s wall "
        f"({count:,} traces in {elapsed:.2f} s), {count / cpu:,.0f} traces/s of CPU; "
        f"peak RSS {peak:,.0f} MB (before streaming {rss_before:,.0f} MB)"
    )
    print(f"reference, orjson.loads of every line and nothing else: {parsed / floor:,.0f} lines/s")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("targets: >= 100,000 traces/s, peak RSS < 300 MB")


if __name__ == "__main__":
    main()
