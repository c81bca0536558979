"""The rule layer: validated regex detectors, user patterns and allow-lists."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import attrs

from livingeval.errors import ConfigError
from livingeval.scrub._detectors import (
    SECRET_KEY_NAMES,
    Gates,
    detect_rules,
    detect_rules_many,
)
from livingeval.scrub._engine import (
    LayerMixin,
    State,
    config_hash,
    is_protected,
    lower_set,
    str_tuple,
)
from livingeval.scrub._entities import RULE_ENTITIES, Detection, check_entity_name
from livingeval.scrub._modes import Mode, Placeholders
from livingeval.scrub._segments import GAP

__all__ = ["RegexScrubber", "UserPattern"]

_SEPARATOR = "\n\x00\n"  # no detector matches across it
_BATCH_MIN_CHARS = 4 * len(GAP)  # mean text length from which batching texts pays
_FINGERPRINTS: dict[RegexScrubber, str] = {}


@attrs.frozen
class _Joint:
    """Rule detections for each distinct string of one trace, from a single pass."""

    per_text: dict[str, list[Detection]]


def _check_regex(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise ConfigError(
            f"UserPattern.regex does not compile ({exc}); regex={value!r}. Fix the pattern; "
            "test it with re.compile() first.",
            field="regex",
        ) from None
    if compiled.match(""):
        raise ConfigError(
            f"UserPattern.regex matches the empty string, so it would fire everywhere; "
            f"regex={value!r}. Require at least one character (use + rather than *).",
            field="regex",
        )


def _check_entity(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    check_entity_name(value)


@attrs.frozen(kw_only=True)
class UserPattern:
    """A detector of your own: a regex and the entity type its matches get.

    Args:
        entity: UPPER_SNAKE name, used in placeholders (``<EMPLOYEE_ID_1>``).
        regex: A Python regular expression. Use a capture group named ``value`` to
            replace only part of the match (e.g. the id after a keyword).

    Raises:
        ConfigError: the name is not UPPER_SNAKE, or the regex does not compile or
            matches the empty string.

    Example:
        >>> from livingeval.scrub import RegexScrubber
        >>> s = RegexScrubber(patterns=(UserPattern(entity="EMPLOYEE_ID", regex=r"EMP-\\d{6}"),))
        >>> s.scrub_text("ask EMP-123456")
        'ask <EMPLOYEE_ID_1>'

    .. versionadded:: 0.1.0
    """

    entity: str = attrs.field(validator=_check_entity)
    """The entity type of matches."""
    regex: str = attrs.field(validator=_check_regex)
    """The pattern; a named group ``value`` narrows what is replaced."""

    def finditer(self, text: str) -> Iterable[Detection]:
        """Detections of this pattern in ``text``."""
        compiled = _compile(self.regex)
        has_value = "value" in compiled.groupindex
        for m in compiled.finditer(text):
            start, end = m.span("value") if has_value else m.span()
            if end > start:
                yield Detection(entity=self.entity, start=start, end=end, source="pattern")


@lru_cache(maxsize=4096)
def _secret_key_name(key: str) -> bool:
    """``SECRET_KEY_NAMES.search(key)``: the JSON key names a secret (cached per name)."""
    return SECRET_KEY_NAMES.search(key) is not None


_CACHE: dict[str, re.Pattern[str]] = {}


def _compile(regex: str) -> re.Pattern[str]:
    compiled = _CACHE.get(regex)
    if compiled is None:
        compiled = _CACHE[regex] = re.compile(regex)
    return compiled


def _check_entities(
    instance: object, attribute: attrs.Attribute[frozenset[str]], value: frozenset[str]
) -> None:
    unknown = sorted(value - set(RULE_ENTITIES))
    if unknown:
        raise ConfigError(
            f"RegexScrubber cannot detect {unknown}; entities={sorted(value)}. The rule layer "
            f"knows {list(RULE_ENTITIES)}; names, organisations and places need the NER layer "
            "(NERScrubber or PresidioScrubber), and your own types need a UserPattern.",
            field="entities",
        )


def _str_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset((values,) if isinstance(values, str) else values)


def _pattern_tuple(values: Iterable[UserPattern]) -> tuple[UserPattern, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class RegexScrubber(LayerMixin):
    """The rule layer: fast, validated detectors for structured personal data and secrets.

    Detects emails, phone numbers (international and national formats; short national
    numbers only next to words like "call" or "phone"), payment cards (Luhn-checked,
    13-19 digits), IBANs (mod-97 checked), US SSNs, IPv4/IPv6, MAC addresses, URLs with
    credentials, dates of birth next to "born"/"date of birth", street addresses in
    common formats, and secrets (API keys with well-known prefixes, JWTs, bearer tokens,
    private-key blocks, high-entropy values after key/secret/token/password, and any
    string value under a JSON key such as ``password`` or ``api_key``). Names,
    organisations and places need the NER layer (see :func:`default_scrubber`).

    Args:
        entities: Entity types to detect (default: all of them).
        mode: How values are replaced (default: ``<EMAIL_1>`` placeholders).
        patterns: Your own detectors.
        allow: Values that must stay (case-insensitive exact match), e.g. your
            support address.
        allow_patterns: Regexes; a detected value that fully matches one stays.
        scrub_metadata: Also scrub string values in ``Trace.metadata`` (keys kept).

    Example:
        >>> s = RegexScrubber(allow=("support@acme.com",))
        >>> s.scrub_text("write support@acme.com, not jane@doe.org")
        'write support@acme.com, not <EMAIL_1>'

    .. versionadded:: 0.1.0
    """

    entities: frozenset[str] = attrs.field(
        default=frozenset(RULE_ENTITIES), converter=_str_set, validator=_check_entities
    )
    """Entity types to detect."""
    mode: Mode = attrs.field(factory=Placeholders)
    """How values are replaced."""
    patterns: tuple[UserPattern, ...] = attrs.field(default=(), converter=_pattern_tuple)
    """User-supplied detectors."""
    allow: frozenset[str] = attrs.field(default=frozenset(), converter=lower_set)
    """Values that are never replaced (compared lower-cased)."""
    allow_patterns: tuple[str, ...] = attrs.field(default=(), converter=str_tuple)
    """Regexes of values that are never replaced (full match)."""
    scrub_metadata: bool = False
    """Also scrub string values of ``Trace.metadata``."""

    @property
    def fingerprint(self) -> str:
        """``regex/1:<mode>:<hash of the configuration>``; written to ``Trace.scrubbed_by``.

        The allow-list and patterns enter only through a hash; an HMAC key only
        through its key id.
        """
        cached = _FINGERPRINTS.get(self)
        if cached is None:
            digest = config_hash(
                sorted(self.entities),
                [(p.entity, p.regex) for p in self.patterns],
                sorted(self.allow),
                self.allow_patterns,
                self.scrub_metadata,
            )
            cached = f"regex/1:{self.mode.fingerprint}:{digest}"
            if len(_FINGERPRINTS) > 256:
                _FINGERPRINTS.clear()
            _FINGERPRINTS[self] = cached
        return cached

    def _prepare(self, texts: list[str]) -> _Joint:
        # One pass over all of a trace's strings joined: the per-call overhead of a
        # dozen detectors is paid once per trace, not once per message.
        joined = _SEPARATOR.join(texts)
        return self._split(texts, joined, detect_rules(joined, self.entities))

    def _prepare_many(self, texts: list[list[str]]) -> list[Any]:
        # Many traces at once: one scan per detector over all of them (see _segments.py).
        joined = [_SEPARATOR.join(t) for t in texts]
        found = detect_rules_many(joined, self.entities)
        return [self._split(t, j, f) for t, j, f in zip(texts, joined, found, strict=True)]

    def _split(self, texts: list[str], joined: str, found: list[Detection]) -> _Joint:
        """Map detections in ``joined`` (the texts joined) back to each text."""
        for pattern in self.patterns:
            found.extend(pattern.finditer(joined))
        per_text: dict[str, list[Detection]] = {}
        if not found:
            return _Joint(per_text=per_text)
        if len(texts) == 1:
            per_text[texts[0]] = found
            return _Joint(per_text=per_text)
        starts = []
        offset = 0
        for text in texts:
            starts.append(offset)
            offset += len(text) + len(_SEPARATOR)
        for det in found:
            i = bisect.bisect_right(starts, det.start) - 1
            while i < len(texts) and starts[i] < det.end:
                lo = max(det.start, starts[i]) - starts[i]
                hi = min(det.end, starts[i] + len(texts[i])) - starts[i]
                if hi > lo:
                    per_text.setdefault(texts[i], []).append(
                        Detection(
                            entity=det.entity, start=lo, end=hi, source=det.source, score=det.score
                        )
                    )
                i += 1
        return _Joint(per_text=per_text)

    def _clean(self, context: Any, pairs: list[tuple[str | None, str]]) -> bool:
        if not isinstance(context, _Joint) or context.per_text:
            return False
        if "SECRET" not in self.entities:
            return True
        # Few strings sit under a JSON key, and the same keys recur: only they are
        # looked at, each name matched once (see _secret_key_name).
        keys = {key for key, _ in pairs if key is not None}
        return not any(_secret_key_name(key) for key in keys)

    def scrub_text(self, text: str) -> str:
        """Return ``text`` with personal data replaced (numbering starts at 1).

        Text that is a JSON object or array is scrubbed like tool arguments: string
        values only, so it stays valid JSON.

        Example:
            >>> RegexScrubber().scrub_text("call +1 415 555 0100")
            'call <PHONE_1>'
        """
        if self.patterns or text.lstrip()[:1] in ("{", "["):
            return self.scrub_text_with_report(text).text
        # Plain text, built-in detectors only: one gate computation, one detector pass,
        # and no per-call bookkeeping when nothing is found (most texts).
        gates = Gates(text)
        if not gates.any:
            return text
        found = detect_rules(text, self.entities, gates)
        if not found:
            return text
        state = State()
        state.seed(text)
        return self._scrub_one(text, None, state, _Joint(per_text={text: found}))

    def scrub_texts(self, texts: Iterable[str]) -> list[str]:
        """``[self.scrub_text(t) for t in texts]``; long texts are scanned in one batch.

        Short texts (chat messages) are scrubbed one by one: the gap that joins a batch
        would cost more than the calls it saves.

        Example:
            >>> RegexScrubber().scrub_texts(["mail a@b.io", "call +1 415 555 0100"])
            ['mail <EMAIL_1>', 'call <PHONE_1>']
        """
        items = list(texts)
        if sum(len(t) for t in items) < _BATCH_MIN_CHARS * len(items):
            return [self.scrub_text(t) for t in items]
        return super().scrub_texts(items)

    def _detect(self, text: str, key: str | None, context: Any = None) -> list[Detection]:
        if isinstance(context, _Joint):
            found = list(context.per_text.get(text, ()))
        else:
            found = detect_rules(text, self.entities)
            for pattern in self.patterns:
                found.extend(pattern.finditer(text))
        if (
            key is not None
            and "SECRET" in self.entities
            and len(text.strip()) >= 4
            and _secret_key_name(key)
            and not is_protected(text.strip())
        ):
            found.append(Detection(entity="SECRET", start=0, end=len(text), source="json-key"))
        return found
