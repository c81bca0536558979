"""Property tests: idempotence, guaranteed catches, valid JSON, consistent pseudonyms."""

from __future__ import annotations

import string

import attrs
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from livingeval import Message, ToolCall, Trace
from livingeval.scrub import Mask, Redact, RegexScrubber, iban_valid, luhn_valid
from tests.strategies import json_objects, traces

RULES = RegexScrubber()
MODES = st.sampled_from([RULES, RegexScrubber(mode=Redact()), RegexScrubber(mode=Mask())])

# Arbitrary text, but separated from the value by a character that cannot be part of it.
_noise = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
_sep = st.sampled_from([" ", "\n", "\t", ", ", ": ", "(", ")", '"', "; "])


def _luhn_complete(prefix_and_body: str) -> str:
    for check in string.digits:
        if luhn_valid(prefix_and_body + check):
            return prefix_and_body + check
    raise AssertionError("unreachable")  # pragma: no cover


@st.composite
def cards(draw: st.DrawFn) -> str:
    prefix, length = draw(
        st.sampled_from(
            [
                ("4", 16),
                ("4", 13),
                ("51", 16),
                ("55", 16),
                ("2221", 16),
                ("34", 15),
                ("37", 15),
                ("6011", 16),
                ("65", 16),
            ]
        )
    )
    body = draw(
        st.text(
            alphabet=string.digits,
            min_size=length - len(prefix) - 1,
            max_size=length - len(prefix) - 1,
        )
    )
    number = _luhn_complete(prefix + body)
    style = draw(st.sampled_from(["plain", "space4", "dash4"]))
    if style == "plain" or length != 16:
        return number
    sep = " " if style == "space4" else "-"
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


_IBAN_LENGTHS = {
    "GB": 22,
    "DE": 22,
    "FR": 27,
    "NL": 18,
    "ES": 24,
    "IT": 27,
    "BE": 16,
    "CH": 21,
    "PL": 28,
    "SE": 24,
}


@st.composite
def ibans(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from(sorted(_IBAN_LENGTHS)))
    n = _IBAN_LENGTHS[country] - 4
    bban = draw(st.text(alphabet=string.digits + string.ascii_uppercase, min_size=n, max_size=n))
    rearranged = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in rearranged)) % 97
    iban = f"{country}{check:02d}{bban}"
    assert iban_valid(iban)
    if draw(st.booleans()):
        iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban.lower() if draw(st.booleans()) and not draw(st.booleans()) else iban


_label = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12)
emails = st.builds(
    lambda local, sep, extra, domain, tld: f"{local}{sep}{extra}@{domain}.{tld}",
    _label,
    st.sampled_from(["", ".", "_", "+", "-"]),
    st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=8),
    st.lists(_label, min_size=1, max_size=3).map(".".join),
    st.sampled_from(["com", "org", "io", "co.uk", "de", "museum"]),
)


def _embedded(value: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, str]]:
    return st.tuples(_noise, _sep, value, _sep, _noise).map(
        lambda t: (t[0] + t[1] + t[2] + t[3] + t[4], t[2])
    )


@given(_embedded(cards()))
def test_valid_cards_in_arbitrary_text_are_always_caught(case: tuple[str, str]) -> None:
    text, card = case
    assert card not in RULES.scrub_text(text)


@given(_embedded(ibans()))
def test_valid_ibans_in_arbitrary_text_are_always_caught(case: tuple[str, str]) -> None:
    text, iban = case
    assert iban not in RULES.scrub_text(text)
    at = text.index(iban)
    assert any(
        d.entity == "IBAN" and d.start <= at and d.end >= at + len(iban) for d in RULES.detect(text)
    ), "the whole IBAN must be one detection"


@given(_embedded(emails))
def test_emails_in_arbitrary_text_are_always_caught(case: tuple[str, str]) -> None:
    text, email = case
    assert email not in RULES.scrub_text(text)


@given(st.text(max_size=200), MODES)
def test_scrub_text_is_idempotent(text: str, scrubber: RegexScrubber) -> None:
    once = scrubber.scrub_text(text)
    assert scrubber.scrub_text(once) == once


@given(
    st.lists(
        st.one_of(_noise, cards(), ibans(), emails, st.just("+1 (415) 555-0100")), max_size=8
    ).map(" ".join),
    MODES,
)
def test_scrub_text_with_pii_is_idempotent(text: str, scrubber: RegexScrubber) -> None:
    once = scrubber.scrub_text(text)
    assert scrubber.scrub_text(once) == once


@given(traces)
def test_scrub_trace_is_idempotent_and_keeps_shape(trace: Trace) -> None:
    once = RULES.scrub(trace)
    assert RULES.scrub(once) == once
    assert len(once.messages) == len(trace.messages)
    assert once.scrubbed_by == RULES.fingerprint


@given(json_objects, st.lists(emails, min_size=1, max_size=3))
def test_json_arguments_stay_parseable(obj: dict[str, object], addresses: list[str]) -> None:
    obj = {**obj, "contact": addresses, "nested": {"note": f"mail {addresses[0]} now"}}
    arguments = orjson.dumps(obj).decode()
    trace = Trace(
        id="t",
        timestamp=__import__("datetime").datetime(2026, 1, 1, tzinfo=__import__("datetime").UTC),
        messages=(
            Message(role="assistant", tool_calls=(ToolCall(name="f", arguments=arguments),)),
        ),
    )
    out = RULES.scrub(trace).messages[0].tool_calls[0]
    parsed = out.parsed_arguments()
    assert set(parsed) == set(obj)
    for address in addresses:
        assert address not in out.arguments


@given(
    st.lists(emails, min_size=1, max_size=4, unique_by=str.lower), st.randoms(use_true_random=False)
)
def test_pseudonyms_are_consistent_within_a_trace(addresses: list[str], rnd: object) -> None:
    import random

    assert isinstance(rnd, random.Random)
    mentions = [rnd.choice(addresses) for _ in range(6)]
    messages = tuple(Message(role="user", content=f"from {a} ok") for a in mentions)
    trace = Trace(
        id="t",
        timestamp=__import__("datetime").datetime(2026, 1, 1, tzinfo=__import__("datetime").UTC),
        messages=messages,
    )
    out = RULES.scrub(trace)
    seen: dict[str, str] = {}
    for address, message in zip(mentions, out.messages, strict=True):
        token = (message.content or "").split()[1]
        assert token.startswith("<EMAIL_")
        assert seen.setdefault(address.lower(), token) == token
    assert len(set(seen.values())) == len(seen)  # different values, different placeholders
    assert attrs.evolve(out, scrubbed_by=None) != trace


@pytest.mark.parametrize(
    ("text", "inner"),
    [
        ("from DE44500105175407324931@bank.de ok", "IBAN"),
        ("from 4111111111111111@x.com ok", "CARD"),
        ("from 123-45-6789@x.com ok", "SSN"),
    ],
)
def test_a_value_inside_an_email_is_labelled_as_the_email(text: str, inner: str) -> None:
    """Found by the pseudonym property: an email whose local part is a valid IBAN was
    scrubbed whole but labelled ``<IBAN_1>``; the enclosing value's type is the label."""
    assert RULES.scrub_text(text) == "from <EMAIL_1> ok"
    local_part = text.split()[1].split("@")[0]
    assert RULES.scrub_text(local_part) == f"<{inner}_1>"  # the inner value alone is found
