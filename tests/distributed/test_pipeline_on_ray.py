"""The same evaluation in-process and on a real local Ray cluster gives the same results.

Replay and judge calls are fanned out from the workers; the judge's rate limit, budget and
judgment cache are one actor for all of them.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest

from livingeval import ReplayRequest, Response
from livingeval._json import dumps, trace_to_obj
from livingeval.config import EvalConfig
from livingeval.demo import candidate_answer, generate_window, offline_judge_rule
from livingeval.distributed import RayExecutor, ShardedTraceSource
from livingeval.errors import LivingEvalWarning
from livingeval.judge import (
    ChatRequest,
    ChatSession,
    Completion,
    OpenAICompatibleJudge,
    PairwiseJudge,
    Price,
    PriceTable,
    Route,
    RoutedJudge,
)
from livingeval.pipeline import InProcessExecutor, evaluate_sync
from livingeval.protocols import Executor
from livingeval.records import Results
from livingeval.replay import CallableResponder
from livingeval.scrub import default_scrubber
from livingeval.stratify import HDBSCANStratifier
from livingeval.testing import LoopbackServer, always

pytestmark = pytest.mark.slow

WINDOW = generate_window(300, seed=5)
BASELINES = {t.id: t.response or Response() for t in WINDOW.traces}
DRIVER = os.getpid()
RULES = default_scrubber(ner=False)  # the spaCy layer would only make the test slow


@attrs.frozen
class _Answer:
    """The candidate; leaves a file named after the process that answered (a side channel)."""

    pids: str

    def __call__(self, request: ReplayRequest) -> Response:
        Path(self.pids, str(os.getpid())).touch()
        return candidate_answer(request, baseline=BASELINES[request.trace_id], truncation_rate=0.5)


def _run(
    executor: Executor,
    server: LoopbackServer,
    tmp: Path,
    *,
    source: Any = None,
    cache: str | None = None,
    model: Any = None,
    sample_size: int = 60,
    budget_usd: float | None = None,
    judge_concurrency: int = 32,
) -> Results:
    (tmp / "pids").mkdir(parents=True, exist_ok=True)
    judge = PairwiseJudge(
        model or OpenAICompatibleJudge(base_url=server.url, model="offline", api_key=""),
        cache_path=cache,
        budget_usd=budget_usd,
        concurrency=judge_concurrency,
    )
    return evaluate_sync(
        WINDOW.traces if source is None else source,
        responder=CallableResponder(_Answer(str(tmp / "pids"))),
        text_judge=judge,
        scrubber=RULES,
        stratifier=HDBSCANStratifier(reduction="pca", min_cluster_size=10, seed=5),
        config=EvalConfig(
            sample_size=sample_size,
            seed=5,
            min_cluster_size=10,
            judge_concurrency=judge_concurrency,
        ),
        progress=False,
        executor=executor,
        chunk_size=50,  # 6 chunks, so the cluster really splits the work
    )


def test_same_results_as_in_process_and_a_rerun_pays_nothing(
    ray_address: str, tmp_path: Path
) -> None:
    with LoopbackServer(rule=offline_judge_rule(seed=5)) as server:
        local = _run(InProcessExecutor(), server, tmp_path / "a", cache=str(tmp_path / "a.db"))
        paid_local = server.counts["replied"]
        on_ray = _run(
            RayExecutor(address=ray_address), server, tmp_path / "b", cache=str(tmp_path / "b.db")
        )
        paid_ray = server.counts["replied"] - paid_local
        again = _run(
            RayExecutor(address=ray_address), server, tmp_path / "c", cache=str(tmp_path / "b.db")
        )
        paid_again = server.counts["replied"] - paid_local - paid_ray
    # Each first run judged everything itself (separate caches), so the equality is real.
    assert paid_local > 0
    assert paid_ray == paid_local == local.statistics["judge_calls"]
    assert on_ray.items == local.items  # same sample, weights, clusters, votes, verdicts
    assert on_ray.clusters == local.clusters
    assert on_ray.decision == local.decision
    assert sum(i.judged for i in local.items) > 0  # real verdicts were compared
    # The candidate was asked from the workers, not from this process.
    workers = {int(p.name) for p in (tmp_path / "b" / "pids").iterdir()}
    assert workers
    assert DRIVER not in workers
    # A rerun on the cluster against the shared cache pays nothing and decides the same.
    assert paid_again == 0
    assert again.statistics["judge_calls"] == 0
    assert again.statistics["cache_hits"] > 0
    assert [(i.trace_id, i.outcome, i.candidate_score) for i in again.items] == [
        (i.trace_id, i.outcome, i.candidate_score) for i in on_ray.items
    ]
    assert again.decision.outcome == on_ray.decision.outcome


def test_one_rate_limit_for_all_workers(ray_address: str, tmp_path: Path) -> None:
    per_second = 40
    with LoopbackServer(rule=offline_judge_rule(seed=5)) as server:
        model = OpenAICompatibleJudge(
            base_url=server.url,
            model="offline",
            api_key="",
            requests_per_minute=per_second * 60,
        )
        results = _run(
            RayExecutor(address=ray_address), server, tmp_path, model=model, sample_size=40
        )
        arrivals = sorted(server.arrivals)
    assert results.statistics["judge_calls"] == len(arrivals) >= 60
    # GCRA spacing admits per_second + 1 requests in a closed one-second window. On a
    # loaded machine a permit's grant and its request's arrival drift apart by up to a few
    # requests, so count over two seconds: a limit per worker (2 workers) would show ~160.
    assert server.peak_rate(2.0) <= 2 * per_second + 3
    # The limit was what paced the run: the requests are spread at the limit's rate.
    assert arrivals[-1] - arrivals[0] >= 0.9 * (len(arrivals) - 1) / per_second


def test_one_rate_limit_per_route_for_all_workers(ray_address: str, tmp_path: Path) -> None:
    """A routed judge: each route keeps its own limit, shared by every worker."""
    per_second = 40
    rule = offline_judge_rule(seed=5)
    with LoopbackServer(rule=rule) as primary, LoopbackServer(rule=rule) as spare:
        routed = RoutedJudge(
            routes=(
                Route(
                    model=OpenAICompatibleJudge(
                        base_url=primary.url,
                        model="offline",
                        api_key="",
                        requests_per_minute=per_second * 60,
                    ),
                    cost_per_call_usd=0.001,
                ),
                Route(
                    model=OpenAICompatibleJudge(base_url=spare.url, model="spare", api_key=""),
                    cost_per_call_usd=0.002,
                ),
            )
        )
        results = _run(
            RayExecutor(address=ray_address), primary, tmp_path, model=routed, sample_size=40
        )
        arrivals = sorted(primary.arrivals)
    # The cheaper route served every call (no errors, so no failover) ...
    assert spare.counts["replied"] == 0
    assert results.statistics["judge_calls"] == len(arrivals) >= 60
    # ... at its own limit for all workers together (a limit per worker would show ~160).
    assert primary.peak_rate(2.0) <= 2 * per_second + 3
    assert arrivals[-1] - arrivals[0] >= 0.9 * (len(arrivals) - 1) / per_second


def test_the_self_preference_warning_reaches_the_driver(ray_address: str) -> None:
    judge = PairwiseJudge(
        OpenAICompatibleJudge(base_url="http://127.0.0.1:9/v1", model="gpt-4o", api_key=""),
        candidate_model="gpt-4o-mini-finetune",
    )
    with (
        pytest.warns(LivingEvalWarning, match="self-preference"),
        RayExecutor(address=ray_address).share(judge) as shared,
    ):
        assert shared.candidate_model == judge.candidate_model


def test_one_budget_for_all_workers(ray_address: str, tmp_path: Path) -> None:
    # Every reply costs exactly $4 (4 completion tokens at $1 each); two workers with a
    # budget each would spend up to twice the budget.
    prices = PriceTable().with_prices(
        {"priced": Price(input_per_million=0.0, output_per_million=1_000_000.0)}
    )
    budget = 100.0
    with LoopbackServer(rule=always('{"winner": "tie"}')) as server:
        model = OpenAICompatibleJudge(
            base_url=server.url, model="priced", api_key="", prices=prices
        )
        results = _run(
            RayExecutor(address=ray_address),
            server,
            tmp_path,
            model=model,
            sample_size=40,
            budget_usd=budget,
            judge_concurrency=1,
        )
        paid = server.counts["replied"]
    # Calls past the budget check when the budget ran out: per worker, one item's batch
    # of 2 runs in both orders.
    in_flight = 2 * 4
    assert budget / 4 <= paid <= budget / 4 + in_flight
    errors = [i.error or "" for i in results.items if i.outcome == "error"]
    assert errors
    assert all("budget_usd=100.0" in e for e in errors)


@attrs.frozen
class _DiesOnce:
    """A judge model whose worker process is killed (SIGKILL) after ``after`` replies."""

    inner: OpenAICompatibleJudge
    marker: str
    after: int
    driver: int

    @property
    def identity(self) -> str:
        return self.inner.identity

    def open(self, *, concurrency: int) -> Any:
        return self._open(concurrency)

    @asynccontextmanager
    async def _open(self, concurrency: int) -> AsyncIterator[ChatSession]:
        async with self.inner.open(concurrency=concurrency) as session:
            yield _DyingSession(session, self)


class _DyingSession:
    def __init__(self, inner: ChatSession, owner: _DiesOnce) -> None:
        self.inner = inner
        self.owner = owner
        self.replies = 0

    async def complete(self, request: ChatRequest) -> Completion:
        completion = await self.inner.complete(request)
        self.replies += 1
        marker = Path(self.owner.marker)
        if (
            self.replies >= self.owner.after
            and os.getpid() != self.owner.driver
            and not marker.exists()
        ):
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return completion


def test_a_worker_killed_mid_judging_loses_nothing_and_repays_only_calls_in_flight(
    ray_address: str, tmp_path: Path
) -> None:
    concurrency = 4
    with LoopbackServer(rule=offline_judge_rule(seed=5)) as server:
        local = _run(
            InProcessExecutor(),
            server,
            tmp_path / "a",
            cache=str(tmp_path / "a.db"),
            judge_concurrency=concurrency,
        )
        paid_local = server.counts["replied"]
        inner = OpenAICompatibleJudge(base_url=server.url, model="offline", api_key="")
        marker = tmp_path / "killed"
        on_ray = _run(
            RayExecutor(address=ray_address, max_retries=2),
            server,
            tmp_path / "b",
            cache=str(tmp_path / "b.db"),
            model=_DiesOnce(inner, str(marker), after=30, driver=DRIVER),
            judge_concurrency=concurrency,
        )
        paid_ray = server.counts["replied"] - paid_local
    assert marker.exists()
    assert int(marker.read_text()) != DRIVER
    # Nothing lost: the same sample, verdicts and decision as in-process.
    assert [(i.trace_id, i.outcome, i.candidate_score, i.baseline_score) for i in on_ray.items] == [
        (i.trace_id, i.outcome, i.candidate_score, i.baseline_score) for i in local.items
    ]
    assert on_ray.decision == local.decision
    # Nothing received was paid for again: the rerun task found the dead worker's votes
    # in the shared cache; only the calls in flight at the kill were asked twice.
    assert paid_local <= paid_ray <= paid_local + concurrency
    hits = on_ray.statistics["cache_hits"] - local.statistics["cache_hits"]
    assert hits >= 30 - concurrency


def test_a_sharded_window_gives_the_same_results_in_process_and_on_ray(
    ray_address: str, tmp_path: Path
) -> None:
    shards = tmp_path / "shards"
    shards.mkdir()
    for i in range(4):
        lines = b"".join(dumps(trace_to_obj(t)) + b"\n" for t in WINDOW.traces[i::4])
        (shards / f"part-{i}.jsonl").write_bytes(lines)
    source = ShardedTraceSource(shards)
    with LoopbackServer(rule=offline_judge_rule(seed=5)) as server:
        local = _run(InProcessExecutor(), server, tmp_path / "a", source=source)
        on_ray = _run(RayExecutor(address=ray_address), server, tmp_path / "b", source=source)
    assert local.statistics["traces_read"] == on_ray.statistics["traces_read"] == 300
    assert sum(i.judged for i in local.items) > 0
    assert on_ray.items == local.items
    assert on_ray.clusters == local.clusters
    assert on_ray.decision == local.decision
