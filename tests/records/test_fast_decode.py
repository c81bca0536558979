"""The decoder's fast path and trusted constructors agree exactly with the checked path."""

from __future__ import annotations

from typing import Any

import attrs
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from livingeval import Message, Response, Tool, ToolCall, Trace
from livingeval._json import _checked_trace, _fast_trace, trace_to_obj
from livingeval.errors import TraceFormatError
from livingeval.records._build import trusted_constructor

from ..strategies import traces


@given(traces)
def test_trusted_constructors_build_equal_records(trace: Trace) -> None:
    """Rebuilding every record field by field gives equal, equally hashing records."""
    for record in (trace, *trace.messages, *trace.tools, trace.response):
        if record is None:
            continue
        cls = type(record)
        values = [getattr(record, f.name) for f in attrs.fields(cls)]
        rebuilt = trusted_constructor(cls)(*values)
        assert type(rebuilt) is cls
        assert rebuilt == record
        assert hash(rebuilt) == hash(record)
        assert attrs.asdict(rebuilt, recurse=False) == attrs.asdict(record, recurse=False)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            rebuilt.x = 1  # type: ignore[union-attr]


def test_trusted_constructor_refuses_non_attrs_classes() -> None:
    with pytest.raises(TypeError, match="not a slotted attrs class"):
        trusted_constructor(dict)


# Values that are valid JSON but unusual or wrong for the field they replace: each must
# either decode identically on both paths or send the fast path to the checked one.
_odd = st.one_of(
    st.none(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.booleans(),
    st.text(max_size=8),
    st.sampled_from(["2026-01-01T00:00:00", "2026-01-01T00:00:00+02:00", "user", "tool"]),
    st.lists(
        st.one_of(st.text(max_size=4), st.fixed_dictionaries({"text": st.text(max_size=4)})),
        max_size=2,
    ),
    st.dictionaries(
        st.sampled_from(["name", "arguments", "role", "content"]), st.text(max_size=4), max_size=2
    ),
)

_paths = st.sampled_from(
    [
        ("id",),
        ("timestamp",),
        ("messages",),
        ("messages", 0),
        ("messages", 0, "role"),
        ("messages", 0, "content"),
        ("messages", 0, "name"),
        ("messages", 0, "tool_call_id"),
        ("messages", 0, "tool_calls"),
        ("response",),
        ("response", "content"),
        ("response", "finish_reason"),
        ("response", "model"),
        ("response", "tool_calls"),
        ("response", "tool_calls", 0, "id"),
        ("response", "tool_calls", 0, "function"),
        ("response", "tool_calls", 0, "function", "name"),
        ("response", "tool_calls", 0, "function", "arguments"),
        ("response", "choices"),
        ("metadata",),
        ("scrubbed_by",),
        ("tools",),
    ]
)


def _mutate(obj: Any, path: tuple[str | int, ...], value: Any) -> None:
    target = obj
    for key in path[:-1]:
        if not _has(target, key):
            return
        target = target[key]
    last = path[-1]
    if (isinstance(target, dict) and isinstance(last, str)) or _has(target, last):
        target[last] = value


def _has(target: Any, key: str | int) -> bool:
    if isinstance(target, dict):
        return isinstance(key, str) and key in target
    return isinstance(target, list) and isinstance(key, int) and key < len(target)


@given(traces, st.lists(st.tuples(_paths, _odd), max_size=3))
def test_fast_path_equals_checked_path(trace: Trace, edits: list[tuple[Any, Any]]) -> None:
    obj = orjson.loads(orjson.dumps(trace_to_obj(trace)))
    for path, value in edits:
        _mutate(obj, path, value)
    try:
        expected: Trace | TraceFormatError = _checked_trace(obj, "f.jsonl", 3)
    except TraceFormatError as error:
        expected = error
    fast_error: TraceFormatError | None = None
    fast: Trace | None = None
    try:
        fast = _fast_trace(obj, "f.jsonl", 3)
    except TraceFormatError as error:
        fast_error = error
    if fast_error is not None:
        # Only the shared tool decoder may raise on the fast path, with the same message.
        assert isinstance(expected, TraceFormatError)
        assert str(fast_error) == str(expected)
        return
    if fast is None:
        return
    assert not isinstance(expected, TraceFormatError), (
        f"fast path accepted what checking refuses: {expected}"
    )
    assert fast == expected
    assert [type(m) for m in fast.messages] == [Message] * len(fast.messages)
    assert fast.response is None or type(fast.response) is Response
    assert all(type(c) is ToolCall for m in fast.messages for c in m.tool_calls)
    assert all(type(t) is Tool for t in fast.tools)


def test_fast_path_takes_plain_records_and_declines_unusual_ones() -> None:
    plain = {
        "id": "t",
        "timestamp": 1_763_000_000,
        "messages": [{"role": "user", "content": "hi"}],
        "response": {
            "content": None,
            "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": '{"a": 1'}}],
        },
    }
    fast = _fast_trace(plain, None, None)
    assert fast is not None
    assert fast.response is not None
    assert fast.response.tool_calls[0].is_malformed
    # Content parts, numeric ids and chat-completion objects go through the checked path.
    assert (
        _fast_trace(
            {**plain, "messages": [{"role": "user", "content": [{"text": "hi"}]}]}, None, None
        )
        is None
    )
    assert _fast_trace({**plain, "id": 7}, None, None) is None
    assert _fast_trace({**plain, "response": {"choices": []}}, None, None) is None
    assert _fast_trace({**plain, "timestamp": 10**20}, None, None) is None


def test_out_of_range_epoch_names_the_timestamp_field() -> None:
    obj = {"id": "t", "timestamp": 10**20, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(TraceFormatError) as info:
        _checked_trace(obj, "f.jsonl", 9)
    assert info.value.field == "timestamp"
    assert info.value.line == 9
    assert "epoch" in str(info.value)
