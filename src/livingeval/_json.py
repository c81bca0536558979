"""The single JSON codec: every record goes through here, and through orjson.

Wire format of a trace (one JSON object per line in JSON Lines files)::

    {"id": "t-1", "timestamp": "2026-11-20T10:00:00Z",
     "messages": [{"role": "user", "content": "..."}, ...],          # OpenAI chat format
     "tools": [{"type": "function", "function": {"name": ..., "parameters": {...}}}],
     "response": {"role": "assistant", "content": null,
                  "tool_calls": [{"id": "c1", "type": "function",
                                  "function": {"name": "f", "arguments": "{\\"a\\": 1}"}}],
                  "finish_reason": "tool_calls"},
     "metadata": {"tenant": "acme", "model_version": "prod-3"}}

``timestamp`` may be an ISO 8601 string with an offset (``Z`` allowed) or epoch seconds.
Message ``content`` may also be a list of OpenAI content parts; their text parts are joined.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from livingeval.errors import TraceFormatError
from livingeval.records import Message, Response, Tool, ToolCall, Trace
from livingeval.records._build import trusted_constructor
from livingeval.records._trace import ROLES

__all__ = [
    "dumps",
    "loads",
    "response_from_obj",
    "response_to_obj",
    "trace_from_obj",
    "trace_to_obj",
]

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS

# Decoders check every value before building, so they use the trusted constructors
# (positional, every field, in declaration order; see records/_build.py).
_build_trace = trusted_constructor(
    Trace
)  # id, timestamp, messages, tools, response, metadata, scrubbed_by
_build_message = trusted_constructor(Message)  # role, content, tool_calls, tool_call_id, name
_build_response = trusted_constructor(Response)  # content, tool_calls, finish_reason, model
_build_call = trusted_constructor(ToolCall)  # name, arguments, id
_build_tool = trusted_constructor(Tool)  # name, description, parameters
_from_iso = datetime.fromisoformat
_from_epoch = datetime.fromtimestamp


def dumps(obj: Any, *, indent: bool = False, sort_keys: bool = False) -> bytes:
    """Serialise ``obj`` (JSON values, numpy arrays, datetimes) with orjson."""
    option = _OPTIONS
    if indent:
        option |= orjson.OPT_INDENT_2
    if sort_keys:
        option |= orjson.OPT_SORT_KEYS
    return orjson.dumps(obj, option=option, default=_default)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON with orjson."""
    return orjson.loads(data)


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if hasattr(obj, "item"):  # numpy scalar that orjson did not take
        return obj.item()
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON; convert it to JSON values")


# --------------------------------------------------------------------------- encode


def tool_call_to_obj(call: ToolCall) -> dict[str, Any]:
    """Encode a :class:`ToolCall` in the OpenAI ``tool_calls[]`` shape."""
    obj: dict[str, Any] = {
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }
    if call.id is not None:
        obj["id"] = call.id
    return obj


