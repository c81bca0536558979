"""Scrubbing: remove personal data and secrets from traces before anything else sees them.

Layers (each a :class:`~livingeval.protocols.Scrubber`, composable with :func:`chain`):

- :class:`RegexScrubber`: the rule layer. Validated detectors for emails, phones,
  cards (Luhn), IBANs (mod-97), SSNs, IPs, MACs, URL credentials, dates of birth,
  street addresses and secrets. Fast (no model), exact, no extra needed.
- :class:`NERScrubber`: people, organisations and places from any NER model (a spaCy
  pipeline by name, path or object, or any callable returning spans), sharpened by
  context rules and bundled name and place gazetteers.
- :class:`PresidioScrubber`: Microsoft Presidio's analyzer (extra ``presidio``).

:func:`default_scrubber` is the recommended chain. Replacement modes:
:class:`Placeholders` (``<EMAIL_1>``, consistent within a trace), :class:`HmacTokens`
(keyed, consistent across traces; the :class:`PseudonymKey` is never written anywhere),
:class:`Redact` and :class:`Mask`. Every scrubber sets ``Trace.scrubbed_by``;
:func:`require_scrubbed` is the guard stages call, :func:`no_scrubbing` the explicit
opt-out, :func:`audit` measures what is left and :func:`score_detections` measures
recall and precision on labelled text.
"""

from __future__ import annotations

from livingeval._public import publish
from livingeval.scrub._audit import AuditHit, AuditReport, audit
from livingeval.scrub._chain import (
    ChainScrubber,
    NoScrubbing,
    chain,
    default_scrubber,
    no_scrubbing,
    require_scrubbed,
    scrub_all,
)
from livingeval.scrub._detectors import iban_valid, luhn_valid
from livingeval.scrub._engine import ScrubResult, TextScrubResult
from livingeval.scrub._entities import Detection
from livingeval.scrub._evaluate import EntityScore, LabelledText, score_detections
from livingeval.scrub._modes import HmacTokens, Mask, Mode, Placeholders, PseudonymKey, Redact
from livingeval.scrub._ner import NERScrubber, find_spacy_model
from livingeval.scrub._presidio import PresidioScrubber
from livingeval.scrub._rules import RegexScrubber, UserPattern

__all__ = [
    "AuditHit",
    "AuditReport",
    "ChainScrubber",
    "Detection",
    "EntityScore",
    "HmacTokens",
    "LabelledText",
    "Mask",
    "Mode",
    "NERScrubber",
    "NoScrubbing",
    "Placeholders",
    "PresidioScrubber",
    "PseudonymKey",
    "Redact",
    "RegexScrubber",
    "ScrubResult",
    "TextScrubResult",
    "UserPattern",
    "audit",
    "chain",
    "default_scrubber",
    "find_spacy_model",
    "iban_valid",
    "luhn_valid",
    "no_scrubbing",
    "require_scrubbed",
    "score_detections",
    "scrub_all",
]

publish(globals(), __all__)
