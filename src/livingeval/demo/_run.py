"""``livingeval demo``: the whole living evaluation on a generated window, offline.

A production window of a few thousand traces across 11 intents, a candidate release whose
regression hides in the multi-step agent workflows (truncated tool calls), a static suite
over the 4 easy intents that passes, and the living evaluation that fails the release,
names the cluster and the failure type, and writes the HTML report.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import TextIO

import attrs

from livingeval.config import EvalConfig
from livingeval.demo._judge import OFFLINE_JUDGE_LABEL, offline_judge_rule
from livingeval.demo._traffic import (
    STATIC_SUITE_INTENTS,
    candidate_answer,
    generate_window,
    static_suite,
)
from livingeval.judge import OpenAICompatibleJudge, PairwiseJudge
from livingeval.pipeline import evaluate_sync
from livingeval.protocols import Executor
from livingeval.records import ReplayRequest, Response, Results, Trace
from livingeval.replay import CallableResponder
from livingeval.report import write_report
from livingeval.scrub import default_scrubber
from livingeval.testing import LoopbackServer

__all__ = ["DemoOutcome", "run_demo"]


@attrs.frozen(kw_only=True)
class DemoOutcome:
    """What the demo found and where it wrote it.

    .. versionadded:: 0.1.0
    """

    living: Results
    """The living evaluation of the candidate on stratified production traffic."""
    static: Results
    """The same candidate on a typical static suite (4 easy intents)."""
    report: Path
    """The HTML report."""
    results: Path
    """The per-item JSON Lines results."""


def _namer(intents: dict[str, str]) -> Callable[[Sequence[Trace]], str]:
    def name(members: Sequence[Trace]) -> str:
        counts: dict[str, int] = {}
        for trace in members:
            intent = intents.get(trace.id, "?")
            counts[intent] = counts.get(intent, 0) + 1
        top = max(counts, key=lambda k: counts[k])
        purity = counts[top] / max(len(members), 1)
        return top if purity > 0.9 else f"{top} ({purity:.0%})"

    return name


def _judge_model() -> tuple[OpenAICompatibleJudge | None, str]:
    base_url = os.environ.get("LIVINGEVAL_JUDGE_BASE_URL")
    key = os.environ.get("OPENAI_API_KEY")
    if not base_url and not key:
        return None, OFFLINE_JUDGE_LABEL
    model = os.environ.get("LIVINGEVAL_JUDGE_MODEL", "gpt-4o-mini")
    judge = OpenAICompatibleJudge(
        base_url=base_url or "https://api.openai.com/v1", model=model, api_key=key or ""
    )
    return judge, f"{model} at {base_url or 'api.openai.com'} (real LLM judge from the environment)"


def run_demo(
    out_dir: str | os.PathLike[str],
    *,
    seed: int = 0,
    traces: int = 3000,
    sample_size: int = 600,
    stream: TextIO | None = None,
    progress: bool = True,
    executor: Executor | None = None,
) -> DemoOutcome:
    """Run the offline demo and write ``report.html`` and ``results.jsonl`` to ``out_dir``.

    Args:
        out_dir: Output folder (created).
        seed: Seed of the generated traffic, sampling and judge noise.
        traces: Size of the production window.
        sample_size: Items to replay and judge.
        stream: Where the narrative goes (default stdout).
        progress: Progress bars on stderr.
        executor: Where the data-parallel stages run (default: this process).

    Returns:
        Both evaluations and the written paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = stream or sys.stdout
    window = generate_window(traces, seed=seed)
    previous = generate_window(traces, seed=seed + 1000, now=None)
    previous_traces = [
        attrs.evolve(t, id="prev-" + t.id, timestamp=t.timestamp - timedelta(days=7))
        for t in previous.traces
    ]
    # The simulated candidate mirrors production's tool calls, as it would see them: scrubbed.
    scrubber = default_scrubber(ner=False)
    baselines: dict[str, Response] = {
        t.id: scrubber.scrub(t).response or Response() for t in window.traces
    }
    # Past incidents: tool-call failures that support tickets surfaced in earlier weeks.
    adversarial: list[Trace] = []
    for intent in ("block_card", "exchange_rate", "update_address", "transfer_money"):
        adversarial += [t for t in previous_traces if t.metadata.get("demo_intent") == intent][:6]
    baselines.update({t.id: scrubber.scrub(t).response or Response() for t in adversarial})
    intents = dict(window.intents) | {t.id: str(t.metadata.get("demo_intent")) for t in adversarial}

    def candidate(request: ReplayRequest) -> Response:
        return candidate_answer(request, baseline=baselines.get(request.trace_id))

    responder = CallableResponder(candidate)
    real_model, judge_label = _judge_model()
    say.write(
        f"livingeval demo: {len(window.traces):,} production traces over 7 days, 11 intents, "
        "one tenant sending 40% of traffic (generated, seeded)\n"
        f"free-text judge: {judge_label}\n"
        "scrubber: rule layer only (emails, phones, cards, IBANs, addresses, secrets); "
        "person names are left in this generated data\n\n"
    )
    # Rules only (above): the spaCy NER layer scrubs about 15 traces/s per core, too slow for
    # a two-minute demo, so names in the generated traffic stay; production runs use
    # default_scrubber(), which adds the NER layer when spaCy is installed.
    config = EvalConfig(
        sample_size=sample_size,
        seed=seed,
        # Intent-sized strata (at least 2% of the window) rather than one per phrasing.
        min_cluster_size=max(15, traces // 50),
        judge_cache=str(out / "judge-cache.sqlite"),
        out_dir=str(out),
    )
    with ExitStack() as stack:
        if real_model is None:
            server = stack.enter_context(LoopbackServer(rule=offline_judge_rule(seed=seed)))
            model = OpenAICompatibleJudge(
                base_url=server.url, model="offline-heuristic", api_key=""
            )
        else:
            model = real_model
        judge = PairwiseJudge(
            model,
            runs=3,
            temperature=0.3,
            min_confidence=0.66,
            concurrency=32,
            cache_path=config.judge_cache,
        )
        suite = static_suite(window, per_intent=25)
        static = evaluate_sync(
            suite,
            responder=responder,
            text_judge=judge,
            scrubber=scrubber,
            config=attrs.evolve(config, sample_size=len(suite), min_per_cluster=0, cap_key=None),
            judge_label=judge_label,
            progress=progress,
        )
        living = evaluate_sync(
            window.traces,
            responder=responder,
            text_judge=judge,
            scrubber=scrubber,
            config=config,
            adversarial=adversarial,
            previous=previous_traces,
            cluster_namer=_namer(intents),
            judge_label=judge_label,
            progress=progress,
            executor=executor,
        )
    paths = write_report(living, out)
    _narrate(say, static, living, paths["html"])
    return DemoOutcome(living=living, static=static, report=paths["html"], results=paths["results"])


def _narrate(say: TextIO, static: Results, living: Results, report: Path) -> None:
    static_delta = static.decision.metrics.get("delta")
    say.write(
        f"\nstatic suite ({', '.join(STATIC_SUITE_INTENTS)}; {len(static.items)} items): "
        f"{static.decision.outcome.upper()}"
        + (f" (delta {static_delta:+.3f})" if isinstance(static_delta, float) else "")
        + "\n"
    )
    clusters = living.clusters
    say.write(
        f"living evaluation ({len(living.items)} items from {len(clusters)} clusters, "
        f"{living.statistics.get('adversarial_items', 0)} adversarial): "
        f"{living.decision.outcome.upper()}\n"
    )
    for reason in living.decision.reasons[:6]:
        say.write(f"  - {reason}\n")
    for c in sorted(living.clusters, key=lambda c: c.delta if c.delta is not None else 0.0):
        failures = ", ".join(f"{k} x{v}" for k, v in sorted(c.failure_counts.items()))
        if c.flagged or failures:
            label = "regressed" if c.flagged else "tool-call failures in"
            say.write(
                f"  {label}: cluster #{c.cluster} '{c.name}' ({c.share:.0%} of traffic): "
                f"delta {c.delta if c.delta is not None else 0.0:+.3f}; candidate failures: "
                f"{failures or '-'}\n"
            )
        elif c.delta is not None and c.delta < -0.02:
            say.write(
                f"  not significant: cluster #{c.cluster} '{c.name}' ({c.share:.0%} of traffic): "
                f"delta {c.delta:+.3f} on {c.sampled} items, within the gate's intervals\n"
            )
    stats = living.statistics
    say.write(
        f"judge calls {stats.get('judge_calls', 0)}, cache hits {stats.get('cache_hits', 0)}, "
        f"cost ${stats.get('cost_usd', 0.0):.4f}, discarded {stats.get('discarded', 0)}, "
        f"swap-flip rate {stats.get('swap_flip_rate', 0.0):.1%}\n"
        f"report: {report}\n"
    )