def message_to_obj(message: Message) -> dict[str, Any]:
    """Encode a :class:`Message` in the OpenAI chat shape."""
    obj: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        obj["tool_calls"] = [tool_call_to_obj(c) for c in message.tool_calls]
    if message.tool_call_id is not None:
        obj["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        obj["name"] = message.name
    return obj


def response_to_obj(response: Response) -> dict[str, Any]:
    """Encode a :class:`Response` as an OpenAI assistant message plus ``finish_reason``."""
    obj: dict[str, Any] = {"role": "assistant", "content": response.content}
    if response.tool_calls:
        obj["tool_calls"] = [tool_call_to_obj(c) for c in response.tool_calls]
    if response.finish_reason is not None:
        obj["finish_reason"] = response.finish_reason
    if response.model is not None:
        obj["model"] = response.model
    return obj


def tool_to_obj(tool: Tool) -> dict[str, Any]:
    """Encode a :class:`Tool` in the OpenAI ``tools[]`` shape."""
    function: dict[str, Any] = {"name": tool.name, "parameters": dict(tool.parameters)}
    if tool.description is not None:
        function["description"] = tool.description
    return {"type": "function", "function": function}


def trace_to_obj(trace: Trace) -> dict[str, Any]:
    """Encode a :class:`Trace` as a JSON-ready dict in the wire format."""
    obj: dict[str, Any] = {
        "id": trace.id,
        "timestamp": trace.timestamp.isoformat(),
        "messages": [message_to_obj(m) for m in trace.messages],
    }
    if trace.tools:
        obj["tools"] = [tool_to_obj(t) for t in trace.tools]
    if trace.response is not None:
        obj["response"] = response_to_obj(trace.response)
    if trace.metadata:
        obj["metadata"] = dict(trace.metadata)
    if trace.scrubbed_by is not None:
        obj["scrubbed_by"] = trace.scrubbed_by
    return obj


# --------------------------------------------------------------------------- decode


class _Where:
    """Location context for error messages, built only when an error is raised."""

    __slots__ = ("line", "path", "trace_id")

    def __init__(self, path: str | None, line: int | None, trace_id: str | None) -> None:
        self.path = path
        self.line = line
        self.trace_id = trace_id

    def error(self, field: str, message: str) -> TraceFormatError:
        return TraceFormatError(
            message, path=self.path, line=self.line, field=field, trace_id=self.trace_id
        )


def _content(value: Any, field: str, where: _Where) -> str | None:
    if value is None or type(value) is str:
        return value
    if isinstance(value, list):
        parts = []
        for i, part in enumerate(value):
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    parts.append(text)
            else:
                raise where.error(
                    f"{field}[{i}]",
                    f"content part must be a string or an object, got {type(part).__name__}; "
                    'use {"type": "text", "text": "..."}',
                )
        return "\n".join(parts)
    raise where.error(
        field,
        f"content must be a string, a list of content parts or null, got "
        f"{type(value).__name__} ({_short(value)}); write the text as a JSON string",
    )


def _tool_calls(value: Any, field: str, where: _Where) -> tuple[ToolCall, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise where.error(field, f"tool_calls must be a list, got {type(value).__name__}")
    calls = []
    for i, raw in enumerate(value):
        f = f"{field}[{i}]"
        if not isinstance(raw, dict):
            raise where.error(f, f"a tool call must be an object, got {type(raw).__name__}")
        fn = raw.get("function")
        if fn is None and "name" in raw:  # tolerate the flat {"name", "arguments"} shape
            fn = raw
        if not isinstance(fn, dict):
            raise where.error(
                f + ".function",
                'missing "function" object; expected {"function": {"name": ..., '
                '"arguments": "<JSON string>"}}',
            )
        name = fn.get("name")
        if type(name) is not str or not name:
            raise where.error(
                f + ".function.name", f"tool name must be a non-empty string, got {_short(name)}"
            )
        arguments = fn.get("arguments", "{}")
        if type(arguments) is not str:
            if isinstance(arguments, dict):
                # Some loggers store parsed arguments; keep them as the JSON string they were.
                arguments = orjson.dumps(arguments).decode()
            elif arguments is None:
                arguments = ""
            else:
                raise where.error(
                    f + ".function.arguments",
                    f"arguments must be a JSON string, got {type(arguments).__name__}",
                )
        call_id = raw.get("id")
        calls.append(_build_call(name, arguments, None if call_id is None else str(call_id)))
    return tuple(calls)


def message_from_obj(raw: Any, field: str, where: _Where) -> Message:
    """Decode one OpenAI-format chat message."""
    if not isinstance(raw, dict):
        raise where.error(field, f"a message must be an object, got {type(raw).__name__}")
    role = raw.get("role")
    if type(role) is not str or role not in ROLES:
        raise where.error(
            field + ".role",
            f"role={role!r} is not one of system, developer, user, assistant, tool",
        )
    content = raw.get("content")
    if content is not None and type(content) is not str:
        content = _content(content, field + ".content", where)
    tool_calls = raw.get("tool_calls")
    tool_call_id = raw.get("tool_call_id")
    name = raw.get("name")
    return _build_message(
        role,
        content,
        _tool_calls(tool_calls, field + ".tool_calls", where) if tool_calls else (),
        None if tool_call_id is None else str(tool_call_id),
        None if name is None else str(name),
    )


def response_from_obj(
    raw: Any, *, field: str = "response", where: _Where | None = None
) -> Response:
    """Decode a response: an assistant message, optionally with ``finish_reason``.

    An OpenAI chat-completion object (``{"choices": [{"message": ..., "finish_reason": ...}]}``)
    is accepted too.
    """
    where = where or _Where(None, None, None)
    if not isinstance(raw, dict):
        raise where.error(field, f"response must be an object, got {type(raw).__name__}")
    finish_reason = raw.get("finish_reason")
    model = raw.get("model")
    choices = raw.get("choices")
    if (
        choices is not None
        and isinstance(choices, list)
        and choices
        and isinstance(choices[0], dict)
    ):
        finish_reason = choices[0].get("finish_reason", finish_reason)
        raw = choices[0].get("message", {})
        field = field + ".choices[0].message"
        if not isinstance(raw, dict):
            raise where.error(field, "choices[0].message must be an object")
    content = raw.get("content")
    if content is not None and type(content) is not str:
        content = _content(content, field + ".content", where)
    tool_calls = raw.get("tool_calls")
    return _build_response(
        content,
        _tool_calls(tool_calls, field + ".tool_calls", where) if tool_calls else (),
        None if finish_reason is None else str(finish_reason),
        None if model is None else str(model),
    )


def _tools(value: Any, where: _Where) -> tuple[Tool, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise where.error("tools", f"tools must be a list, got {type(value).__name__}")
    tools = []
    for i, raw in enumerate(value):
        f = f"tools[{i}]"
        if not isinstance(raw, dict):
            raise where.error(f, f"a tool must be an object, got {type(raw).__name__}")
        fn = raw.get("function", raw)
        if not isinstance(fn, dict):
            raise where.error(f + ".function", "function must be an object")
        name = fn.get("name")
        if type(name) is not str or not name:
            raise where.error(
                f + ".function.name", f"tool name must be a non-empty string, got {_short(name)}"
            )
        params = fn.get("parameters", {})
        if not isinstance(params, dict):
            raise where.error(f + ".function.parameters", "parameters must be a JSON schema object")
        desc = fn.get("description")
        tools.append(_build_tool(name, None if desc is None else str(desc), params))
    return tuple(tools)


def parse_timestamp(value: Any, where: _Where) -> datetime:
    """Parse an ISO 8601 string with an offset, or epoch seconds, to an aware datetime."""
    if type(value) is str:
        try:
            ts = datetime.fromisoformat(value)
        except ValueError:
            raise where.error(
                "timestamp",
                f"timestamp={value!r} is not ISO 8601; write e.g. 2026-11-20T10:00:00Z",
            ) from None
        if ts.tzinfo is None:
            raise where.error(
                "timestamp",
                f"timestamp={value!r} has no timezone; add an offset such as Z or +00:00",
            )
        return ts
    if type(value) in (int, float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise where.error(
                "timestamp",
                f"timestamp={value!r} is not a usable epoch time in seconds; "
                "write e.g. 2026-11-20T10:00:00Z (milliseconds must be divided by 1000)",
            ) from None
    raise where.error(
        "timestamp",
        f"timestamp must be an ISO 8601 string or epoch seconds, got {_short(value)}",
    )


def trace_from_obj(obj: Any, *, path: str | None = None, line: int | None = None) -> Trace:
    """Decode one wire-format trace object.

    Common, well-formed records take a fast path that builds the records directly; anything
    unusual (content parts, numeric ids, a malformed field) goes through the checked path,
    which gives the same result or names the bad field.

    Raises:
        TraceFormatError: naming ``path``, ``line`` and the offending field.
    """
    if type(obj) is dict:
        trace = _fast_trace(obj, path, line)
        if trace is not None:
            return trace
    return _checked_trace(obj, path, line)


def _fast_calls(value: Any) -> tuple[ToolCall, ...] | None:
    """Tool calls in the exact OpenAI shape, or None to take the checked path."""
    if type(value) is not list:
        return None
    calls = []
    for raw in value:
        if type(raw) is not dict:
            return None
        fn = raw.get("function")
        if type(fn) is not dict:
            return None
        name = fn.get("name")
        arguments = fn.get("arguments")
        call_id = raw.get("id")
        if (
            type(name) is not str
            or not name
            or type(arguments) is not str
            or (call_id is not None and type(call_id) is not str)
        ):
            return None
        calls.append(_build_call(name, arguments, call_id))
    return tuple(calls)


def _fast_trace(obj: dict[str, Any], path: str | None, line: int | None) -> Trace | None:
    """Decode a well-formed trace without per-field error bookkeeping, or return None.

    Returns None (never raises) whenever a value is not of the plain expected type, so
    that :func:`_checked_trace` can decode it or report it; the two give equal traces.
    """
    trace_id = obj.get("id")
    if type(trace_id) is not str or not trace_id:
        return None
    ts = obj.get("timestamp")
    if type(ts) is str:
        try:
            timestamp = _from_iso(ts)
        except ValueError:
            return None
        if timestamp.tzinfo is None:
            return None
    elif type(ts) is int or type(ts) is float:
        try:
            timestamp = _from_epoch(ts, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        return None
    raw_messages = obj.get("messages")
    if type(raw_messages) is not list or not raw_messages:
        return None
    decoded = []
    for m in raw_messages:
        if type(m) is not dict:
            return None
        role = m.get("role")
        content = m.get("content")
        if type(role) is not str or role not in ROLES:
            return None
        if type(content) is str:
            if len(m) == 2:
                decoded.append(_build_message(role, content, (), None, None))
                continue
        elif content is not None:
            return None
        raw_calls = m.get("tool_calls")
        calls = _fast_calls(raw_calls) if raw_calls else ()
        call_id = m.get("tool_call_id")
        name = m.get("name")
        if (
            calls is None
            or (call_id is not None and type(call_id) is not str)
            or (name is not None and type(name) is not str)
        ):
            return None
        decoded.append(_build_message(role, content, calls, call_id, name))
    raw_response = obj.get("response")
    response: Response | None = None
    if raw_response is not None:
        if type(raw_response) is not dict or "choices" in raw_response:
            return None
        content = raw_response.get("content")
        finish_reason = raw_response.get("finish_reason")
        model = raw_response.get("model")
        raw_calls = raw_response.get("tool_calls")
        calls = _fast_calls(raw_calls) if raw_calls else ()
        if (
            calls is None
            or (content is not None and type(content) is not str)
            or (finish_reason is not None and type(finish_reason) is not str)
            or (model is not None and type(model) is not str)
        ):
            return None
        response = _build_response(content, calls, finish_reason, model)
    metadata = obj.get("metadata")
    if metadata is None:
        metadata = {}
    elif type(metadata) is not dict:
        return None
    scrubbed_by = obj.get("scrubbed_by")
    if scrubbed_by is not None and type(scrubbed_by) is not str:
        return None
    raw_tools = obj.get("tools")
    tools = _tools(raw_tools, _Where(path, line, trace_id)) if raw_tools else ()
    return _build_trace(trace_id, timestamp, tuple(decoded), tools, response, metadata, scrubbed_by)


def _checked_trace(obj: Any, path: str | None, line: int | None) -> Trace:
    """Decode a trace, checking every field and naming the first bad one."""
    where = _Where(path, line, None)
    if not isinstance(obj, dict):
        raise where.error("<record>", f"each line must be a JSON object, got {type(obj).__name__}")
    trace_id = obj.get("id")
    if type(trace_id) is not str or not trace_id:
        if type(trace_id) is int:
            trace_id = str(trace_id)
        else:
            raise where.error(
                "id",
                f'missing or empty trace id (id={_short(trace_id)}); add "id": "<unique string>"',
            )
    where.trace_id = trace_id
    if "timestamp" not in obj:
        raise where.error("timestamp", 'missing timestamp; add "timestamp": "2026-11-20T10:00:00Z"')
    timestamp = parse_timestamp(obj["timestamp"], where)
    raw_messages = obj.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise where.error(
            "messages",
            'messages must be a non-empty list of {"role": ..., "content": ...} objects',
        )
    decoded = []
    for i, m in enumerate(raw_messages):
        # Fast path for the common {"role": ..., "content": "..."} message.
        if type(m) is dict and len(m) == 2:
            role = m.get("role")
            content = m.get("content")
            if type(content) is str and type(role) is str and role in ROLES:
                decoded.append(_build_message(role, content, (), None, None))
                continue
        decoded.append(message_from_obj(m, f"messages[{i}]", where))
    messages = tuple(decoded)
    raw_response = obj.get("response")
    raw_tools = obj.get("tools")
    metadata = obj.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        raise where.error("metadata", f"metadata must be an object, got {type(metadata).__name__}")
    return _build_trace(
        trace_id,
        timestamp,
        messages,
        _tools(raw_tools, where) if raw_tools else (),
        None if raw_response is None else response_from_obj(raw_response, where=where),
        metadata,
        None if (scrubbed := obj.get("scrubbed_by")) is None else str(scrubbed),
    )


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
