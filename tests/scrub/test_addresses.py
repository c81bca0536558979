"""The rule layer's street-address detector, on addresses written by hand.

These are written in styles the benchmark's generator does not use (US one-line forms
with directions and units, UK flats and postcodes, German/French/Spanish/Nordic
number-last forms, lower-case chat, military mail), plus prose with numbers next to
street-like words that must stay.
"""

from __future__ import annotations

import pytest

from livingeval.scrub import RegexScrubber

ADDRESSES = RegexScrubber(entities={"ADDRESS"})


def spans(text: str) -> list[str]:
    return [text[d.start : d.end] for d in ADDRESSES.detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Please ship it to 742 Evergreen Terrace, Springfield, OR 97403 by Friday.",
            ["742 Evergreen Terrace, Springfield, OR 97403"],
        ),
        (
            "HQ: 1600 Pennsylvania Ave NW, Washington, DC 20500",
            ["1600 Pennsylvania Ave NW, Washington, DC 20500"],
        ),
        ("I moved to 55 W 14th St Apt 3C last month", ["55 W 14th St Apt 3C"]),
        ("mail goes to PO Box 1234, Austin, TX 78701", ["PO Box 1234, Austin, TX 78701"]),
        ("Wir wohnen in der Lindenstraße 23, 10969 Berlin.", ["Lindenstraße 23, 10969 Berlin"]),
        ("Adresse : 8 rue de la Paix, 75002 Paris", ["8 rue de la Paix, 75002 Paris"]),
        ("Oficina en Calle de Alcalá 45, Madrid", ["Calle de Alcalá 45"]),
        ("ci vediamo in Piazza Navona 12 alle otto", ["Piazza Navona 12"]),
        ("my new place is 4 privet drive, come by", ["4 privet drive"]),
        ("Bo på Karl Johans vei 22, 0162 Oslo", ["Karl Johans vei 22, 0162 Oslo"]),
        ("Kontor: Nørrebrogade 12, 2200 København", ["Nørrebrogade 12, 2200 København"]),
        ("the room is Suite 400 on the left", ["Suite 400"]),
        ("Sgt. Lee, PSC 1234, Box 5678, APO AE 09012", ["PSC 1234, Box 5678, APO AE 09012"]),
        ("postcode is SW1A 2AA, thanks", ["SW1A 2AA"]),
        ("my zip code is 94110", ["94110"]),
        ("Springfield, IL 62704 is where the office is", ["Springfield, IL 62704"]),
    ],
)
def test_finds_handwritten_addresses(text: str, expected: list[str]) -> None:
    assert spans(text) == expected


def test_multiline_block_keeps_town_and_country_for_the_ner_layer() -> None:
    text = "Jo Bloggs\n12 Harbour Road\nFlat 3\nPenzance\nUnited Kingdom TR18 4AA"
    assert spans(text) == ["12 Harbour Road", "TR18 4AA"]


def test_block_without_street_word_needs_a_unit_or_postal_line() -> None:
    assert spans("17 Kalevi 5\nApt. 12\nTartu") == ["17 Kalevi 5", "Apt. 12"]
    assert spans("Order 17 Kalevi 5 arrived") == []


@pytest.mark.parametrize(
    "text",
    [
        "We walked 5 miles down the road to the lake.",
        "Take 2 pills Dr. Smith said, then rest.",
        "Windows 10 and Python 3 are installed on 4 machines",
        "the meeting is on floor 3 in room 12",
        "I sent it via email 5 times already",
        "Boarding at gate 5, the committee 3 votes, brigade 2 and guarantee 4",
        "An aggregate 5 and a delegate 3 walked into route 66",
        "Score: 3 Park 2 after the first half",
        "Street Fighter 2 and Mario Kart 8 are on sale",
        "Book the Plaza Hotel in New York for 3 nights",
        "It took 30 degrees. The lane was closed.",
    ],
)
def test_prose_with_numbers_is_not_an_address(text: str) -> None:
    assert spans(text) == []
