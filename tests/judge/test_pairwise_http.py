"""The pairwise judge end to end over real HTTP against the loopback server."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from livingeval._http import TRANSPORTS, RetryPolicy, Transport
from livingeval.errors import BudgetExceededError, ConfigError, LivingEvalWarning
from livingeval.judge import (
    AnthropicJudge,
    OpenAICompatibleJudge,
    PairwiseItem,
    PairwiseJudge,
    Progress,
    Route,
    RoutedJudge,
    judge_all,
    judge_all_sync,
    summarize,
)
from livingeval.records import JudgeFailure, JudgeInput, Message, Response, Verdict
from livingeval.testing import (
    Faults,
    LoopbackServer,
    always,
    check_judge,
    prefer_containing,
    scripted,
)

pytestmark = pytest.mark.network_loopback


async def _no_sleep(seconds: float) -> None:
    await anyio.sleep(0)


FAST = RetryPolicy(attempts=4, sleep=_no_sleep)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(rule=prefer_containing("good")) as srv:
        yield srv


def _items(n: int) -> list[PairwiseItem]:
    return [
        PairwiseItem(
            id=str(i),
            prompt=f"question {i}",
            candidate=f"good answer {i}" if i % 2 == 0 else f"answer {i}",
            baseline=f"answer {i}" if i % 2 == 0 else f"good answer {i}",
        )
        for i in range(n)
    ]


def _judge(url: str, transport: Transport = "wire", **kwargs: object) -> PairwiseJudge:
    model = OpenAICompatibleJudge(
        base_url=url, model="m", api_key="k", retry=FAST, transport=transport
    )
    return PairwiseJudge(model, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_names_the_issue_checks(
    server: LoopbackServer, tmp_path: Path, transport: Transport
) -> None:
    judge = PairwiseJudge(
        OpenAICompatibleJudge(base_url=server.url, model="m", api_key="k", transport=transport),
        runs=3,
        temperature=0.3,
        min_confidence=0.66,
        concurrency=64,
        cache_path=tmp_path / "cache.sqlite",
    )
    results = judge.compare_sync(
        [PairwiseItem(id="1", prompt="...", candidate="good", baseline="bad")]
    )
    (result,) = results
    assert result.item_id == "1"
    assert result.verdict == "candidate"
    assert result.confidence == pytest.approx(2 / 3)  # settled after 2 of 3 runs (lower bound)
    assert result.discarded is False
    assert result.failure is None
    assert len(result.votes) == 4  # early stop: 2 runs x 2 orders
    assert {v.order for v in result.votes} == {"candidate_first", "baseline_first"}
    assert {v.choice for v in result.votes} == {"A", "B"}  # it flipped letters with the order


def test_verdicts_follow_the_rule_and_mirror(server: LoopbackServer) -> None:
    results = {r.item_id: r for r in _judge(server.url).compare_sync(_items(20))}
    assert len(results) == 20
    for i in range(20):
        assert results[str(i)].verdict == ("candidate" if i % 2 == 0 else "baseline")
        assert results[str(i)].swap_flip_rate == 0.0


def test_a_position_biased_judge_gives_ties_and_discards() -> None:
    with LoopbackServer(rule=always("A")) as srv:
        (result,) = _judge(srv.url).compare_sync(_items(1))
    assert result.verdict == "tie"  # every run's orders disagree: no signal, never a win
    assert result.swap_flip_rate == 1.0
    assert result.discarded is False  # a confident tie
    assert len(result.votes) == 4


def test_full_protocol_without_early_stopping(server: LoopbackServer) -> None:
    (result,) = _judge(server.url, early_stopping=False).compare_sync(_items(1))
    assert len(result.votes) == 6
    assert result.confidence == 1.0
    assert server.stats()["replied"] == 6


def test_invalid_reply_is_reasked_once_then_recorded() -> None:
    with LoopbackServer(rule=scripted(["no idea", "still no idea"])) as srv:
        (result,) = _judge(srv.url, runs=1).compare_sync(_items(1))
        assert srv.stats()["replied"] == 4  # two votes, each asked twice
    assert result.failure is None
    assert [v.choice for v in result.votes] == [None, None]
    assert all(v.calls == 2 for v in result.votes)
    assert result.verdict == "tie"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_permanent_error_becomes_a_failure_value(tmp_path: Path, transport: Transport) -> None:
    judge = _judge("http://127.0.0.1:9/v1", transport, runs=1)  # nothing listens on port 9
    results = judge.compare_sync(_items(3))
    assert len(results) == 3
    for result in results:
        assert result.failure is not None
        assert result.failure.error_type == "TransientJudgeError"
        assert "connection" in result.failure.cause
        assert result.discarded


def test_warm_rerun_makes_zero_calls(server: LoopbackServer, tmp_path: Path) -> None:
    judge = _judge(server.url, cache_path=tmp_path / "c.sqlite")
    first = summarize(judge.compare_sync(_items(30)))
    calls = server.stats()["replied"]
    second = summarize(judge.compare_sync(_items(30)))
    assert first.judge_calls == calls > 0
    assert second.judge_calls == 0
    assert second.cache_hits == first.judge_calls
    assert server.stats()["replied"] == calls
    # A changed parameter (temperature) is a different key: calls again.
    assert (
        summarize(
            _judge(server.url, cache_path=tmp_path / "c.sqlite", temperature=0.0).compare_sync(
                _items(2)
            )
        ).judge_calls
        > 0
    )


def test_three_votes_stay_three_votes(server: LoopbackServer, tmp_path: Path) -> None:
    judge = _judge(server.url, cache_path=tmp_path / "c.sqlite", early_stopping=False)
    (result,) = judge.compare_sync(_items(1))
    assert server.stats()["replied"] == 6  # same prompt asked 3x per order, none merged
    (again,) = judge.compare_sync(_items(1))
    assert again.cache_hits == 6
    assert again.judge_calls == 0
    assert again.verdict == result.verdict


def test_stream_and_progress(server: LoopbackServer) -> None:
    seen: list[Progress] = []

    async def main() -> list[str]:
        ids = []
        async with _judge(server.url).stream(_items(10), progress=seen.append) as results:
            async for result in results:
                ids.append(result.item_id)
        return ids

    ids = anyio.run(main)
    assert sorted(ids, key=int) == [str(i) for i in range(10)]
    assert [p.done for p in seen] == list(range(1, 11))
    assert seen[-1].total == 10


def test_compare_reports_progress_and_failures() -> None:
    seen: list[Progress] = []
    with LoopbackServer(rule=prefer_containing("good")) as srv:
        results = _judge(srv.url).compare_sync(_items(6), progress=seen.append)
    assert sorted(r.item_id for r in results) == [str(i) for i in range(6)]
    assert [(p.done, p.total, p.failed) for p in seen] == [(i, 6, 0) for i in range(1, 7)]
    seen.clear()
    failing = _judge("http://127.0.0.1:9/v1", runs=1)  # nothing listens on port 9
    results = failing.compare_sync(_items(3), progress=seen.append)
    assert all(r.failure is not None for r in results)
    assert [(p.done, p.failed) for p in seen] == [(1, 1), (2, 2), (3, 3)]


def test_sync_twin_works_inside_a_running_loop(server: LoopbackServer) -> None:
    async def notebook_cell() -> int:
        return len(_judge(server.url).compare_sync(_items(3)))  # blocking call inside a loop

    assert anyio.run(notebook_cell) == 3


def test_pairwise_judge_satisfies_the_judge_protocol(server: LoopbackServer) -> None:
    check_judge(_judge(server.url))
    item = JudgeInput(
        item_id="x",
        messages=(Message(role="user", content="hi"),),
        candidate=Response(content="a good answer"),
        baseline=Response(content="an answer"),
    )
    (verdict,) = judge_all_sync(_judge(server.url), [item])
    assert isinstance(verdict, Verdict)
    assert (verdict.candidate_score, verdict.baseline_score, verdict.outcome) == (
        1.0,
        0.0,
        "candidate",
    )
    assert verdict.kind == "pairwise"
    assert len(verdict.details["votes"]) == 4


def test_judge_all_turns_failures_into_values() -> None:
    judge = _judge("http://127.0.0.1:9/v1", runs=1)
    items = [
        JudgeInput(
            item_id=str(i),
            messages=(Message(role="user", content="q"),),
            candidate=Response(content="a"),
            baseline=Response(content="b"),
        )
        for i in range(5)
    ]

    async def main() -> list[Verdict | JudgeFailure]:
        return await judge_all(judge, items, concurrency=2)

    results = anyio.run(main)
    assert len(results) == 5
    assert all(isinstance(r, JudgeFailure) and r.error_type == "JudgeError" for r in results)
    assert {r.item_id for r in results} == {str(i) for i in range(5)}


def test_anthropic_judge_over_loopback(server: LoopbackServer) -> None:
    model = AnthropicJudge(model="claude-3-5-haiku-latest", api_key="k", base_url=server.url)
    (result,) = PairwiseJudge(model).compare_sync(_items(1))
    assert result.verdict == "candidate"
    assert result.votes[0].served_by == "anthropic:claude-3-5-haiku-latest"
    assert result.votes[0].input_tokens > 0
    assert result.cost_usd > 0  # priced from the default table


def test_routing_fails_over_and_reports_who_served(server: LoopbackServer) -> None:
    with LoopbackServer(faults=Faults(server_error=1.0)) as broken:
        cheap = OpenAICompatibleJudge(
            base_url=broken.url, model="gpt-4o-mini", api_key="k", retry=FAST
        )
        dear = OpenAICompatibleJudge(base_url=server.url, model="gpt-4o", api_key="k", retry=FAST)
        weak = OpenAICompatibleJudge(base_url=server.url, model="gpt-4.1-nano", api_key="k")
        routed = RoutedJudge(
            routes=[
                Route(model=dear, quality=0.9),
                Route(model=cheap, quality=0.85),
                Route(model=weak, quality=0.5),
            ],
            min_quality=0.8,
        )
        assert [r.model for r in routed.ordered()] == [cheap, dear]  # cheapest first
        results = PairwiseJudge(routed).compare_sync(_items(4))
        assert broken.stats()["server_errors"] > 0
    served = summarize(results).served_by
    assert served == {"openai-compatible:gpt-4o": 16}
    assert all(r.failure is None for r in results)


def test_same_family_judge_warns(server: LoopbackServer) -> None:
    model = OpenAICompatibleJudge(base_url=server.url, model="gpt-4o", api_key="k")
    with pytest.warns(LivingEvalWarning, match="same family"):
        PairwiseJudge(model, candidate_model="gpt-4.1-mini").compare_sync(_items(1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PairwiseJudge(model, candidate_model="claude-sonnet-4").compare_sync(_items(1))


def test_budget_is_enforced_before_spending(server: LoopbackServer) -> None:
    model = OpenAICompatibleJudge(base_url=server.url, model="gpt-4o", api_key="k")
    judge = PairwiseJudge(model, budget_usd=0.0001)
    with pytest.raises(BudgetExceededError, match="fit_to_budget"):
        judge.compare_sync(_items(50))
    assert server.stats().get("replied", 0) == 0
    assert judge.project_cost(_items(50)) > 0.0001
    as_input = JudgeInput(
        item_id="1",
        messages=(Message(role="user", content="question 1"),),
        candidate=Response(content="answer 1"),
        baseline=Response(content="good answer 1"),
    )
    assert judge.project_cost([as_input]) == pytest.approx(judge.project_cost(_items(2)[1:]))


def test_configuration_errors_surface_bare(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    judge = PairwiseJudge(AnthropicJudge(model="claude-3-5-haiku-latest", base_url="http://x"))
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        judge.compare_sync(_items(1))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_leaving_a_stream_early_cancels_the_rest(transport: Transport) -> None:
    async def main(url: str) -> str:
        async with _judge(url, transport).stream(_items(400)) as results:
            async for result in results:
                return result.item_id
        raise AssertionError("no result")

    with LoopbackServer(rule=prefer_containing("good"), latency=(0.005, 0.01)) as slow:
        assert anyio.run(main, slow.url)
        time.sleep(0.05)
        assert slow.stats()["replied"] < 1600  # 400 items x 4 calls had it run to the end


def test_every_call_carries_its_own_items_answers() -> None:
    """Bodies are encoded once per request and reused across runs; never for another item.

    Concurrency 1 keeps the session's body memo small (it is cleared many times over 60
    items). The rule prefers the candidate the first time it sees a text and says "A" after
    that, so run 0 picks the candidate, run 1 is a tie and every item needs a third run.
    """
    seen: list[str] = []

    def record(text: str) -> str:
        first = text not in seen
        seen.append(text)
        if first:
            return "A" if "[Answer A]\ncand" in text else "B"
        return "A"

    items = [
        PairwiseItem(id=str(i), prompt=f"prompt {i}", candidate=f"cand {i}", baseline=f"base {i}")
        for i in range(60)
    ]
    with LoopbackServer(rule=record) as srv:
        judge = PairwiseJudge(OpenAICompatibleJudge(base_url=srv.url, model="m"), concurrency=1)
        results = judge.compare_sync(items)
    assert all(r.verdict == "tie" and r.runs == 3 for r in results)
    expected = []
    for item in items:
        for a, b in ((item.candidate, item.baseline), (item.baseline, item.candidate)):
            expected += [judge.template.render(prompt=item.prompt, answer_a=a, answer_b=b)[1]] * 3
    assert sorted(seen) == sorted(expected)


@pytest.mark.parametrize("judge_type", [OpenAICompatibleJudge, AnthropicJudge])
def test_an_unknown_transport_is_refused_when_the_judge_is_built(judge_type: type) -> None:
    with pytest.raises(ConfigError, match="transport must be one of 'wire', 'aiohttp'"):
        judge_type(base_url="http://127.0.0.1:9", model="m", api_key="k", transport="httpx")
