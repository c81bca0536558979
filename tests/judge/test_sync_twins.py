"""Every public async entry point of livingeval.judge has a ``*_sync`` twin.

Each twin is called twice: from plain synchronous code, and from inside a running event
loop (what a Jupyter cell does), where ``anyio.run`` would refuse to start.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import TypeVar

import anyio
import orjson
import pytest

import livingeval.judge as judge_pkg
from livingeval.judge import (
    ArgumentQuestion,
    CallableArgumentJudge,
    LLMArgumentJudge,
    OpenAICompatibleJudge,
    PairwiseItem,
    PairwiseJudge,
    PairwiseResult,
    RubricJudge,
    StructuredJudge,
    compare_tool_calls,
    resolve_pending_sync,
    stream_judgments_sync,
)
from livingeval.records import JudgeFailure, JudgeInput, Message, Response, ToolCall, Verdict
from livingeval.testing import LoopbackServer

pytestmark = pytest.mark.network_loopback

T = TypeVar("T")

GOOD = '{"correctness": 5, "relevance": 5, "clarity": 4, "calibration": 4, "length": 3}'
POOR = '{"correctness": 1, "relevance": 2, "clarity": 3, "calibration": 2, "length": 3}'


def _rule(text: str) -> str:
    """Pairwise: the answer holding "good" wins; rubric: "good" scores high; else YES/NO."""
    if "[Answer A]" in text:
        first = text.split("[Answer A]")[1].split("[End of Answer A]")[0]
        second = text.split("[Answer B]")[1].split("[End of Answer B]")[0]
        return "A" if "good" in first and "good" not in second else "B"
    if "Value A:" in text:
        return "YES" if "Rome" in text.split("Value B:")[1] else "NO"
    return GOOD if "good" in text else POOR


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with LoopbackServer(rule=_rule) as server:
        yield server.url


def _both_ways(call: Callable[[], T]) -> tuple[T, T]:
    """``call()`` from sync code, then from inside a running loop (a notebook cell)."""
    outside = call()

    async def notebook_cell() -> T:
        with pytest.raises(RuntimeError):
            anyio.run(anyio.sleep, 0)  # the plain runner refuses: a loop is running here
        return call()

    return outside, anyio.run(notebook_cell)


def _item(i: int = 0) -> JudgeInput:
    return JudgeInput(
        item_id=str(i),
        messages=(Message(role="user", content=f"question {i}"),),
        candidate=Response(content=f"a good answer {i}"),
        baseline=Response(content=f"an answer {i}"),
    )


def _tool_item(query: str) -> JudgeInput:
    def call(q: str) -> Response:
        return Response(
            tool_calls=(ToolCall(name="search", arguments=orjson.dumps({"q": q}).decode()),)
        )

    return JudgeInput(
        item_id="t",
        messages=(Message(role="user", content="find me cheap flights to Rome"),),
        candidate=call(query),
        baseline=call("cheap flights to Rome"),
    )


def _model(url: str) -> OpenAICompatibleJudge:
    return OpenAICompatibleJudge(base_url=url, model="m", api_key="k")


def test_every_public_coroutine_has_a_sync_twin() -> None:
    def is_async(member: object) -> bool:
        target = getattr(member, "__wrapped__", member)  # @asynccontextmanager streams too
        return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)

    checked: list[str] = []
    missing: list[str] = []
    for name in judge_pkg.__all__:
        obj = getattr(judge_pkg, name)
        if inspect.isfunction(obj) and is_async(obj):
            checked.append(name)
            if not hasattr(judge_pkg, f"{name}_sync"):
                missing.append(name)
        if not inspect.isclass(obj) or getattr(obj, "_is_protocol", False):
            continue
        for attr, member in vars(obj).items():
            if attr.startswith("_") or attr in {"session", "open"}:  # loop-bound resources
                continue
            if is_async(member):
                checked.append(f"{name}.{attr}")
                if not hasattr(obj, f"{attr}_sync"):
                    missing.append(f"{name}.{attr}")
    assert missing == [], f"async entry points without a *_sync twin: {missing}"
    assert {"stream_judgments", "RubricJudge.score", "PairwiseJudge.stream"} <= set(checked)


def test_pairwise_twins(url: str) -> None:
    judge = PairwiseJudge(_model(url), concurrency=4)
    item = PairwiseItem(id="p", prompt="q", candidate="a good answer", baseline="an answer")
    one, one_in_loop = _both_ways(lambda: judge.compare_one_sync(item))
    assert (one.verdict, one_in_loop.verdict) == ("candidate", "candidate")
    assert one.failure is None
    assert one.runs == 2  # early stop after two agreeing runs

    verdict, verdict_in_loop = _both_ways(lambda: judge.judge_sync(_item()))
    assert verdict.outcome == verdict_in_loop.outcome == "candidate"
    assert verdict.candidate_score == 1.0

    items = [
        PairwiseItem(id=str(i), prompt=f"q{i}", candidate=f"good {i}", baseline=f"plain {i}")
        for i in range(6)
    ]

    def streamed() -> list[PairwiseResult]:
        with judge.stream_sync(items) as results:
            return list(results)

    first, second = _both_ways(streamed)
    for results in (first, second):
        assert sorted(int(r.item_id) for r in results) == list(range(6))
        assert {r.verdict for r in results} == {"candidate"}


def test_leaving_a_sync_stream_early_cancels_the_rest() -> None:
    with LoopbackServer(rule=_rule, latency=(0.005, 0.01)) as slow:
        judge = PairwiseJudge(_model(slow.url), concurrency=4)
        items = [
            PairwiseItem(id=str(i), prompt=f"q{i}", candidate=f"good {i}", baseline=f"x {i}")
            for i in range(200)
        ]
        with judge.stream_sync(items) as results:
            first = next(results)
        assert first.verdict == "candidate"
        assert slow.stats()["replied"] < 800  # 200 items x 4 calls had it run to the end


def test_stream_judgments_twin(url: str) -> None:
    judge = PairwiseJudge(_model(url), concurrency=4)

    def streamed() -> list[Verdict | JudgeFailure]:
        with stream_judgments_sync(judge, [_item(i) for i in range(4)], concurrency=2) as out:
            return list(out)

    for results in _both_ways(streamed):
        assert sorted(r.item_id for r in results) == ["0", "1", "2", "3"]
        assert all(isinstance(r, Verdict) and r.outcome == "candidate" for r in results)


def test_rubric_twins(url: str) -> None:
    judge = RubricJudge(_model(url), concurrency=2)
    scores, scores_in_loop = _both_ways(lambda: judge.score_sync("q", "a good answer"))
    assert scores.scores["correctness"] == scores_in_loop.scores["correctness"] == 5
    verdict, verdict_in_loop = _both_ways(lambda: judge.judge_sync(_item()))
    assert verdict.kind == "rubric"
    assert verdict.dimensions["candidate.correctness"] == 5.0
    assert verdict.dimensions["baseline.correctness"] == 1.0
    assert verdict_in_loop.outcome == verdict.outcome == "candidate"


def test_argument_and_structured_twins(url: str) -> None:
    question = ArgumentQuestion(
        intent="flights", tool="search", argument="q", candidate="Rome", reference="Rome"
    )
    llm = LLMArgumentJudge(model=_model(url))
    assert _both_ways(lambda: llm.equivalent_sync(question)) == (True, True)

    async def never(q: ArgumentQuestion) -> bool:
        return False

    rules = CallableArgumentJudge(function=never)
    assert _both_ways(lambda: rules.equivalent_sync(question)) == (False, False)

    pending = compare_tool_calls(
        _tool_item("low cost flights Rome").candidate, _tool_item("x").baseline
    )
    assert pending.needs_judgement
    yes, yes_in_loop = _both_ways(lambda: resolve_pending_sync(pending, llm, intent="flights"))
    assert (yes.score, yes_in_loop.score, yes.judged) == (1.0, 1.0, 1)
    no, _ = _both_ways(lambda: resolve_pending_sync(pending, rules))
    assert no.score == 0.0

    structured = StructuredJudge(argument_judge=llm)
    same, same_in_loop = _both_ways(lambda: structured.judge_sync(_tool_item("low cost Rome")))
    assert (same.candidate_score, same_in_loop.candidate_score) == (1.0, 1.0)
