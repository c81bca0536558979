"""Benchmark: end-to-end overhead of the living evaluation on 10,000 traces.

Target (issue #9): everything except judge and candidate latency under 60 s on 2 cores.

The window is the demo's generated production traffic (11 intents, PII, a 40% tenant,
multi-step agent workflows), with a previous window of the same size for drift. The
candidate is an in-process callable with no latency; free-text answers go to a real
``PairwiseJudge`` over HTTP against the loopback server answering at once, so what is timed
is the library: scrubbing, embedding, clustering, sampling, replay fan-out, the pairwise
protocol and its cache, structured comparison, gating and the report. The default scrubber
runs the rule layer (``--ner`` adds the spaCy layer when installed).

Usage: python benchmarks/bench_pipeline_overhead.py [--traces 10000] [--sample 600] [--ner]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from livingeval.config import EvalConfig
from livingeval.demo import generate_window
from livingeval.demo._judge import offline_judge_rule
from livingeval.demo._traffic import candidate_answer
from livingeval.judge import OpenAICompatibleJudge, PairwiseJudge
from livingeval.pipeline import evaluate_sync
from livingeval.records import ReplayRequest, Response
from livingeval.replay import CallableResponder
from livingeval.report import write_report
from livingeval.scrub import default_scrubber
from livingeval.testing import LoopbackServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=600)
    parser.add_argument("--ner", action="store_true", help="add the spaCy NER scrub layer")
    args = parser.parse_args()

    t0 = time.perf_counter()
    window = generate_window(args.traces, seed=0)
    previous = generate_window(args.traces, seed=1)
    print(f"generated 2 x {args.traces:,} traces in {time.perf_counter() - t0:.1f} s (not timed)")
    baselines = {t.id: t.response or Response() for t in window.traces}

    def candidate(request: ReplayRequest) -> Response:
        return candidate_answer(request, baseline=baselines.get(request.trace_id))

    previous_traces = list(previous.traces)
    with tempfile.TemporaryDirectory() as tmp, LoopbackServer(rule=offline_judge_rule()) as server:
        judge = PairwiseJudge(
            OpenAICompatibleJudge(base_url=server.url, model="offline", api_key=""),
            runs=3,
            temperature=0.3,
            concurrency=64,
            cache_path=str(Path(tmp) / "cache.sqlite"),
        )
        config = EvalConfig(sample_size=args.sample, seed=0, out_dir=tmp)
        t0, c0 = time.perf_counter(), time.process_time()
        results = evaluate_sync(
            window.traces,
            responder=CallableResponder(candidate),
            text_judge=judge,
            scrubber=default_scrubber(ner=args.ner),
            config=config,
            previous=previous_traces,
            progress=False,
        )
        write_report(results, tmp)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    seconds = results.statistics.get("seconds", {})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in dict(seconds).items()))
    print(
        f"livingeval pipeline on {args.traces:,} traces (+{len(previous_traces):,} previous), "
        f"{len(results.items)} items judged, {results.statistics.get('judge_calls', 0)} judge "
        f"calls, {len(results.clusters)} clusters: {wall:.1f} s wall including the report, "
        f"{cpu:.1f} s of driver CPU; peak RSS {peak:,.0f} MB"
    )
    print(f"decision: {results.decision.outcome}")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("target: < 60 s on 2 cores (no judge or candidate latency)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
