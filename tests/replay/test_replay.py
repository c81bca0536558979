"""Replay: responders and the fan-out (failures as values, retries, order, sync twin)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import anyio
import orjson
import pytest

from livingeval import Candidate, Message, ReplayRequest, Response, Trace
from livingeval._http import Transport
from livingeval.errors import TraceFormatError, TransientJudgeError
from livingeval.records import ReplayFailure
from livingeval.replay import CallableResponder, RecordedResponder, replay, replay_sync
from livingeval.testing import check_responder

TS = datetime(2026, 11, 20, tzinfo=UTC)


def _traces(n: int) -> list[Trace]:
    return [
        Trace(
            id=f"t{i}",
            timestamp=TS,
            messages=(Message(role="user", content=f"q{i}"),),
            response=Response(content=f"prod {i}"),
        )
        for i in range(n)
    ]


def test_sync_and_async_callables_conform() -> None:
    async def answer(request: ReplayRequest) -> str:
        await anyio.sleep(0)
        return "async"

    check_responder(CallableResponder(lambda request: Response(content="sync")))
    check_responder(CallableResponder(answer))


def test_results_keep_input_order_and_carry_the_baseline() -> None:
    async def slow_then_fast(request: ReplayRequest) -> str:
        await anyio.sleep(0.02 if request.trace_id == "t0" else 0)
        return request.messages[-1].content or ""

    results = replay_sync(CallableResponder(slow_then_fast), _traces(5), concurrency=5)
    assert [r.trace_id for r in results] == [f"t{i}" for i in range(5)]
    first = results[0]
    assert isinstance(first, Candidate)
    assert first.candidate.content == "q0"
    assert first.baseline.content == "prod 0"


def test_transient_errors_are_retried_and_final_failures_are_values() -> None:
    calls: dict[str, int] = {}

    async def flaky(request: ReplayRequest) -> str:
        calls[request.trace_id] = calls.get(request.trace_id, 0) + 1
        if request.trace_id == "t1" and calls["t1"] < 3:
            raise TransientJudgeError("429 from provider", status=429)
        if request.trace_id == "t2":
            raise ValueError("model crashed on this input")
        return "ok"

    async def no_sleep(seconds: float) -> None:
        return None

    async def main() -> list[Candidate | ReplayFailure]:
        return await replay(CallableResponder(flaky), _traces(3), attempts=3, sleep=no_sleep)

    results = anyio.run(main)
    assert isinstance(results[0], Candidate)
    assert isinstance(results[1], Candidate)
    assert calls["t1"] == 3
    failure = results[2]
    assert isinstance(failure, ReplayFailure)
    assert failure.error_type == "ValueError"
    assert "crashed" in failure.cause
    assert calls["t2"] == 1  # a non-transient error is not retried


def test_timeouts_become_failures() -> None:
    async def hang(request: ReplayRequest) -> str:
        await anyio.sleep(10)
        return "late"

    results = replay_sync(CallableResponder(hang), _traces(2), timeout=0.05, attempts=1)
    assert all(isinstance(r, ReplayFailure) and r.error_type == "TimeoutError" for r in results)


def test_sync_twin_works_inside_a_running_loop() -> None:
    async def notebook_cell() -> int:
        # A notebook runs cells inside a live event loop; the sync twin must still work.
        return len(replay_sync(CallableResponder(lambda r: "x"), _traces(3)))

    assert anyio.run(notebook_cell) == 3


def test_progress_is_reported() -> None:
    seen: list[tuple[int, int]] = []
    replay_sync(
        CallableResponder(lambda r: "x"), _traces(4), progress=lambda d, t: seen.append((d, t))
    )
    assert sorted(seen) == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_recorded_responder(tmp_path: Path) -> None:
    path = tmp_path / "shadow.jsonl"
    path.write_bytes(
        orjson.dumps({"trace_id": "t0", "response": {"role": "assistant", "content": "rec 0"}})
        + b"\n"
        + orjson.dumps(
            {
                "trace_id": "t1",
                "response": {
                    "choices": [{"message": {"content": "rec 1"}, "finish_reason": "stop"}]
                },
            }
        )
        + b"\n"
    )
    results = replay_sync(RecordedResponder(path), _traces(3))
    assert [getattr(r, "candidate", None) for r in results[:2]] == [
        Response(content="rec 0"),
        Response(content="rec 1", finish_reason="stop"),
    ]
    missing = results[2]
    assert isinstance(missing, ReplayFailure)
    assert "no candidate output recorded for trace 't2'" in missing.cause


def test_recorded_responder_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "shadow.jsonl"
    path.write_text('{"trace_id": "t0", "response": {"content": "a"}}\n{"response": {}}\n')
    with pytest.raises(TraceFormatError) as info:
        RecordedResponder(path).load()
    assert (info.value.line, info.value.field) == (2, "trace_id")


def test_cached_responder_survives_a_restart_and_never_caches_failures(tmp_path: Path) -> None:
    from livingeval.replay import CachedResponder

    calls: list[str] = []

    def model(request: ReplayRequest) -> str:
        calls.append(request.trace_id)
        if request.trace_id == "t2" and calls.count("t2") == 1:
            raise ValueError("first attempt fails")
        return f"answer to {request.messages[-1].content}"

    db = tmp_path / "replay.sqlite"
    first = CachedResponder(CallableResponder(model), db, responder_id="cand-1")
    results = replay_sync(first, _traces(3), attempts=1)
    assert isinstance(results[2], ReplayFailure)
    first.close()
    # A new process (new object) on the same file: only the failed item is asked again.
    second = CachedResponder(CallableResponder(model), db, responder_id="cand-1")
    again = replay_sync(second, _traces(3))
    assert all(isinstance(r, Candidate) for r in again)
    assert calls == ["t0", "t1", "t2", "t2"] or sorted(calls) == ["t0", "t1", "t2", "t2"]
    assert (second.hits, second.misses) == (2, 1)
    # Another candidate model never reuses these answers.
    other = CachedResponder(CallableResponder(model), db, responder_id="cand-2")
    replay_sync(other, _traces(1))
    assert other.misses == 1
    second.close()
    other.close()


@pytest.mark.parametrize("transport", ["wire", "aiohttp"])
def test_openai_compatible_responder_over_loopback_http(transport: Transport) -> None:
    from livingeval.replay import OpenAICompatibleResponder
    from livingeval.testing import LoopbackServer, always

    with LoopbackServer(rule=always("Your card ships tomorrow.")) as server:
        responder = OpenAICompatibleResponder(
            base_url=server.url, model="cand", api_key="k", transport=transport
        )
        assert "k" not in repr(responder)
        results = replay_sync(responder, _traces(5), concurrency=4)
        assert [r.candidate.content for r in results if isinstance(r, Candidate)] == [
            "Your card ships tomorrow."
        ] * 5
        assert server.stats()["replied"] == 5


def test_openai_compatible_responder_needs_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from livingeval.errors import ConfigError
    from livingeval.replay import OpenAICompatibleResponder

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="base_url"):
        OpenAICompatibleResponder(model="m")
    with pytest.raises(ConfigError, match="transport"):
        OpenAICompatibleResponder(model="m", base_url="http://x", transport="httpx")  # type: ignore[arg-type]
