"""The rule layer: what it catches, what it leaves, and how it replaces."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from livingeval import Message, Response, ToolCall, Trace
from livingeval.errors import ConfigError
from livingeval.scrub import (
    HmacTokens,
    Mask,
    PseudonymKey,
    Redact,
    RegexScrubber,
    UserPattern,
    default_scrubber,
)
from livingeval.testing import check_scrubber, sample_trace

RULES = RegexScrubber()


def entities(text: str) -> list[str]:
    return [d.entity for d in RULES.detect(text)]


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        (
            "write to jane.doe+eval@mail.example.co.uk today",
            "EMAIL",
            "jane.doe+eval@mail.example.co.uk",
        ),
        ("call +1 (415) 555-0100 now", "PHONE", "+1 (415) 555-0100"),
        ("Tel: 020 7946 0958.", "PHONE", "020 7946 0958"),
        ("ring 06-10446904 office", "PHONE", "06-10446904"),
        ("fax 001-748-088-2851x818", "PHONE", "001-748-088-2851x818"),
        ("call me on +49 30 901820", "PHONE", "+49 30 901820"),
        ("card 4111-1111-1111-1111 exp 12/27", "CARD", "4111-1111-1111-1111"),
        ("amex 378282246310005.", "CARD", "378282246310005"),
        ("IBAN: GB82 WEST 1234 5698 7654 32 thanks", "IBAN", "GB82 WEST 1234 5698 7654 32"),
        ("iban de89370400440532013000", "IBAN", "de89370400440532013000"),
        ("my ssn is 078-05-1120", "SSN", "078-05-1120"),
        ("social security number 078 05 1120", "SSN", "078 05 1120"),
        ("from 192.168.10.254 at noon", "IP", "192.168.10.254"),
        ("v6 2001:db8:85a3::8a2e:370:7334 ok", "IP", "2001:db8:85a3::8a2e:370:7334"),
        ("mac 00:1A:2B:3C:4D:5E seen", "MAC", "00:1A:2B:3C:4D:5E"),
        ("dsn postgres://admin:s3cr3t@db.internal:5432/app", "URL_CREDENTIALS", "admin:s3cr3t"),
        ("I was born on 12 March 1980.", "DATE_OF_BIRTH", "12 March 1980"),
        ("DOB: 1980-03-12", "DATE_OF_BIRTH", "1980-03-12"),
        ("ship to 221B Baker Street, Apt 4 please", "ADDRESS", "221B Baker Street, Apt 4"),
        ("Wohnung Hauptstraße 5 in Berlin", "ADDRESS", "Hauptstraße 5"),
        ("key AKIAIOSFODNN7EXAMPLE leaked", "SECRET", "AKIAIOSFODNN7EXAMPLE"),
        ("token ghp_" + "a1B2" * 9 + " used", "SECRET", "ghp_" + "a1B2" * 9),
        (
            "OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t",
            "SECRET",
            "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t",
        ),
        ("Authorization: Bearer abc123DEF456ghi789JKL", "SECRET", "abc123DEF456ghi789JKL"),
        ('{"password": "hunter22"}', "SECRET", "hunter22"),
        ("client_secret = 9f8e7d6c5b4a39281706", "SECRET", "9f8e7d6c5b4a39281706"),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "SECRET",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ),
    ],
)
def test_detects_each_entity_type(text: str, entity: str, value: str) -> None:
    found = [(d.entity, text[d.start : d.end]) for d in RULES.detect(text)]
    assert (entity, value) in found


def test_private_key_block_is_one_secret_even_when_truncated() -> None:
    block = (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7v\nZ9kq==\n-----END RSA PRIVATE KEY-----"
    )
    assert RULES.scrub_text(f"key:\n{block}\nbye") == "key:\n<SECRET_1>\nbye"
    truncated = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
    assert "MIIEvQ" not in RULES.scrub_text(truncated)


@pytest.mark.parametrize(
    "text",
    [
        "Order 12345 shipped in 2024, version 3.8.0, 10:30 meeting",
        "The answer is 42 and the year 1999 was fine",
        "card 4111 1111 1111 1112 fails Luhn",
        "a keyword argument and a monkey",
        "my token_type is bearer",
        "Timestamp 2007-03-23 18:43:36 in the log",
        "std::vector<int> and a::b",
        "password: <SECRET_1>",
    ],
)
def test_leaves_ordinary_text_alone(text: str) -> None:
    assert RULES.detect(text) == ()
    assert RULES.scrub_text(text) == text


def test_iban_needs_a_valid_checksum() -> None:
    assert "IBAN" not in entities("GB82 WEST 1234 5698 7654 33 fails mod-97")
    assert "IBAN" in entities("GB82 WEST 1234 5698 7654 32 passes")


def test_short_national_numbers_need_phone_context() -> None:
    assert entities("They're not answering at 785 8949") == ["PHONE"]
    assert entities("batch 785 8949 was packed") == []
    assert entities("My driver's license number is 425700624") == []


def test_placeholders_are_consistent_within_a_trace() -> None:
    trace = Trace(
        id="t",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        messages=(
            Message(role="system", content="Customer: ann@x.io"),
            Message(role="user", content="I'm ANN@x.io, also bob@y.io"),
            Message(
                role="assistant",
                tool_calls=(ToolCall(name="f", arguments='{"to": ["bob@y.io", "ann@x.io"]}'),),
            ),
        ),
        response=Response(content="Mailed bob@y.io"),
    )
    out = RULES.scrub(trace)
    assert out.messages[0].content == "Customer: <EMAIL_1>"
    assert out.messages[1].content == "I'm <EMAIL_1>, also <EMAIL_2>"
    assert orjson.loads(out.messages[2].tool_calls[0].arguments) == {
        "to": ["<EMAIL_2>", "<EMAIL_1>"]
    }
    assert out.response is not None
    assert out.response.content == "Mailed <EMAIL_2>"
    # numbering restarts with each trace
    again = RULES.scrub(attrs_evolve_id(trace, "t2"))
    assert again.messages[1].content == out.messages[1].content


def attrs_evolve_id(trace: Trace, new_id: str) -> Trace:
    import attrs

    return attrs.evolve(trace, id=new_id)


def test_json_arguments_keep_structure_and_invalid_json_is_scrubbed_as_text() -> None:
    args = '{"user": {"email": "a@b.io", "age": 31, "tags": ["x", "c@d.io"]}, "n": null}'
    call = ToolCall(name="f", arguments=args)
    broken = ToolCall(name="g", arguments='{"email": "a@b.io", "note": "call +1 415 555')
    trace = Trace(
        id="t",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        messages=(
            Message(role="assistant", tool_calls=(call, broken)),
            Message(role="tool", content='{"owner": "c@d.io", "ok": true}', tool_call_id="1"),
        ),
    )
    out = RULES.scrub(trace)
    first, second = out.messages[0].tool_calls
    assert orjson.loads(first.arguments) == {
        "user": {"email": "<EMAIL_1>", "age": 31, "tags": ["x", "<EMAIL_2>"]},
        "n": None,
    }
    assert second.is_malformed
    assert second.arguments == '{"email": "<EMAIL_1>", "note": "call <PHONE_1>'
    assert orjson.loads(out.messages[1].content or "") == {"owner": "<EMAIL_2>", "ok": True}


def test_unchanged_json_keeps_its_original_formatting() -> None:
    call = ToolCall(name="f", arguments='{ "city" : "Paris" }')
    trace = Trace(
        id="t",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        messages=(Message(role="assistant", tool_calls=(call,)),),
    )
    assert RULES.scrub(trace).messages[0].tool_calls[0].arguments == '{ "city" : "Paris" }'


def test_secret_json_keys_scrub_their_values_whatever_they_look_like() -> None:
    out = RULES.scrub_text('{"api_key": "plainword", "user_password": "pw12", "city": "Rome"}')
    assert orjson.loads(out) == {
        "api_key": "<SECRET_1>",
        "user_password": "<SECRET_2>",
        "city": "Rome",
    }


def test_metadata_is_scrubbed_only_on_request() -> None:
    trace = attrs_evolve_meta(sample_trace(), {"tenant": "acme", "owner": "ops@acme.com", "n": 3})
    assert RULES.scrub(trace).metadata["owner"] == "ops@acme.com"
    out = RegexScrubber(scrub_metadata=True).scrub(trace).metadata
    assert out == {"tenant": "acme", "owner": "<EMAIL_2>", "n": 3}


def attrs_evolve_meta(trace: Trace, meta: dict[str, object]) -> Trace:
    import attrs

    return attrs.evolve(trace, metadata=meta)


def test_allow_list_and_allow_patterns_keep_values() -> None:
    s = RegexScrubber(allow=("Support@Acme.com",), allow_patterns=(r".*@acme\.internal",))
    text = "support@acme.com, ops@acme.internal, jane@doe.org"
    assert s.scrub_text(text) == "support@acme.com, ops@acme.internal, <EMAIL_1>"


def test_user_patterns_with_and_without_a_value_group() -> None:
    s = RegexScrubber(
        patterns=(
            UserPattern(entity="EMPLOYEE_ID", regex=r"EMP-\d{6}"),
            UserPattern(entity="TICKET", regex=r"ticket #(?P<value>\d{4})"),
        )
    )
    assert (
        s.scrub_text("EMP-123456 filed ticket #9876") == "<EMPLOYEE_ID_1> filed ticket #<TICKET_1>"
    )
    assert s.fingerprint != RULES.fingerprint


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"entity": "employee id", "regex": "x"}, "entity"),
        ({"entity": "X", "regex": "("}, "regex"),
        ({"entity": "X", "regex": "a*"}, "regex"),
    ],
)
def test_bad_user_patterns_say_what_to_fix(kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        UserPattern(**kwargs)
    assert info.value.field == field


def test_unknown_entities_are_rejected_with_the_known_list() -> None:
    with pytest.raises(ConfigError, match="NER layer"):
        RegexScrubber(entities={"PERSON"})


def test_entities_restrict_what_is_scrubbed() -> None:
    s = RegexScrubber(entities={"EMAIL"})
    assert s.scrub_text("a@b.io +1 415 555 0100") == "<EMAIL_1> +1 415 555 0100"


def test_modes() -> None:
    text = "mail a@b.io, card 4111 1111 1111 1111, mail a@b.io"
    assert (
        RegexScrubber(mode=Redact()).scrub_text(text) == "mail <EMAIL>, card <CARD>, mail <EMAIL>"
    )
    assert RegexScrubber(mode=Redact(keep_type=False)).scrub_text(text).count("<REDACTED>") == 3
    masked = RegexScrubber(mode=Mask(keep_last=4)).scrub_text(text)
    assert masked == "mail *@*.**, card **** **** **** 1111, mail *@*.**"
    key = PseudonymKey(b"0" * 32)
    hmac_text = RegexScrubber(mode=HmacTokens(key=key)).scrub_text(text)
    tokens = [w for w in hmac_text.replace(",", " ").split() if w.startswith("<")]
    assert tokens[0] == tokens[2] != tokens[1]
    assert tokens[0].startswith("<EMAIL_")
    assert len(tokens[0]) == len("<EMAIL_>") + 12
    with pytest.raises(ConfigError):
        Mask(char="x")
    with pytest.raises(ConfigError):
        Mask(keep_last=9)


def test_hmac_tokens_are_stable_across_traces_and_differ_by_key() -> None:
    a = RegexScrubber(mode=HmacTokens(key=PseudonymKey(b"a" * 32)))
    b = RegexScrubber(mode=HmacTokens(key=PseudonymKey(b"b" * 32)))
    one = a.scrub(sample_trace("t1")).messages[1].content
    two = a.scrub(sample_trace("t2")).messages[1].content
    other = b.scrub(sample_trace("t1")).messages[1].content
    assert one == two != other


def test_fingerprints_are_stable_and_describe_the_configuration() -> None:
    assert RegexScrubber().fingerprint == RULES.fingerprint
    assert RULES.fingerprint.startswith("regex/1:placeholder:")
    assert RegexScrubber(allow=("x@y.z",)).fingerprint != RULES.fingerprint
    assert "x@y.z" not in RegexScrubber(allow=("x@y.z",)).fingerprint
    assert RULES.scrub(sample_trace()).scrubbed_by == RULES.fingerprint


@pytest.mark.parametrize(
    "scrubber",
    [
        RegexScrubber(),
        RegexScrubber(mode=Redact()),
        RegexScrubber(mode=Mask(keep_last=4)),
        RegexScrubber(mode=HmacTokens(key=PseudonymKey(b"k" * 32))),
        RegexScrubber(scrub_metadata=True),
        default_scrubber(ner=False),
    ],
    ids=["placeholder", "redact", "mask", "hmac", "metadata", "default-rules"],
)
def test_conformance(scrubber: RegexScrubber) -> None:
    check_scrubber(
        scrubber, secrets=["jane.doe@example.com", "4111 1111 1111 1111", "415 555 0100"]
    )


def test_report_counts_per_entity() -> None:
    result = RULES.scrub_with_report(sample_trace())
    assert result.counts == {"EMAIL": 2, "PHONE": 1, "CARD": 1}
    assert result.total == 4
    assert RULES.scrub_text_with_report("x").counts == {}


def test_existing_placeholders_are_kept_and_numbering_continues() -> None:
    text = "<EMAIL_1> wrote to new@x.io"
    assert RULES.scrub_text(text) == "<EMAIL_1> wrote to <EMAIL_2>"


def test_unicode_lowercasing_keeps_offsets() -> None:
    text = "İİİ password: hunter22 İ"
    assert RULES.scrub_text(text) == "İİİ password: <SECRET_1> İ"


def test_url_credentials_without_digits_are_caught() -> None:
    # Regression: the network detectors once ran only on text holding a digit.
    text = "clone https://admin:hunter@example.com/repo"
    assert RegexScrubber().scrub_text(text) == "clone https://<URL_CREDENTIALS_1>@example.com/repo"
