"""The rule layer's fast path (gates, shape scans, skipped numbers) finds exactly what
the full detector set finds, so a prefilter can never silently drop a detection."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from livingeval import Message, Response, ToolCall, Trace
from livingeval.scrub import (
    Detection,
    HmacTokens,
    Placeholders,
    PseudonymKey,
    RegexScrubber,
    chain,
    scrub_all,
)
from livingeval.scrub._detectors import Gates, detect_rules, detect_rules_many
from livingeval.scrub._engine import _NOT_JSON, _json_value
from livingeval.scrub._entities import RULE_ENTITIES, merge_detections
from livingeval.scrub._shape import shape, word_trie
from tests.scrub.test_properties import cards, emails, ibans

ALL = frozenset(RULE_ENTITIES)

# Values of every rule type, in the forms the detectors know, and near-misses.
_PII = st.sampled_from(
    [
        "+1 (415) 555-0100",
        "415.555.0100 ext. 12",
        "call 555 0100",
        "078-05-1120",
        "SSN 078 05 1120",
        "192.168.0.1",
        "2001:db8::8a2e:370:7334",
        "00:1A:2b:3C:4d:5E",
        "https://admin:hunter2@db.example.com/x",
        "born 1990-04-12",
        "date of birth: 12/04/1990",
        "DOB April 12, 1990",
        "age 3.4.2001",
        "221B Baker Street",
        "1600 Pennsylvania Ave NW, Washington, DC 20500",
        "12 main st",
        "apt. 731",
        "Suite 300",
        "P.O. Box 15",
        "PSC 4926, Box 7979\nAPO AA 63682",
        "Hauptstraße 5",
        "Rue de Rivoli 12",
        "46 via roma 74",
        "ul. Karpacka 69",
        "53 Σκαφίδια 148\n10115 Berlin",
        "Springfield, IL 62704",
        "zip code 94110",
        "SW1A 1AA",
        "Grote Baan 477",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a1B2" * 9,
        "sk-proj-" + "Ab3" * 10,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
        "password=hunter2",
        "api_key: 9f8e7d6c5b4a39281706",
        "Authorization: Bearer abcDEF1234567890xyzXYZ",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----",
        "<PHONE_1>",
        "4111 1111 1111 1111",
    ]
)
# Noise: prose, numbers, street and unit words, punctuation, non-ASCII letters, spaces
# and digits (which switch the shape scans off), placeholders.
_WORDS = st.sampled_from(
    [
        "the", "way", "place", "court", "st", "Main", "Avenue", "box", "code", "unit",
        "address", "live at", "weeks", "of", "and", "Error", "is", "=", ":", "-", "#",
        "no.", "Apt", "CA", "AA", "APO", "rue", "via", "weg", "é", "Straße", "İ", "ſ",
        "٣", "３", "\xa0", "?", "(", ")", "'", '"', "{", "}", "[", "]", "_", ".", ",",
        "\t", "\n", "\x00", "key", "token", "bearer", "born", "phone",
    ]
)  # fmt: skip
_NUMBERS = st.from_regex(re.compile(r"[0-9]{1,6}([ .\-/][0-9]{1,5}){0,3}[A-Za-z]?"), fullmatch=True)
_PIECES = st.one_of(
    _PII,
    _WORDS,
    _NUMBERS,
    cards(),
    ibans(),
    emails,
    st.text(max_size=12),
    st.text(alphabet="0123456789 .-()/:aA", max_size=16),
)
_SEPARATORS = st.sampled_from([" ", "", "\n", ", ", "\t", ": ", " - "])


@st.composite
def mixed_texts(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(_PIECES, max_size=14))
    out = ""
    for piece in pieces:
        out += draw(_SEPARATORS) + piece
    return out


def _spans(found: list[Detection]) -> list[tuple[str, int, int]]:
    return sorted((d.entity, d.start, d.end) for d in found)


@given(mixed_texts())
@example("Visit 1600 Pennsylvania Ave NW, Washington, DC 20500 or call +1 415 555 0100")
@example("12 foo ct 3 and 4 Main 5\nSpringfield 62704")
@example("x\rCA 12345 and ٣ 221B Baker Street")
def test_fast_path_finds_exactly_what_the_full_detectors_find(text: str) -> None:
    fast = detect_rules(text, ALL)
    full = detect_rules(text, ALL, fast=False)
    assert _spans(fast) == _spans(full)
    assert merge_detections(fast) == merge_detections(full)


@given(st.lists(mixed_texts(), min_size=1, max_size=4))
def test_gates_of_a_joined_trace_change_nothing(texts: list[str]) -> None:
    joined = "\n\x00\n".join(texts)
    assert _spans(detect_rules(joined, ALL, Gates(joined))) == _spans(
        detect_rules(joined, ALL, fast=False)
    )


@given(mixed_texts(), st.sets(st.sampled_from(sorted(ALL)), min_size=1))
def test_fast_path_with_some_entities(text: str, wanted: set[str]) -> None:
    chosen = frozenset(wanted)
    assert _spans(detect_rules(text, chosen)) == _spans(detect_rules(text, chosen, fast=False))


def test_a_prefix_secret_before_a_separator_secret_is_found() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"
    text = f"{jwt} and AKIAIOSFODNN7EXAMPLE then ghp_{'a1B2' * 9}"
    assert [d.entity for d in merge_detections(detect_rules(text, ALL))] == ["SECRET"] * 3


def test_scrub_output_uses_the_fast_path_detections() -> None:
    text = "card 4111 1111 1111 1111, 221B Baker Street, jane@doe.org, ghp_" + "a1B2" * 9
    full = merge_detections(detect_rules(text, ALL, fast=False))
    assert [d.entity for d in full] == ["CARD", "ADDRESS", "EMAIL", "SECRET"]
    assert RegexScrubber().scrub_text(text) == ("card <CARD_1>, <ADDRESS_1>, <EMAIL_1>, <SECRET_1>")


@given(st.text())
def test_shape_keeps_offsets(text: str) -> None:
    shaped = shape(text)
    if shaped is None:
        assert any(c.isdecimal() and not c.isascii() for c in text)
        return
    assert len(shaped) == len(text)
    for ch, code in zip(text, shaped, strict=True):
        if "0" <= ch <= "9":
            assert code == ord("0")
        elif ch.isascii() and ch.isalpha():
            assert code == (ord("A") if ch.isupper() else ord("a"))
        elif not ch.isascii():
            assert code == ord("?")
        else:
            assert code == ord(ch)


@given(
    st.lists(st.text(alphabet="abc.", min_size=1, max_size=4), min_size=1, max_size=8),
    st.text(alphabet="abc. ", max_size=30),
)
def test_word_trie_matches_the_same_strings_as_the_alternation(words: list[str], text: str) -> None:
    trie = re.compile(f"(?:{word_trie(words)})$")
    plain = re.compile(f"(?:{'|'.join(map(re.escape, words))})$")
    for i in range(len(text) + 1):
        for j in range(i, len(text) + 1):
            assert (trie.match(text, i, j) is None) == (plain.match(text, i, j) is None)


_json_strings = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=5)


def _json_reference(text: str) -> object:
    if text.lstrip()[:1] not in ("{", "["):
        return _NOT_JSON
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _NOT_JSON


@given(
    st.one_of(
        st.text(alphabet=' \t\n\xa0{}[]"-0123456789tfnabc:,', max_size=12),
        st.recursive(
            st.none() | st.booleans() | st.integers(-(2**40), 2**40) | _json_strings,
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(_json_strings, inner, max_size=3)
            ),
        ).map(lambda v: orjson.dumps(v).decode()),
    ),
    st.sampled_from(["", " ", "\n ", "\xa0"]),
)
def test_json_precheck_rejects_only_what_cannot_parse(text: str, pad: str) -> None:
    for candidate in (text, pad + text, text + pad):
        assert _json_value(candidate) == _json_reference(candidate)


# --------------------------------------------------------------------------- batch path

# Pieces that reach across a join if a look-around were not clamped: context words at a
# text's end, a number or an address line at the next text's start, an open
# private-key block, postal lines, lower-case street words, birth words.
_EDGES = st.sampled_from(
    [
        "call", "phone:", "SSN", "born", "date of birth", "age", "address:", "zip code",
        "token", "password =", "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----",
        "12 main", "st", "Apt", "\nSpringfield, IL 62704", "\n10115", "APO AE", "09012",
        "555 0100", "12/04/1990", "12 Baker", "Street", "aa:bb:cc:dd:ee:ff", "fe80::1",
        "DE89", "3704 0044 0532 0130 00", "https://u:p@", "a@", "@b.io", "ghp_",
    ]
)  # fmt: skip


@st.composite
def edged_texts(draw: st.DrawFn) -> str:
    """A mixed text that often starts and ends with a piece that looks across a join."""
    head = draw(st.lists(_EDGES, max_size=2))
    tail = draw(st.lists(_EDGES, max_size=2))
    return " ".join([*head, draw(mixed_texts()), *tail])


@given(st.lists(st.one_of(edged_texts(), mixed_texts()), max_size=8))
@example(["call", "555 0100"])
@example(["12 Main Street", "Springfield, IL 62704"])
@example(["-----BEGIN RSA PRIVATE KEY-----\nMIIB", "x\n-----END RSA PRIVATE KEY-----"])
@example(["born", "12/04/1990", "é"])
@example(["aa:bb:cc:dd:ee:ff", "1"])
@example(
    ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "ghp_" + "a1B2" * 9]
)
def test_batch_detection_equals_each_text_alone(texts: list[str]) -> None:
    batch = detect_rules_many(texts, ALL)
    assert [_spans(found) for found in batch] == [_spans(detect_rules(t, ALL)) for t in texts]


@given(
    st.lists(st.one_of(edged_texts(), mixed_texts()), max_size=6),
    st.sets(st.sampled_from(sorted(ALL)), min_size=1),
)
def test_batch_detection_with_some_entities(texts: list[str], wanted: set[str]) -> None:
    chosen = frozenset(wanted)
    batch = detect_rules_many(texts, chosen)
    assert [_spans(found) for found in batch] == [_spans(detect_rules(t, chosen)) for t in texts]


_TS = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def traces(draw: st.DrawFn) -> Trace:
    texts = draw(st.lists(st.one_of(edged_texts(), mixed_texts()), min_size=1, max_size=4))
    value = draw(st.one_of(edged_texts(), mixed_texts()))
    arguments = draw(
        st.sampled_from(
            [
                orjson.dumps({"note": value, "password": "hunter2"}).decode(),
                orjson.dumps([value, {"email": value}]).decode(),
                '{"truncated": "' + value,
            ]
        )
    )
    messages = tuple(Message(role="user", content=t) for t in texts)
    messages += (Message(role="assistant", tool_calls=(ToolCall(name="f", arguments=arguments),)),)
    return Trace(id="t", timestamp=_TS, messages=messages, response=Response(content=value))


_KEY = PseudonymKey(b"0123456789abcdef0123456789abcdef")


@given(st.lists(traces(), max_size=6), st.sampled_from(["placeholders", "hmac"]))
def test_scrub_many_equals_scrub(batch: list[Trace], mode: str) -> None:
    scrubber = RegexScrubber(mode=HmacTokens(key=_KEY) if mode == "hmac" else Placeholders())
    expected = [scrubber.scrub_with_report(t) for t in batch]
    assert scrubber.scrub_many_with_report(batch) == expected
    assert scrubber.scrub_many(batch) == [r.trace for r in expected]
    assert chain(scrubber).scrub_many(batch) == [chain(scrubber).scrub(t) for t in batch]


@given(st.lists(st.one_of(edged_texts(), mixed_texts()), max_size=8))
def test_scrub_texts_equals_scrub_text(texts: list[str]) -> None:
    scrubber = RegexScrubber()
    assert scrubber.scrub_texts(texts) == [scrubber.scrub_text(t) for t in texts]
    expected = [scrubber.scrub_text_with_report(t) for t in texts]
    assert scrubber.scrub_texts_with_report(texts) == expected


def test_batch_keeps_pseudonyms_per_trace_and_across_traces_with_a_key() -> None:
    one = Trace(
        id="a",
        timestamp=_TS,
        messages=(Message(role="user", content="b@c.io then a@b.io and b@c.io"),),
    )
    two = Trace(id="b", timestamp=_TS, messages=(Message(role="user", content="a@b.io"),))
    plain = RegexScrubber().scrub_many([one, two])
    assert plain[0].messages[0].content == "<EMAIL_1> then <EMAIL_2> and <EMAIL_1>"
    assert plain[1].messages[0].content == "<EMAIL_1>"  # numbering restarts per trace
    keyed = RegexScrubber(mode=HmacTokens(key=_KEY)).scrub_many([one, two])
    token = keyed[1].messages[0].content
    assert token is not None
    assert token.startswith("<EMAIL_")
    assert token in (keyed[0].messages[0].content or "")  # same value, same token


def test_scrub_all_uses_the_batch_path_or_falls_back() -> None:
    class PerTrace:
        def scrub(self, trace: Trace) -> Trace:
            return RegexScrubber().scrub(trace)

        def scrub_text(self, text: str) -> str:
            return text

    trace = Trace(id="a", timestamp=_TS, messages=(Message(role="user", content="a@b.io"),))
    assert scrub_all(PerTrace(), [trace]) == [RegexScrubber().scrub(trace)]
    assert scrub_all(RegexScrubber(), [trace]) == [RegexScrubber().scrub(trace)]
    layered = chain(RegexScrubber(entities={"PHONE"}), PerTrace())
    assert layered.scrub_many([trace]) == [layered.scrub(trace)]


# Dates, birth words and the context words of phones and SSNs, with the characters a
# case-insensitive match folds ("ſ" is "s", "K" is "k"): the date candidates, the
# context hints and the date pre-check must change nothing.
_DATE_PIECES = st.one_of(
    st.from_regex(re.compile(r"[0-9]{1,5}([/.\-][0-9]{1,5}){1,3}"), fullmatch=True),
    st.sampled_from(
        [
            "born", "birth", "DOB", "d.o.b", "b. date", "age", "on", "May", "sept", "12th",
            "of", "1990", "Dec.", "call", "tel", "Phone", "fax", "ſms", "SSN", "ſſn",
            "social security", "tax id", "whatsapp", "text me", "numbers", "(", "/", "-",
            ".", "x", "ext. 12", "é", "٣", "<PHONE_1>",
        ]
    ),
    st.text(alphabet="0123456789 ./-", max_size=12),
)  # fmt: skip


@st.composite
def date_texts(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(_DATE_PIECES, max_size=12))
    return "".join(draw(st.sampled_from([" ", "", ", ", "\n"])) + p for p in pieces)


@given(date_texts())
@example("born 12/04/1990 and 1/2/03")
@example("born 123456-7 x-12/05/1990 05/06/1990")
@example("call 415 5550 ſms 555 0100 ſſn 078 05 1120")
def test_dates_and_contexts_fast_path_equals_full(text: str) -> None:
    assert _spans(detect_rules(text, ALL)) == _spans(detect_rules(text, ALL, fast=False))
    assert [_spans(f) for f in detect_rules_many([text, text], ALL)] == [
        _spans(detect_rules(text, ALL, fast=False))
    ] * 2


@given(date_texts(), st.integers(0, 8), st.integers(0, 8))
def test_date_candidates_equal_the_date_regex(text: str, cut_lo: int, cut_hi: int) -> None:
    from livingeval.scrub._detectors import _DATE, _dates

    shaped = shape(text)
    if shaped is None:
        return
    lo, hi = min(cut_lo, len(text)), max(min(cut_lo, len(text)), len(text) - cut_hi)
    assert [m.span() for m in _dates(text, shaped, lo, hi)] == [
        m.span() for m in _DATE.finditer(text, lo, hi)
    ]


@given(date_texts())
@example("ſſn 078 05 1120")
@example("te\u212aT me")
def test_context_hints_change_no_context_decision(text: str) -> None:
    # _context skips the regex when no hint occurs in an ASCII window; the decision must
    # be the regex's own at every position, for every pattern that has hints.
    from livingeval.scrub._detectors import _CONTEXT_HINTS, _context

    for pattern in _CONTEXT_HINTS:
        # The same regex as another object, which has no hints: the reference.
        plain = re.compile(pattern.pattern + "(?:)")
        assert plain not in _CONTEXT_HINTS
        for start in range(len(text) + 1):
            for end in (start, min(len(text), start + 7)):
                assert _context(text, start, end, pattern) == _context(text, start, end, plain)
