"""The NER layer's context rules and gazetteers, on sentences written by hand.

The model is a stub that finds nothing, so every hit here comes from the rules; the
sentences use names, places and phrasings the benchmark's generator does not.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from livingeval.scrub import NERScrubber


def nothing(text: str) -> Iterable[tuple[int, int, str]]:
    return []


RULES = NERScrubber(model=nothing)


def found(text: str) -> list[tuple[str, str]]:
    return [(d.entity, text[d.start : d.end]) for d in RULES.detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, my name is Oluwaseun Adeyemi.", [("PERSON", "Oluwaseun Adeyemi")]),
        ("please escalate to Mrs. Nakamura today", [("PERSON", "Mrs. Nakamura")]),
        ("my name is olga petrenko", [("PERSON", "olga petrenko")]),
        ("I moved to Tromsø in March", [("LOCATION", "Tromsø")]),
        ("She is from Wagga Wagga originally", [("LOCATION", "Wagga Wagga")]),
        (
            "Flights from Chicago to Denver are full",
            [("LOCATION", "Chicago"), ("LOCATION", "Denver")],
        ),
        ("We met Patricia Gomez at the airport", [("PERSON", "Patricia Gomez")]),
        ("Here is Ngozi's address: see below", [("PERSON", "Ngozi")]),
        ("The parcel went to 4 Elm Road, Dunfermline.", [("LOCATION", "Dunfermline")]),
    ],
)
def test_rules_find_people_and_places(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_address_block_lines_are_places() -> None:
    text = "Ship to:\n9 Quay Street\nFlat 2\nWhitby\nUnited Kingdom YO21 1DH"
    assert ("LOCATION", "Whitby") in found(text)
    assert ("LOCATION", "United Kingdom") in found(text)


def test_names_listed_with_a_person_are_people() -> None:
    assert found("The founders were Patricia Gomez, Okonkwo and Haraldsen.") == [
        ("PERSON", "Patricia Gomez"),
        ("PERSON", "Okonkwo"),
        ("PERSON", "Haraldsen"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Will you reset my password?",
        "May I pay in June?",
        "Reading the manual helped a lot.",
        "The invoice is due on Monday.",
        "call me at home tomorrow",
        "Thanks for the quick reply!",
    ],
)
def test_common_words_that_are_also_names_stay(text: str) -> None:
    assert found(text) == []


def test_rules_can_be_switched_off() -> None:
    layer = NERScrubber(model=nothing, rules=False)
    assert layer.detect("my name is Oluwaseun Adeyemi") == ()
    assert layer.fingerprint != RULES.fingerprint
