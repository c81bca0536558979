"""Stratify N traces in shards: a local 2-CPU Ray cluster vs in-process, same 2 cores.

For each N, writes N generated traces as JSONL shards, then runs the pipeline's sharded
path, ``livingeval.distributed.sample_window`` (seeded fit sample; every shard read,
scrubbed, embedded and assigned in a worker; the stratified sample drawn from per-cell
candidates; the sampled traces fetched), once in-process (``InProcessExecutor``: one
process) and once on a private local Ray instance with 2 CPUs, each mode in a fresh
subprocess so the driver's peak RSS is its own. Prints throughput, the Ray / in-process
ratio (target >= 0.8x), the driver's peak RSS per N (target: flat from 100k to 1M), the
driver's CPU time and the load average (wall-clock figures on a shared machine are only
as good as the load lets them be). Also prints per-stage throughput on one core (CPU
time), the inputs of the cost model in docs/scale.md.

Scrubbing is the rule layer only (``default_scrubber(ner=False)``): with the spaCy NER
layer (about 15 traces/s per core) a million traces would take a day on 2 cores.

Traces: one generated window of 20,000 traces, repeated with fresh ids and a per-copy
reference appended to the last user message (so no two texts are identical).

Usage:
    python benchmarks/bench_distributed_stratify.py [N ...] [--local-max N] [--shard-size S]
    (default: 100000 1000000; in-process runs only for N <= --local-max, default all)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE = 20_000
FIT_SIZE = 10_000
SAMPLE = 2_000


def _write_shards(folder: Path, n: int, shard_size: int) -> None:
    from livingeval._json import dumps, trace_to_obj
    from livingeval.demo import generate_window

    base = [trace_to_obj(t) for t in generate_window(BASE, seed=0).traces]
    written = 0
    shard = 0
    while written < n:
        lines = []
        for j in range(min(shard_size, n - written)):
            k = written + j
            obj = dict(base[k % BASE])
            obj["id"] = f"c{k // BASE}-{obj['id']}"
            messages = [dict(m) for m in obj["messages"]]
            for m in reversed(messages):
                if m.get("role") == "user" and isinstance(m.get("content"), str):
                    m["content"] = f"{m['content']} (ref {k})"
                    break
            obj["messages"] = messages
            lines.append(dumps(obj) + b"\n")
        (folder / f"part-{shard:05d}.jsonl").write_bytes(b"".join(lines))
        written += len(lines)
        shard += 1


def _stages(folder: Path) -> dict[str, float]:
    """Traces per CPU-second of one core, per stage, on the first shard (up to 5,000)."""
    from livingeval.distributed import ShardedTraceSource
    from livingeval.embed import TraceView, default_embedder, embed_traces
    from livingeval.scrub import default_scrubber
    from livingeval.stratify import HDBSCANStratifier

    t = time.process_time()
    traces = list(ShardedTraceSource(folder).shard(0))
    read_s = time.process_time() - t
    read_n = len(traces)
    traces = traces[:5000]
    rules = default_scrubber(ner=False)
    rules.scrub(traces[0])
    t = time.process_time()
    scrubbed = [rules.scrub(x) for x in traces]
    scrub_s = time.process_time() - t
    embedder = default_embedder()
    embed_traces(embedder, scrubbed[:10], view=TraceView.LAST_USER_TURN)
    t = time.process_time()
    vectors = embed_traces(embedder, scrubbed, view=TraceView.LAST_USER_TURN)
    embed_s = time.process_time() - t
    strata = HDBSCANStratifier(min_cluster_size=15, seed=0).fit(vectors)
    t = time.process_time()
    strata.assign(vectors)
    assign_s = time.process_time() - t
    n = len(traces)
    return {
        "read": read_n / read_s,
        "scrub (rules)": n / scrub_s,
        "embed": n / embed_s,
        "assign": n / assign_s,
    }


def _child(mode: str, folder: str) -> None:
    from livingeval.distributed import RayExecutor, ShardedTraceSource, sample_window
    from livingeval.embed import TraceView, default_embedder
    from livingeval.pipeline import InProcessExecutor
    from livingeval.scrub import default_scrubber
    from livingeval.stratify import HDBSCANStratifier

    source = ShardedTraceSource(folder)
    executor: InProcessExecutor | RayExecutor = InProcessExecutor()
    if mode == "ray":
        executor = RayExecutor(num_cpus=2)
        executor.connect()  # start-up is a one-off, not throughput
    cpu = time.process_time()
    t = time.perf_counter()
    window = sample_window(
        source,
        executor=executor,
        scrubber=default_scrubber(ner=False),
        embedder=default_embedder(),
        stratifier=HDBSCANStratifier(min_cluster_size=15, seed=0),
        view=TraceView.LAST_USER_TURN,
        size=SAMPLE,
        seed=0,
        noise_weight=0.2,
        min_per_stratum=5,
        cap_key="tenant",
        max_group_share=0.25,
        fit_size=FIT_SIZE,
    )
    seconds = time.perf_counter() - t
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "traces": window.total,
                "sampled": len(window.sampled),
                "seconds": seconds,
                "driver_cpu_s": time.process_time() - cpu,
                "rss_mb": rss_mb,
                "load": os.getloadavg()[0],
            }
        )
    )


def _run_child(mode: str, folder: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(folder)],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"the {mode} run failed:\n{done.stderr[-3000:]}")
    out = done.stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--local-max", type=int, default=None)
    parser.add_argument("--shard-size", type=int, default=20_000)
    args = parser.parse_args()
    rows = []
    for i, n in enumerate(args.sizes):
        with tempfile.TemporaryDirectory(prefix="le-bench-") as tmp:
            folder = Path(tmp)
            t = time.perf_counter()
            _write_shards(folder, n, args.shard_size)
            print(f"wrote {n:,} traces in {time.perf_counter() - t:.0f} s", flush=True)
            if i == 0:
                rates = _stages(folder)
                print(
                    "per-stage throughput, traces per CPU-second of one core: "
                    + ", ".join(f"{k} {v:,.0f}" for k, v in rates.items()),
                    flush=True,
                )
            modes = ["ray"] + (["local"] if args.local_max is None or n <= args.local_max else [])
            for mode in modes:
                f = _run_child(mode, folder)
                rows.append((n, mode, f))
                label = "Ray, 2 CPUs" if mode == "ray" else "in-process (1 process)"
                print(
                    f"N={n:>9,} {label:24s} {f['seconds']:7.1f} s = "
                    f"{f['traces'] / f['seconds']:7,.0f} traces/s; driver peak RSS "
                    f"{f['rss_mb']:,.0f} MB; driver CPU {f['driver_cpu_s']:.1f} s; "
                    f"load average {f['load']:.1f}",
                    flush=True,
                )
            local = [f for m, f in ((m, f) for nn, m, f in rows if nn == n) if m == "local"]
            ray = [f for nn, m, f in rows if nn == n and m == "ray"]
            if local and ray:
                ratio = local[0]["seconds"] / ray[0]["seconds"]
                print(f"N={n:>9,} Ray / in-process throughput: {ratio:.2f}x (target >= 0.8x)")
    ray_rss = [(n, f["rss_mb"]) for n, m, f in rows if m == "ray"]
    if len(ray_rss) > 1:
        (n0, r0), (n1, r1) = ray_rss[0], ray_rss[-1]
        print(
            f"driver peak RSS on Ray: {r0:,.0f} MB at {n0:,} -> {r1:,.0f} MB at {n1:,} "
            f"({(r1 - r0) / r0:+.1%}; target flat)"
        )


if __name__ == "__main__":
    main()
