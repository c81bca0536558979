"""The machinery every scrubbing layer shares: walking a Trace, JSON-aware replacement,
per-trace pseudonyms, allow-lists, counts and fingerprints."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import attrs
import orjson

from livingeval.records import Message, Response, ToolCall, Trace
from livingeval.scrub._entities import (
    PROTECTED,
    Detection,
    merge_detections,
    protected_spans,
    subtract_protected,
)
from livingeval.scrub._modes import HmacTokens, Mask, Mode, Placeholders, Redact, normalise

__all__ = [
    "LayerMixin",
    "State",
    "ScrubResult",
    "TextScrubResult",
    "config_hash",
    "iter_texts",
    "map_trace",
    "marked",
    "str_tuple",
]

_KEEP = object()

TextFn = Callable[[str, "str | None"], str]
"""Scrubs one string; the second argument is the JSON key the string sits under, if any."""

_PLACEHOLDER_NUMBER = re.compile(r"<([A-Z][A-Z0-9_]*?)_([0-9]{1,7})>")


@attrs.frozen(kw_only=True)
class ScrubResult:
    """A scrubbed trace and how many values of each entity type were replaced.

    Example:
        >>> from livingeval.scrub import RegexScrubber
        >>> from livingeval.testing import sample_trace
        >>> result = RegexScrubber().scrub_with_report(sample_trace())
        >>> result.counts["EMAIL"], result.trace.scrubbed_by is not None
        (2, True)

    .. versionadded:: 0.1.0
    """

    trace: Trace
    """The scrubbed trace (``scrubbed_by`` set)."""
    counts: Mapping[str, int] = attrs.field(factory=dict, hash=False)
    """Replacements per entity type, e.g. ``{"EMAIL": 2, "CARD": 1}``."""

    @property
    def total(self) -> int:
        """All replacements."""
        return sum(self.counts.values())


@attrs.frozen(kw_only=True)
class TextScrubResult:
    """A scrubbed string and how many values of each entity type were replaced.

    Example:
        >>> from livingeval.scrub import RegexScrubber
        >>> RegexScrubber().scrub_text_with_report("a@b.io").counts
        {'EMAIL': 1}

    .. versionadded:: 0.1.0
    """

    text: str
    """The scrubbed text."""
    counts: Mapping[str, int] = attrs.field(factory=dict, hash=False)
    """Replacements per entity type."""

    @property
    def total(self) -> int:
        """All replacements."""
        return sum(self.counts.values())


# --------------------------------------------------------------------------- walking

_NOT_JSON = object()
_JSON_AFTER = {"{": frozenset('"}'), "[": frozenset('"{[]-0123456789tfn')}


def _json_value(text: str) -> Any:
    """``orjson.loads(text)`` for a JSON object or array, else ``_NOT_JSON``.

    What cannot be an object or array (it does not start with ``{`` or ``[``, or the
    next character cannot follow, as in ``[f(x=1)]``) is rejected without a parse
    (raising and catching a decode error costs more than the check).
    """
    first = text[:1]
    i = 0
    if first.isspace():
        stripped = text.lstrip()
        first = stripped[:1]
        i = len(text) - len(stripped)
    allowed = _JSON_AFTER.get(first)
    if allowed is None:
        return _NOT_JSON
    i += 1
    n = len(text)
    while i < n and text[i].isspace():
        i += 1
    if i < n and text[i] not in allowed:
        return _NOT_JSON
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _NOT_JSON


def _map_json_or_text(text: str, fn: TextFn) -> str:
    """Scrub a string that may hold JSON: string values only, keys and structure kept."""
    value = _json_value(text)
    if value is _NOT_JSON:
        return fn(text, None)
    changed = False

    def walk(node: Any, key: str | None) -> Any:
        nonlocal changed
        if isinstance(node, str):
            new = fn(node, key)
            if new != node:
                changed = True
            return new
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        return node

    result = walk(value, None)
    return orjson.dumps(result).decode() if changed else text


def _map_call(call: ToolCall, fn: TextFn) -> ToolCall:
    arguments = _map_json_or_text(call.arguments, fn) if call.arguments else call.arguments
    if arguments == call.arguments:
        return call
    return ToolCall(name=call.name, arguments=arguments, id=call.id)


def _map_calls(calls: tuple[ToolCall, ...], fn: TextFn) -> tuple[ToolCall, ...]:
    if not calls:
        return calls
    mapped = tuple(_map_call(c, fn) for c in calls)
    return calls if all(a is b for a, b in zip(mapped, calls, strict=True)) else mapped


def _map_message(message: Message, fn: TextFn) -> Message:
    content = message.content
    if content:
        content = _map_json_or_text(content, fn)
    name = message.name
    if name and message.role != "tool":
        name = fn(name, None)
    calls = _map_calls(message.tool_calls, fn)
    if content == message.content and name == message.name and calls is message.tool_calls:
        return message
    return Message(
        role=message.role,
        content=content,
        tool_calls=calls,
        tool_call_id=message.tool_call_id,
        name=name,
    )


def _map_metadata(value: Any, fn: TextFn, key: str | None) -> Any:
    if isinstance(value, str):
        return fn(value, key)
    if isinstance(value, Mapping):
        return {k: _map_metadata(v, fn, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_map_metadata(v, fn, key) for v in value]
    return value


def marked(trace: Trace, scrubbed_by: str | None) -> Trace:
    """``attrs.evolve(trace, scrubbed_by=scrubbed_by)``, without re-validating fields."""
    return _rebuilt(trace, trace.messages, trace.response, trace.metadata, scrubbed_by)


def _rebuilt(
    trace: Trace,
    messages: tuple[Message, ...],
    response: Response | None,
    metadata: Mapping[str, Any],
    scrubbed_by: str | None,
) -> Trace:
    # The fields come from a valid trace, so the copy skips attrs.evolve's field walk
    # and the validators (a tenth of the cost for a trace without findings).
    new = _new_trace(Trace)
    _set(new, "id", trace.id)
    _set(new, "timestamp", trace.timestamp)
    _set(new, "messages", messages)
    _set(new, "tools", trace.tools)
    _set(new, "response", response)
    _set(new, "metadata", metadata)
    _set(new, "scrubbed_by", scrubbed_by)
    return new


_new_trace = object.__new__
_set = object.__setattr__
_TRACE_FIELDS = ("id", "timestamp", "messages", "tools", "response", "metadata", "scrubbed_by")
assert tuple(f.name for f in attrs.fields(Trace)) == _TRACE_FIELDS, "update _rebuilt()"


def map_trace(trace: Trace, fn: TextFn, *, metadata: bool, scrubbed_by: object = _KEEP) -> Trace:
    """Apply ``fn`` to every text field of ``trace`` (see :class:`~livingeval.protocols.Scrubber`).

    Scrubbed: message contents (JSON-aware when they hold JSON), participant names, tool
    call arguments (JSON string values; invalid JSON as text), tool results, the response
    text and tool calls, and string metadata values when ``metadata`` is true. Kept:
    ids, roles, tool names, tool definitions, timestamps. ``scrubbed_by``, when given,
    replaces the trace's mark.
    """
    messages = tuple(_map_message(m, fn) for m in trace.messages)
    response = trace.response
    if response is not None:
        content = response.content
        if content:
            content = _map_json_or_text(content, fn)
        calls = _map_calls(response.tool_calls, fn)
        if content != response.content or calls is not response.tool_calls:
            response = attrs.evolve(response, content=content, tool_calls=calls)
    meta = trace.metadata
    if metadata:
        meta = _map_metadata(dict(trace.metadata), fn, None)
    mark = trace.scrubbed_by if scrubbed_by is _KEEP else scrubbed_by
    assert mark is None or isinstance(mark, str)
    return _rebuilt(trace, messages, response, meta, mark)


def _collect(text: str, field: str, out: list[tuple[str, str]]) -> None:
    value = _json_value(text)
    if value is _NOT_JSON:
        out.append((field, text))
    else:
        _collect_json(value, field, None, out)


def _collect_json(node: Any, field: str, key: str | None, out: list[tuple[str, str]]) -> None:
    if isinstance(node, str):
        out.append((field if key is None else f"{field}.{key}", node))
    elif isinstance(node, Mapping):
        for k, v in node.items():
            _collect_json(v, field, str(k), out)
    elif isinstance(node, list | tuple):
        for v in node:
            _collect_json(v, field, key, out)


def _lean(text: str, out: list[tuple[str | None, str]]) -> None:
    value = _json_value(text)
    if value is _NOT_JSON:
        out.append((None, text))
    else:
        _lean_json(value, None, out)


def _lean_json(node: Any, key: str | None, out: list[tuple[str | None, str]]) -> None:
    if isinstance(node, str):
        out.append((key, node))
    elif isinstance(node, Mapping):
        for k, v in node.items():
            _lean_json(v, str(k), out)
    elif isinstance(node, list | tuple):
        for v in node:
            _lean_json(v, key, out)


def strings_of(trace: Trace, *, metadata: bool = False) -> list[tuple[str | None, str]]:
    """``(json_key, text)`` for every string :func:`map_trace` would pass to its function."""
    out: list[tuple[str | None, str]] = []
    for message in trace.messages:
        if message.content:
            _lean(message.content, out)
        if message.name and message.role != "tool":
            out.append((None, message.name))
        for call in message.tool_calls:
            if call.arguments:
                _lean(call.arguments, out)
    response = trace.response
    if response is not None:
        if response.content:
            _lean(response.content, out)
        for call in response.tool_calls:
            if call.arguments:
                _lean(call.arguments, out)
    if metadata:
        _lean_json(trace.metadata, None, out)
    return out


def iter_texts(trace: Trace, *, metadata: bool = False) -> Iterator[tuple[str, str]]:
    """Yield ``(field, text)`` for every text field :func:`map_trace` would scrub.

    JSON content is yielded per string value, with the key appended to the field name
    (``messages[2].email``).
    """
    found: list[tuple[str, str]] = []
    for i, message in enumerate(trace.messages):
        if message.content:
            _collect(message.content, f"messages[{i}]", found)
        if message.name and message.role != "tool":
            found.append((f"messages[{i}].name", message.name))
        for j, call in enumerate(message.tool_calls):
            if call.arguments:
                _collect(call.arguments, f"messages[{i}].tool_calls[{j}].arguments", found)
    response = trace.response
    if response is not None:
        if response.content:
            _collect(response.content, "response.content", found)
        for j, call in enumerate(response.tool_calls):
            if call.arguments:
                _collect(call.arguments, f"response.tool_calls[{j}].arguments", found)
    if metadata:
        _collect_json(trace.metadata, "metadata", None, found)
    yield from found


# --------------------------------------------------------------------------- replacing


class State:
    """Per-trace pseudonym table and counts (never shared between traces)."""

    __slots__ = ("counts", "next_number", "numbers")

    def __init__(self) -> None:
        self.numbers: dict[tuple[str, str], int] = {}
        self.next_number: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()

    def seed(self, text: str) -> None:
        """Continue numbering after placeholders already in the text (idempotence, chains)."""
        if "<" in text:
            for m in _PLACEHOLDER_NUMBER.finditer(text):
                entity, number = m.group(1), int(m.group(2))
                if number > self.next_number[entity]:
                    self.next_number[entity] = number

    def replacement(self, mode: Mode, entity: str, value: str) -> str:
        if isinstance(mode, Placeholders):
            key = (entity, normalise(entity, value))
            number = self.numbers.get(key)
            if number is None:
                self.next_number[entity] += 1
                number = self.next_number[entity]
                self.numbers[key] = number
            return f"<{entity}_{number}>"
        if isinstance(mode, HmacTokens):
            return f"<{entity}_{mode.key.token(entity, normalise(entity, value))}>"
        if isinstance(mode, Redact):
            return f"<{entity}>" if mode.keep_type else "<REDACTED>"
        if isinstance(mode, Mask):
            return mode.apply(value, entity)
        raise TypeError(f"unknown scrubbing mode {mode!r}")  # pragma: no cover


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    """Converter: any iterable of strings to a tuple (a lone string is one item)."""
    return (values,) if isinstance(values, str) else tuple(values)


def lower_set(values: Iterable[str]) -> frozenset[str]:
    """Converter: allow-list values, stripped and lower-cased."""
    if isinstance(values, str):
        values = (values,)
    return frozenset(v.strip().lower() for v in values)


def config_hash(*parts: object) -> str:
    """Eight hex characters identifying a configuration (values hashed, never shown)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:8]


class LayerMixin:
    """Shared behaviour of livingeval's scrubbing layers (rule, NER, Presidio).

    A layer provides ``mode``, ``allow``, ``allow_patterns``, ``scrub_metadata``,
    ``fingerprint`` and ``_detect(text, key)``; this mixin provides the public methods.
    """

    __slots__ = ()

    mode: Mode
    allow: frozenset[str]
    allow_patterns: tuple[str, ...]
    scrub_metadata: bool
    _ITERATE = False  # statistical layers re-run until nothing new is found

    @property
    def fingerprint(self) -> str:  # pragma: no cover - every layer overrides it
        """A stable id of this configuration, written to ``Trace.scrubbed_by``."""
        raise NotImplementedError

    def _detect(self, text: str, key: str | None, context: Any = None) -> list[Detection]:
        raise NotImplementedError  # pragma: no cover

    def _prepare(self, texts: list[str]) -> Any:
        """Per-trace context for ``_detect`` (e.g. detections computed in one pass)."""
        return None

    def _clean(self, context: Any, pairs: list[tuple[str | None, str]]) -> bool:
        """True when ``context`` proves nothing in the trace will be replaced."""
        return False

    # ----------------------------------------------------------------- public API

    def detect(self, text: str) -> tuple[Detection, ...]:
        """Return the spans this layer would replace in ``text`` (after the allow-list).

        Example:
            >>> from livingeval.scrub import RegexScrubber
            >>> d = RegexScrubber().detect("card 4111 1111 1111 1111")[0]
            >>> d.entity, d.start, d.end
            ('CARD', 5, 24)
        """
        return tuple(self._final_detections(text, None, self._prepare([text])))

    def scrub_text(self, text: str) -> str:
        """Return ``text`` with personal data replaced (numbering starts at 1).

        Text that is a JSON object or array is scrubbed like tool arguments: string
        values only, so it stays valid JSON.

        Example:
            >>> from livingeval.scrub import RegexScrubber
            >>> RegexScrubber().scrub_text("call +1 415 555 0100")
            'call <PHONE_1>'
        """
        return self.scrub_text_with_report(text).text

    def scrub_text_with_report(self, text: str) -> TextScrubResult:
        """Scrub ``text`` and count the replacements per entity type.

        Example:
            >>> from livingeval.scrub import RegexScrubber
            >>> RegexScrubber().scrub_text_with_report("a@b.io or c@d.io").counts
            {'EMAIL': 2}
        """
        pairs: list[tuple[str | None, str]] = []
        _lean(text, pairs)
        return self._finish_text(text, pairs, self._prepare([t for _, t in pairs]))

    def scrub(self, trace: Trace) -> Trace:
        """Return ``trace`` with every text field scrubbed and ``scrubbed_by`` set.

        Example:
            >>> from livingeval.scrub import RegexScrubber
            >>> from livingeval.testing import sample_trace
            >>> RegexScrubber().scrub(sample_trace()).messages[1].content[:30]
            "Hi, I'm Jane Doe (<EMAIL_1>, <"
        """
        return self.scrub_with_report(trace).trace

    def scrub_with_report(self, trace: Trace) -> ScrubResult:
        """Scrub ``trace`` and count the replacements per entity type.

        Pseudonyms are consistent across the whole trace: the same value gets the same
        placeholder in the system prompt, every message, every tool call and the response.
        """
        pairs = strings_of(trace, metadata=self.scrub_metadata)
        texts = [text for _, text in pairs]
        return self._finish(trace, pairs, texts, self._prepare(texts))

    def scrub_many(self, traces: Iterable[Trace]) -> list[Trace]:
        """``[self.scrub(t) for t in traces]``, faster for layers that batch their work.

        The rule layer scans many traces at once (see ``docs/scrubbing.md``); every trace
        gets exactly what :meth:`scrub` gives it alone: the same detections, placeholders
        numbered per trace, HMAC tokens from the same key.

        Example:
            >>> from livingeval.scrub import RegexScrubber
            >>> from livingeval.testing import sample_trace
            >>> s = RegexScrubber()
            >>> s.scrub_many([sample_trace()]) == [s.scrub(sample_trace())]
            True
        """
        return [result.trace for result in self.scrub_many_with_report(traces)]

    def scrub_many_with_report(self, traces: Iterable[Trace]) -> list[ScrubResult]:
        """:meth:`scrub_with_report` for many traces (see :meth:`scrub_many`)."""
        items = list(traces)
        pairs = [strings_of(trace, metadata=self.scrub_metadata) for trace in items]
        texts = [[text for _, text in p] for p in pairs]
        contexts = self._prepare_many(texts)
        return [
            self._finish(trace, p, t, c)
            for trace, p, t, c in zip(items, pairs, texts, contexts, strict=True)
        ]

    def scrub_texts(self, texts: Iterable[str]) -> list[str]:
        """``[self.scrub_text(t) for t in texts]``, faster for layers that batch their work.

        Each text is scrubbed on its own (numbering starts at 1 in each).

        Example:
            >>> from livingeval.scrub import RegexScrubber
            >>> RegexScrubber().scrub_texts(["mail a@b.io", "call +1 415 555 0100"])
            ['mail <EMAIL_1>', 'call <PHONE_1>']
        """
        return [result.text for result in self.scrub_texts_with_report(texts)]

    def scrub_texts_with_report(self, texts: Iterable[str]) -> list[TextScrubResult]:
        """:meth:`scrub_text_with_report` for many texts (see :meth:`scrub_texts`)."""
        items = list(texts)
        pairs: list[list[tuple[str | None, str]]] = []
        for text in items:
            found: list[tuple[str | None, str]] = []
            _lean(text, found)
            pairs.append(found)
        contexts = self._prepare_many([[t for _, t in p] for p in pairs])
        return [
            self._finish_text(text, p, c) for text, p, c in zip(items, pairs, contexts, strict=True)
        ]

    def _prepare_many(self, texts: list[list[str]]) -> list[Any]:
        """:meth:`_prepare` for many traces' strings (layers override it to batch)."""
        return [self._prepare(t) for t in texts]

    def _finish_text(
        self, text: str, pairs: list[tuple[str | None, str]], context: Any
    ) -> TextScrubResult:
        if self._clean(context, pairs):
            return TextScrubResult(text=text)
        state = State()
        state.seed(text)
        out = _map_json_or_text(text, lambda t, key: self._scrub_one(t, key, state, context))
        return TextScrubResult(text=out, counts=dict(state.counts))

    def _finish(
        self, trace: Trace, pairs: list[tuple[str | None, str]], texts: list[str], context: Any
    ) -> ScrubResult:
        if self._clean(context, pairs):  # nothing to replace: skip rebuilding the trace
            return ScrubResult(trace=marked(trace, self.fingerprint))
        state = State()
        for text in texts:
            state.seed(text)

        if not self._ITERATE:

            def fn(text: str, key: str | None) -> str:
                return self._scrub_one(text, key, state, context) if text else text

            scrubbed = map_trace(
                trace, fn, metadata=self.scrub_metadata, scrubbed_by=self.fingerprint
            )
        else:
            scrubbed = marked(self._scrub_rounds(trace, state, context), self.fingerprint)
        return ScrubResult(trace=scrubbed, counts=dict(state.counts))

    def _scrub_rounds(self, trace: Trace, state: State, context: Any) -> Trace:
        """Scrub, then re-check changed texts until nothing new is found (at most 3 more).

        A statistical model sees different context once values are replaced. Each round
        prepares all of the trace's changed texts at once (one batched model call), so
        re-checking costs one call per round, not one per text.
        """
        targets: set[str] | None = None  # None: every text (first round)
        for _ in range(4):
            produced: set[str] = set()

            def fn(
                text: str,
                key: str | None,
                ctx: Any = context,
                targets: set[str] | None = targets,
                produced: set[str] = produced,
            ) -> str:
                if not text or (targets is not None and text not in targets):
                    return text
                out = self._replace(text, key, state, ctx)
                if out != text:
                    produced.add(out)
                return out

            trace = map_trace(trace, fn, metadata=self.scrub_metadata)
            if not produced:
                break
            targets = produced
            context = self._prepare(sorted(produced))
        return trace

    # ----------------------------------------------------------------- internals

    def _allowed(self, value: str) -> bool:
        if not self.allow and not self.allow_patterns:
            return False
        if value.strip().lower() in self.allow:
            return True
        return any(_compiled(p).fullmatch(value) for p in self.allow_patterns)

    def _final_detections(self, text: str, key: str | None, context: Any) -> list[Detection]:
        found = self._detect(text, key, context)
        if not found:
            return []
        found = subtract_protected(found, protected_spans(text), text)
        merged = merge_detections(found)
        if self.allow or self.allow_patterns:
            merged = [d for d in merged if not self._allowed(text[d.start : d.end])]
        return merged

    def _replace(self, text: str, key: str | None, state: State, context: Any) -> str:
        detections = self._final_detections(text, key, context)
        if not detections:
            return text
        pieces: list[str] = []
        last = 0
        for det in detections:
            pieces.append(text[last : det.start])
            pieces.append(state.replacement(self.mode, det.entity, text[det.start : det.end]))
            state.counts[det.entity] += 1
            last = det.end
        pieces.append(text[last:])
        return "".join(pieces)

    def _scrub_one(self, text: str, key: str | None, state: State, context: Any) -> str:
        if not text:
            return text
        out = self._replace(text, key, state, context)
        if self._ITERATE:
            # A statistical model sees different context once values are replaced; scrub
            # until nothing new is found, so scrubbing scrubbed output changes nothing.
            for _ in range(3):
                if out == text:
                    break
                text, out = out, self._replace(out, key, state, None)
        return out


def is_protected(value: str) -> bool:
    """True when ``value`` is exactly one placeholder or token a scrubber wrote."""
    return PROTECTED.fullmatch(value) is not None
