"""The living evaluation end to end, on generated traffic, over real loopback HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest

from livingeval import ReplayRequest, Response, Trace
from livingeval.config import EvalConfig
from livingeval.demo import candidate_answer, generate_window, offline_judge_rule
from livingeval.errors import ConfigError, UnscrubbedTraceError
from livingeval.judge import OpenAICompatibleJudge, PairwiseJudge
from livingeval.pipeline import evaluate, evaluate_sync
from livingeval.records import Results
from livingeval.replay import CachedResponder, CallableResponder
from livingeval.scrub import default_scrubber
from livingeval.testing import LoopbackServer

WINDOW = generate_window(900, seed=3)
# The simulated candidate sees what production's answer looks like after scrubbing.
BASELINES = {
    t.id: default_scrubber(ner=False).scrub(t).response or Response() for t in WINDOW.traces
}


def _candidate(truncation_rate: float) -> CallableResponder:
    def answer(request: ReplayRequest) -> Response:
        return candidate_answer(
            request, baseline=BASELINES[request.trace_id], truncation_rate=truncation_rate
        )

    return CallableResponder(answer)


def _config(tmp_path: Path, **changes: Any) -> EvalConfig:
    return attrs.evolve(
        EvalConfig(
            sample_size=300, seed=3, min_cluster_size=15, judge_cache=str(tmp_path / "j.sqlite")
        ),
        **changes,
    )


def _run(
    tmp_path: Path, server: LoopbackServer, *, truncation_rate: float = 0.5, **kw: object
) -> Results:
    judge = PairwiseJudge(
        OpenAICompatibleJudge(base_url=server.url, model="offline", api_key=""),
        cache_path=str(tmp_path / "j.sqlite"),
    )
    kw.setdefault("scrubber", default_scrubber(ner=False))
    return evaluate_sync(
        WINDOW.traces,
        responder=kw.pop("responder", _candidate(truncation_rate)),  # type: ignore[arg-type]
        text_judge=judge,
        config=_config(tmp_path),
        progress=False,
        **kw,
    )


@pytest.fixture(scope="module")
def server() -> object:
    with LoopbackServer(rule=offline_judge_rule(seed=0)) as srv:
        yield srv


def test_a_hidden_tool_call_regression_fails_the_gate(
    tmp_path: Path, server: LoopbackServer
) -> None:
    results = _run(tmp_path, server, truncation_rate=0.5)
    assert results.decision.outcome == "fail"
    malformed = [i for i in results.items if "malformed_arguments" in i.failure_kinds]
    assert malformed
    intents = {WINDOW.intents[i.trace_id] for i in malformed}
    assert intents <= {"transfer_money", "dispute_charge"}
    # Every sampled item is accounted for, with its weight and cluster.
    assert results.statistics["items"] == len(results.items)
    assert all(i.weight > 0 for i in results.items)
    assert {i.path for i in results.items} == {"structured", "pairwise"}
    pairwise = [i for i in results.items if i.path == "pairwise" and i.error is None]
    assert all(len(i.votes) >= 4 for i in pairwise)  # both orders, at least two runs


def test_an_unchanged_candidate_passes(tmp_path: Path, server: LoopbackServer) -> None:
    def production(request: ReplayRequest) -> Response:
        return BASELINES[request.trace_id]

    results = _run(tmp_path, server, responder=CallableResponder(production))
    assert results.decision.outcome == "pass", results.decision.reasons


def test_same_seed_same_sample_and_verdicts(tmp_path: Path, server: LoopbackServer) -> None:
    first = _run(tmp_path, server)
    second = _run(tmp_path, server)
    assert [(i.trace_id, i.cluster, i.weight, i.outcome) for i in first.items] == [
        (i.trace_id, i.cluster, i.weight, i.outcome) for i in second.items
    ]
    assert first.decision.outcome == second.decision.outcome
    # The rerun asked the judge nothing: every vote came from the cache.
    assert second.statistics["judge_calls"] == 0


def test_a_resumed_run_pays_for_nothing_already_received(
    tmp_path: Path, server: LoopbackServer
) -> None:
    calls: list[str] = []

    def counted(request: ReplayRequest) -> Response:
        calls.append(request.trace_id)
        return candidate_answer(request, baseline=BASELINES[request.trace_id])

    responder = CachedResponder(
        CallableResponder(counted), tmp_path / "r.sqlite", responder_id="c1"
    )
    _run(tmp_path, server, responder=responder)
    paid = len(calls)
    responder.close()
    again = CachedResponder(CallableResponder(counted), tmp_path / "r.sqlite", responder_id="c1")
    _run(tmp_path, server, responder=again)
    assert len(calls) == paid  # nothing replayed twice
    again.close()


def test_unscrubbed_traces_are_refused(tmp_path: Path, server: LoopbackServer) -> None:
    class Forgetful:
        def scrub(self, trace: Trace) -> Trace:
            return trace

        def scrub_text(self, text: str) -> str:
            return text

    with pytest.raises(UnscrubbedTraceError):
        _run(tmp_path, server, scrubber=Forgetful())


def test_free_text_needs_a_judge(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="text_judge"):
        evaluate_sync(
            WINDOW.traces,
            responder=_candidate(0.0),
            text_judge=None,
            config=_config(tmp_path),
            scrubber=default_scrubber(ner=False),
            progress=False,
        )


def test_async_entry_point(tmp_path: Path, server: LoopbackServer) -> None:
    judge = PairwiseJudge(OpenAICompatibleJudge(base_url=server.url, model="offline", api_key=""))

    async def main() -> Results:
        return await evaluate(
            WINDOW.traces[:300],
            responder=_candidate(0.0),
            text_judge=judge,
            scrubber=default_scrubber(ner=False),
            config=_config(tmp_path, sample_size=60),
            progress=False,
        )

    assert len(anyio.run(main).items) == 60
