"""Entity names, detections and the span arithmetic every layer shares."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import attrs

__all__ = [
    "ENTITIES",
    "NER_ENTITIES",
    "PRIORITY",
    "RULE_ENTITIES",
    "Detection",
    "merge_detections",
    "protected_spans",
    "subtract_protected",
]

RULE_ENTITIES: tuple[str, ...] = (
    "ADDRESS",
    "CARD",
    "DATE_OF_BIRTH",
    "EMAIL",
    "IBAN",
    "IP",
    "MAC",
    "PHONE",
    "SECRET",
    "SSN",
    "URL_CREDENTIALS",
)
"""Entity types the rule layer (:class:`RegexScrubber`) detects."""

NER_ENTITIES: tuple[str, ...] = ("LOCATION", "ORG", "PERSON")
"""Entity types the named-entity layer detects."""

ENTITIES: tuple[str, ...] = tuple(sorted(RULE_ENTITIES + NER_ENTITIES))

# When two detections overlap in part (or cover the same span) they are merged into one
# span labelled with the type that ranks first here: a leaked secret is worse than a
# leaked phone number. A detection strictly inside an email keeps the email's label.
PRIORITY: dict[str, int] = {
    name: rank
    for rank, name in enumerate(
        (
            "SECRET",
            "URL_CREDENTIALS",
            "CARD",
            "IBAN",
            "SSN",
            "EMAIL",
            "IP",
            "MAC",
            "PHONE",
            "DATE_OF_BIRTH",
            "ADDRESS",
            "PERSON",
            "ORG",
            "LOCATION",
        )
    )
}

_ENCLOSING = frozenset({"EMAIL"})

_ENTITY_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")

# What scrubbers write: <EMAIL_1> (placeholder), <EMAIL_3f9a2c1b4d5e> (HMAC token),
# <EMAIL> (redaction) and <REDACTED>. Detectors never look inside these, so scrubbing
# scrubbed output changes nothing.
PROTECTED = re.compile(r"<[A-Z][A-Z0-9]*(?:_[A-Z][A-Z0-9]*)*(?:_(?:[0-9]{1,7}|[0-9a-f]{12}))?>")


def check_entity_name(name: str) -> str:
    """Return ``name`` when it is an UPPER_SNAKE entity name; raise otherwise."""
    from livingeval.errors import ConfigError

    if not _ENTITY_NAME.fullmatch(name):
        raise ConfigError(
            f"entity names are UPPER_SNAKE_CASE (they become placeholders like <EMAIL_1>); "
            f"entity={name!r}. Use e.g. 'EMPLOYEE_ID'.",
            field="entity",
        )
    return name


@attrs.frozen(kw_only=True)
class Detection:
    """One detected span of personal data in a text.

    The record holds offsets, not the value, so logging a detection never leaks it:
    slice the text (``text[d.start:d.end]``) when you need the value.

    Example:
        >>> from livingeval.scrub import RegexScrubber
        >>> [d.entity for d in RegexScrubber().detect("mail jane@example.com")]
        ['EMAIL']

    .. versionadded:: 0.1.0
    """

    entity: str
    """The entity type, e.g. ``"EMAIL"``, ``"PERSON"``."""
    start: int
    """Offset of the first character."""
    end: int
    """Offset one past the last character."""
    source: str = "rules"
    """Which layer or detector found it (``"rules"``, ``"ner"``, ``"presidio"``, a pattern)."""
    score: float = 1.0
    """Confidence in ``[0, 1]``; rule detections with a checksum or context score 1.0."""


def protected_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of the placeholders and tokens a scrubber wrote into ``text``."""
    if "<" not in text:
        return []
    return [m.span() for m in PROTECTED.finditer(text)]


def subtract_protected(
    detections: Iterable[Detection], protected: Sequence[tuple[int, int]], text: str
) -> list[Detection]:
    """Cut protected spans out of detections, keeping the parts that still hold data.

    A named-entity model may tag ``"Dear <PERSON_1> Smith"`` as one person: dropping the
    whole span would leak ``Smith``, keeping it would re-scrub the placeholder. We keep
    ``Smith``.
    """
    if not protected:
        return list(detections)
    out: list[Detection] = []
    for det in detections:
        pieces = [(det.start, det.end)]
        for p_start, p_end in protected:
            if p_end <= det.start or p_start >= det.end:
                continue
            next_pieces = []
            for a, b in pieces:
                if p_end <= a or p_start >= b:
                    next_pieces.append((a, b))
                    continue
                if a < p_start:
                    next_pieces.append((a, p_start))
                if p_end < b:
                    next_pieces.append((p_end, b))
            pieces = next_pieces
        for a, b in pieces:
            a, b = _strip(text, a, b)
            if b > a and any(c.isalnum() for c in text[a:b]):
                out.append(attrs.evolve(det, start=a, end=b))
    return out


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and not (text[start].isalnum() or text[start] in "+(#"):
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


def merge_detections(detections: Iterable[Detection]) -> list[Detection]:
    """Merge overlapping detections into one span each.

    A detection strictly inside an email address keeps the address's label (a local part
    that happens to be a valid IBAN or card number is still an email); otherwise the
    merged span is labelled by :data:`PRIORITY`. Merging rather than picking one side means a
    partial overlap can never leave the other detection's characters in clear text.
    """
    ordered = sorted(detections, key=lambda d: (d.start, -d.end))
    out: list[Detection] = []
    for det in ordered:
        if out and det.start < out[-1].end:
            last = out[-1]
            inside = det.end <= last.end and (det.start, det.end) != (last.start, last.end)
            if inside and last.entity in _ENCLOSING:
                winner = last  # e.g. digits inside an email address are that address
            else:
                winner = last if _rank(last.entity) <= _rank(det.entity) else det
            out[-1] = attrs.evolve(
                winner,
                start=last.start,
                end=max(last.end, det.end),
                score=max(last.score, det.score),
            )
        else:
            out.append(det)
    return out


def _rank(entity: str) -> int:
    return PRIORITY.get(entity, len(PRIORITY))
