"""The rule layer's detectors: cheap prefilters, a few fast regexes, then validation.

Design for speed (the rule layer must scrub >= 20 MB/s of trace text on one core):

- every detector is guarded by a substring prefilter (``"@" in text``, ``"://"``, a digit,
  a secret keyword) so prose without candidates costs a few ``str.__contains__`` calls;
- all digit-shaped data (cards, SSNs, phones, IPv4, dates) comes from ONE regex pass that
  finds maximal runs of digit groups; each run is classified in Python by checksum
  (Luhn), shape and context, so adding a digit type does not add a pass;
- emails are found by locating ``@`` and expanding around it, not by a regex that must
  be tried at every letter;
- checksums (Luhn, IBAN mod-97, :mod:`ipaddress`) turn loose candidates into precise hits.
"""

from __future__ import annotations

import ipaddress
import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import chain

from livingeval.scrub._addresses import address_numbers, detect_addresses
from livingeval.scrub._entities import PROTECTED, Detection
from livingeval.scrub._segments import GAP, Segments
from livingeval.scrub._shape import NON_ASCII_DIGIT as _NON_ASCII_DIGIT
from livingeval.scrub._shape import SHAPE_TABLE as _SHAPE

__all__ = ["detect_rules", "detect_rules_many", "iban_valid", "luhn_valid"]


def luhn_valid(digits: str) -> bool:
    """Luhn checksum of a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN without spaces (any case)."""
    s = iban.upper()
    if len(s) < 15 or len(s) > 34:
        return False
    rearranged = s[4:] + s[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


# --------------------------------------------------------------------------- digits

# One pass finds every run of digit groups ("4111 1111 1111 1111", "(978)645-9740",
# "86.231.85.193"); the pattern starts with \d so the regex engine skips prose at C speed.
# Each run is then classified in Python: card, SSN, IPv4, date, phone, and an IBAN check
# in a window around it. Boundary checks are done in Python, not with a leading
# look-behind, which would cost the engine its fast first-character scan.
_RUN = re.compile(r"\d(?:[ .\-()]{1,2}\d|\d){4,}")
_RUN_SHAPED = re.compile(rb"0(?:[ .\-()]{1,2}0|0){4,}")  # the same on the shape
_EXT = re.compile(r"\s?(?:x|ext\.?|#)\s?\d{1,6}(?!\w)")
_DATE_AT = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}\.\d{1,2}\.\d{4}"
)
_DATE = re.compile(
    r"(?<![\w/.\-])(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4})(?![\w/])"
)
_SSN = re.compile(r"\d{3}([- ])\d{2}\1\d{4}")
_IPV4 = re.compile(
    r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
)
_DIGIT_GROUPS = re.compile(r"\d+")

_PHONE_CONTEXT = re.compile(
    r"(?i)(?:phone|tel\b|telephone|call|calling|mobile|cell|fax|office|reach|dial|sms|"
    r"text\s+me|whats\s?app|contact|number|answering|hotline|landline|ph\b|mob\b|num\b)"
)
_STRONG_PHONE_CONTEXT = re.compile(
    r"(?i)(?:phone|tel\b|telephone|call|mobile|cell|fax|dial|sms|whats\s?app|hotline|landline)"
)
_SSN_CONTEXT = re.compile(r"(?i)(?:ssn|social\s+security|ss#|ss\s+no|tax\s+id|taxpayer)")
_DOB_CONTEXT = re.compile(
    r"(?i)(?:born|birth|dob\b|d\.o\.b|birthday|date\s+of\s+birth|b\.\s*date|age\b)"
)
_DOB_HINTS = ("born", "birth", "dob", "d.o.b", "b. date", "b.date")
_MONTH_DATE = re.compile(
    r"(?i)(?<!\w)(?:\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+\d{4}"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}"
    r"(?:st|nd|rd|th)?,?\s+\d{4})(?!\w)"
)


# Substrings every match of a context pattern holds (lower-case): an ASCII window
# without any of them cannot match, and is not scanned.
_CONTEXT_HINTS: dict[re.Pattern[str], tuple[str, ...]] = {
    _DOB_CONTEXT: ("born", "birth", "dob", "d.o.b", "b.", "age"),
    _PHONE_CONTEXT: (
        "ph", "tel", "call", "mob", "cell", "fax", "office", "reach", "dial", "sms", "text",
        "whats", "contact", "num", "answering", "hotline", "landline",
    ),
    _STRONG_PHONE_CONTEXT: (
        "ph", "tel", "call", "mobile", "cell", "fax", "dial", "sms", "whats", "hotline",
        "landline",
    ),
    _SSN_CONTEXT: ("ss", "social", "tax"),
}  # fmt: skip


def _context(text: str, start: int, end: int, pattern: re.Pattern[str], before: int = 48) -> bool:
    """True when ``pattern`` occurs near ``text[start:end]``, outside placeholders.

    A placeholder such as ``<PHONE_1>`` must not count as the word "phone": otherwise a
    second scrub would find context the first did not, and scrubbing would not be
    idempotent.
    """
    lo, hi = max(0, start - before), min(len(text), end + 24)
    hints = _CONTEXT_HINTS.get(pattern)
    if hints is not None:
        window = text[lo:hi]
        if window.isascii():
            window = window.lower()
            if not any(h in window for h in hints):
                return False
    for m in pattern.finditer(text, lo, hi):
        lt = text.rfind("<", max(0, m.start() - 32), m.start())
        if lt == -1 or ">" in text[lt : m.start()]:
            return True
        token = PROTECTED.match(text, lt)
        if token is None or token.end() < m.end():
            return True
    return False


def _card_span(run: str) -> tuple[int, int] | None:
    """Offsets within ``run`` of the longest Luhn-valid card number (13-19 digits)."""
    groups = [m.span() for m in _DIGIT_GROUPS.finditer(run)]
    n = len(groups)
    best: tuple[int, int] | None = None
    best_len = 0
    for i in range(n):
        digits = ""
        for j in range(i, n):
            digits += run[groups[j][0] : groups[j][1]]
            if len(digits) > 19:
                break
            if (
                len(digits) >= 13
                and len(digits) > best_len
                and digits[0] in "23456"
                and luhn_valid(digits)
            ):
                best = (groups[i][0], groups[j][1])
                best_len = len(digits)
    return best


def _classify_run(
    text: str, start: int, end: int, out: list[Detection], wanted: frozenset[str]
) -> None:
    """Classify the digit run ``text[start:end]`` (already boundary-checked)."""
    run = text[start:end]
    # A run holds digits and " .-()" only.
    n = (
        len(run) - run.count(" ") - run.count(".") - run.count("-") - run.count("(")
        - run.count(")")
    )  # fmt: skip
    if n >= 13:
        span = _card_span(run)
        if span is not None:
            if "CARD" in wanted:
                out.append(Detection(entity="CARD", start=start + span[0], end=start + span[1]))
            # What is glued on either side ("+1 415 555 0100 4111..."), classified alone,
            # so a second scrub finds nothing new.
            for lo, hi in ((start, start + span[0]), (start + span[1], end)):
                while lo < hi and not text[lo].isdigit() and text[lo] not in "(+":
                    lo += 1
                while hi > lo and not text[hi - 1].isdigit():
                    hi -= 1
                if sum(ch.isdigit() for ch in text[lo:hi]) >= 5:
                    _classify_run(text, lo, hi, out, wanted)
            return
    if (
        n == 9
        and _SSN.fullmatch(run)
        and (run[3] == "-" or _context(text, start, end, _SSN_CONTEXT))
    ):
        if "SSN" in wanted:
            out.append(Detection(entity="SSN", start=start, end=end))
        return
    if n <= 12 and "." in run and _IPV4.fullmatch(run):
        if "IP" in wanted:
            out.append(Detection(entity="IP", start=start, end=end))
        return
    if n == 9 and "SSN" in wanted and _context(text, start, end, _SSN_CONTEXT):
        out.append(Detection(entity="SSN", start=start, end=end))
        return
    if "PHONE" not in wanted or n > 15:
        return
    ext = _EXT.match(text, end)
    plus = start > 0 and text[start - 1] == "+"
    strong = plus or run[0] == "(" or ext is not None
    groups = len(_DIGIT_GROUPS.findall(run))
    if n >= 10 and (groups >= 2 or strong):
        phone = True
    elif n >= 7 and (groups >= 2 or strong):
        phone = strong or _context(text, start, end, _PHONE_CONTEXT)
    elif n >= 6 and groups >= 3:
        phone = _context(text, start, end, _PHONE_CONTEXT)
    elif n >= 7:  # one bare block of digits: an id as often as a phone number
        phone = _context(text, start, end, _STRONG_PHONE_CONTEXT, 32)
    else:
        phone = False
    if phone:
        out.append(
            Detection(
                entity="PHONE",
                start=start - 1 if plus else start,
                end=ext.end() if ext is not None else end,
            )
        )


def _detect_digits(
    text: str, out: list[Detection], wanted: frozenset[str], shaped: bytes | None = None
) -> None:
    length = len(text)
    runs = _RUN.finditer(text) if shaped is None else _RUN_SHAPED.finditer(shaped)
    for m in runs:
        start, end = m.span()
        before = text[start - 1] if start else " "
        if (
            before.isalnum()
            or before == "_"
            or (before in ".-/" and start > 1 and text[start - 2].isalnum())
        ):
            # The run starts inside a bigger token (an IBAN, an id, a version number):
            # skip that token, keep what follows it ("BE54...0 4111 1111 1111 1111").
            while start < end and (text[start].isalnum() or text[start] in ".-/_"):
                start += 1
            while start < end and not text[start].isdigit() and text[start] not in "(+":
                start += 1
            if sum(ch.isdigit() for ch in text[start:end]) < 5:
                continue
            if text[start] == "+":
                start += 1
        if start and text[start - 1] == "(":
            start -= 1
        while (
            end < length
            and (text[end].isalnum() or text[end] == "_")
            and _EXT.match(text, end) is None
        ):
            # "4589 40th Street": drop the glued group; give up if nothing is left
            cut = max(
                text.rfind(" ", start, end),
                text.rfind("-", start, end),
                text.rfind(".", start, end),
            )
            if cut <= start:
                end = -1
                break
            end = cut
            while end > start and not text[end - 1].isdigit():
                end -= 1
        if end <= start:
            continue
        date = _DATE_AT.match(text, start)
        if date is not None and date.end() >= end - 3:
            if "DATE_OF_BIRTH" in wanted and _context(text, start, date.end(), _DOB_CONTEXT, 40):
                out.append(Detection(entity="DATE_OF_BIRTH", start=start, end=date.end()))
            continue
        _classify_run(text, start, end, out, wanted)


# A _DATE match starts a digit run and holds a separator after 1, 2 or 4 digits.
_DATE_CANDIDATE = re.compile(rb"0{1,4}[/.\-]0")


def _dates(text: str, shaped: bytes, lo: int, hi: int) -> Iterator[re.Match[str]]:
    """``_DATE.finditer(text, lo, hi)``, tried only where the shape allows a date.

    ``_DATE`` starts with a look-behind, so the engine tries it at every position; a
    match starts a digit run (the look-behind excludes a digit before it) that
    :data:`_DATE_CANDIDATE` finds on the shape, a scan that starts on a literal.
    Candidates are visited in order and after the last match, as ``finditer`` does.
    """
    last = lo
    tried = -1
    for c in _DATE_CANDIDATE.finditer(shaped, lo, hi):
        start = c.start()
        while start > lo and shaped[start - 1] == 48:  # back to the run's first digit
            start -= 1
        if start < last or start == tried:
            continue
        tried = start
        m = _DATE.match(text, start, hi)
        if m is not None:
            last = m.end()
            yield m


def _detect_dob(
    text: str, out: list[Detection], lo: int = 0, hi: int | None = None, shaped: bytes | None = None
) -> None:
    """Dates near a birth keyword (the run pass handles ISO dates; this the rest).

    ``lo``/``hi`` limit the scan to one text of a batch (see :mod:`._segments`);
    ``shaped`` (the shape of ``text``) lets the date scans visit candidates only.
    """
    end = len(text) if hi is None else hi
    if shaped is None:
        found: Iterable[re.Match[str]] = chain(
            _DATE.finditer(text, lo, end), _MONTH_DATE.finditer(text, lo, end)
        )
    elif shaped.find(b"0000", lo, end) == -1:  # every _MONTH_DATE match holds a year
        found = _dates(text, shaped, lo, end)
    else:
        found = chain(_dates(text, shaped, lo, end), _MONTH_DATE.finditer(text, lo, end))
    for m in found:
        if _context(text, m.start(), m.end(), _DOB_CONTEXT, 40):
            out.append(Detection(entity="DATE_OF_BIRTH", start=m.start(), end=m.end()))


# --------------------------------------------------------------------------- email

_EMAIL_DOMAIN = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}"
)
# The local-part characters people actually use (RFC 5322 allows more, such as "/" and
# "=", but taking those would swallow URLs and key=value text around an address).
_LOCAL_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+^_`{|}~.-"
)


def _detect_email(text: str, out: list[Detection]) -> None:
    at = text.find("@")
    while at != -1:
        m = _EMAIL_DOMAIN.match(text, at + 1)
        if m is not None:
            start = at
            floor = max(0, at - 64)
            while start > floor and text[start - 1] in _LOCAL_CHARS:
                start -= 1
            while start < at and text[start] in ".'`":  # not a local part's first char
                start += 1
            scheme = text.rfind("://", max(0, start - 80), start)
            if (
                start > 0
                and text[start - 1] == ":"
                and scheme != -1
                and not any(c.isspace() or c == "/" for c in text[scheme + 3 : start])
            ):
                pass  # user:password@host of a URL: the URL_CREDENTIALS detector's job
            elif start < at:
                out.append(Detection(entity="EMAIL", start=start, end=m.end()))
        at = text.find("@", at + 1)


# --------------------------------------------------------------------------- IBAN

_IBAN = re.compile(r"(?i)(?<![a-z0-9])([a-z]{2}\d{2}[ \-]?[a-z0-9])")
IBAN_LENGTHS: dict[str, int] = {
    code: int(n)
    for code, n in (
        item.split(":")
        for item in [
            "AD:24",
            "AE:23",
            "AL:28",
            "AT:20",
            "AZ:28",
            "BA:20",
            "BE:16",
            "BG:22",
            "BH:22",
            "BI:27",
            "BR:29",
            "BY:28",
            "CH:21",
            "CR:22",
            "CY:28",
            "CZ:24",
            "DE:22",
            "DJ:27",
            "DK:18",
            "DO:28",
            "EE:20",
            "EG:29",
            "ES:24",
            "FI:18",
            "FK:18",
            "FO:18",
            "FR:27",
            "GB:22",
            "GE:22",
            "GI:23",
            "GL:18",
            "GR:27",
            "GT:28",
            "HN:28",
            "HR:21",
            "HU:28",
            "IE:22",
            "IL:23",
            "IQ:23",
            "IS:26",
            "IT:27",
            "JO:30",
            "KW:30",
            "KZ:20",
            "LB:28",
            "LC:32",
            "LI:21",
            "LT:20",
            "LU:20",
            "LV:21",
            "LY:25",
            "MC:27",
            "MD:24",
            "ME:22",
            "MK:19",
            "MN:20",
            "MR:27",
            "MT:31",
            "MU:30",
            "NI:28",
            "NL:18",
            "NO:15",
            "OM:23",
            "PK:24",
            "PL:28",
            "PS:29",
            "PT:25",
            "QA:29",
            "RO:24",
            "RS:22",
            "RU:33",
            "SA:24",
            "SC:31",
            "SD:18",
            "SE:24",
            "SI:19",
            "SK:24",
            "SM:27",
            "SO:23",
            "ST:25",
            "SV:28",
            "TL:23",
            "TN:24",
            "TR:26",
            "UA:29",
            "VA:22",
            "VG:24",
            "XK:20",
            "YE:30",
        ]
    )
}
"""IBAN length per country (ISO 13616 registry); other country codes allow 15-34."""


# Check digits followed by at least 11 more characters: a digit-led scan (fast), then
# the two country letters before it are checked in Python.
_IBAN_CHECK_DIGITS = re.compile(r"\d\d(?=(?:[ \-]?[A-Za-z0-9]){11})")
# On the shape with upper-case folded to lower ("a" = any ASCII letter): the two
# country letters are part of the scan, which starts on the literal "aa00".
_IBAN_FOLDED_REST = re.compile(rb"(?:[ \-]?[a0]){11}")


def _scan_ibans(text: str, out: list[Detection], folded: bytes | None = None) -> None:
    """IBANs in ``text``; ``folded`` is its shape with case folded (see :class:`Gates`)."""
    done = -1
    if folded is None:
        for found in _IBAN_CHECK_DIGITS.finditer(text):
            start = found.start()
            if start < 2 or start < done:
                continue
            if (
                text[start - 1].isascii()
                and text[start - 1].isalpha()
                and text[start - 2].isascii()
                and text[start - 2].isalpha()
            ):
                done = _detect_iban(text, start - 2, min(len(text), start + 46), out)
        return
    # The same candidates: "aa" is two ASCII letters, then the lookahead above. A
    # substring search finds them (a regex would stop at every letter).
    start = folded.find(b"aa00")
    while start != -1:
        if start + 2 >= done and _IBAN_FOLDED_REST.match(folded, start + 4) is not None:
            done = _detect_iban(text, start, min(len(text), start + 48), out)
        start = folded.find(b"aa00", start + 1)


def _iban_end(text: str, start: int, stop: int) -> int:
    """End offset of a valid IBAN starting at ``start``, or -1."""
    length = IBAN_LENGTHS.get(text[start : start + 2].upper())
    count = 0
    i = start
    best = -1
    while i < stop:
        ch = text[i]
        if ch.isascii() and ch.isalnum():
            count += 1
            i += 1
            after = text[i] if i < len(text) else " "
            boundary = not (after.isascii() and after.isalnum())
            if length is not None:
                if count == length:
                    if boundary and _iban_ok(text[start:i]):
                        return i
                    return -1
            elif 15 <= count <= 34 and boundary and _iban_ok(text[start:i]):
                best = i
            if count >= 34:
                break
        elif ch in " -" and i + 1 < stop and text[i + 1].isascii() and text[i + 1].isalnum():
            i += 1
        else:
            break
    return best


def _iban_ok(candidate: str) -> bool:
    return iban_valid(candidate.replace(" ", "").replace("-", ""))


def _detect_iban(text: str, lo: int, hi: int, out: list[Detection]) -> int:
    """IBANs starting in ``text[lo:hi]``; return the offset scanning may resume from."""
    pos = lo
    resume = lo
    while True:
        m = _IBAN.search(text, pos, hi)
        if m is None:
            return resume
        end = _iban_end(text, m.start(1), min(len(text), m.start(1) + 48))
        if end != -1:
            out.append(Detection(entity="IBAN", start=m.start(1), end=end))
            resume = end
            pos = end
        else:
            pos = m.start(1) + 2


# --------------------------------------------------------------------------- network

# Anchored on the separators (":" or "-"), which the engine finds fast; the address is
# then grown left and right in Python and validated with :mod:`ipaddress`.
_NET_ANCHOR = re.compile(r":[0-9A-Fa-f]{0,4}:|-[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-")
_NET_COLON = re.compile(r":[0-9A-Fa-f]{0,4}:")
_NET_DASH = re.compile(r"-[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}-")
_HEX_COLON = frozenset("0123456789abcdefABCDEF:.%")
_HEX_DASH = frozenset("0123456789abcdefABCDEF-")
_MAC = re.compile(r"[0-9A-Fa-f]{2}([:\-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}")
_URL_CREDENTIALS = re.compile(r"://([^\s/:@<>\"']+:[^\s/@<>\"']+)@")


def _grow(text: str, start: int, end: int, chars: frozenset[str]) -> tuple[int, int]:
    lo = max(0, start - 45)
    while start > lo and text[start - 1] in chars:
        start -= 1
    hi = min(len(text), end + 45)
    while end < hi and text[end] in chars:
        end += 1
    while end > start and text[end - 1] in ".:%-":
        end -= 1
    return start, end


def _net_anchors(text: str) -> list[tuple[int, int]]:
    """The spans :data:`_NET_ANCHOR` finds in ``text``, from two scans that each
    start on a literal (fast); a colon anchor and a dash anchor never overlap, so the
    merged list is the alternation's."""
    found = [m.span() for m in _NET_COLON.finditer(text)]
    if "-" in text:
        dashes = [m.span() for m in _NET_DASH.finditer(text)]
        if dashes:
            found.extend(dashes)
            found.sort()
    return found


def _detect_network(
    text: str,
    out: list[Detection],
    wanted: frozenset[str],
    anchors: bool = True,
    anchor_ok: Callable[[int], bool] | None = None,
) -> None:
    """URLs with credentials, and (with ``anchors``) MAC and IPv6 addresses.

    ``anchor_ok`` (in a batch) says whether an anchor's own text passes the gate.
    """
    if "URL_CREDENTIALS" in wanted and "://" in text:
        for m in _URL_CREDENTIALS.finditer(text):
            out.append(Detection(entity="URL_CREDENTIALS", start=m.start(1), end=m.end(1)))
    mac, ip = "MAC" in wanted, "IP" in wanted
    if not (anchors and (mac or ip)):
        return
    done = -1
    for a_start, a_end in _net_anchors(text):
        if a_start < done or (anchor_ok is not None and not anchor_ok(a_start)):
            continue
        dash = text[a_start] == "-"
        start, end = _grow(text, a_start, a_end, _HEX_DASH if dash else _HEX_COLON)
        if (start and (text[start - 1].isalnum() or text[start - 1] == "_")) or (
            end < len(text) and (text[end].isalnum() or text[end] == "_")
        ):
            done = end
            continue
        cand = text[start:end]
        if _MAC.fullmatch(cand):
            if mac:
                out.append(Detection(entity="MAC", start=start, end=end))
        elif ip and not dash and cand.count(":") >= 2 and cand != "::":
            try:
                ipaddress.IPv6Address(cand.split("%", 1)[0])
            except ValueError:
                pass
            else:
                out.append(Detection(entity="IP", start=start, end=end))
        done = end


# --------------------------------------------------------------------------- secrets

# Starts with a literal alternation, so the engine only tries positions whose first
# character can begin a known prefix; the boundary is checked in Python.
_KNOWN_SECRETS = re.compile(
    r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{36,255}"  # GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{22,255}"
    r"|glpat-[A-Za-z0-9_\-]{20,}"  # GitLab
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}"  # Slack
    r"|[srp]k_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
    r"|whsec_[A-Za-z0-9]{24,}"
    r"|sk-(?:proj-|ant-(?:api\d\d-)?|or-v1-|svcacct-)?[A-Za-z0-9_\-]{20,}"  # OpenAI, Anthropic
    r"|AIza[0-9A-Za-z_\-]{35}"  # Google API keys
    r"|ya29\.[0-9A-Za-z_\-]{20,}"  # Google OAuth access tokens
    r"|hf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|npm_[A-Za-z0-9]{36}"
    r"|pypi-[A-Za-z0-9_\-]{50,}"
    r"|SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"  # SendGrid
    r"|dop_v1_[a-f0-9]{64}"  # DigitalOcean
    r"|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}"  # Shopify
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"  # JWT
)
_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s:,\-]*)"
)
# Matched at a keyword found with str.find on the lower-cased text, never scanned for.
_KEYWORD_VALUE = re.compile(
    r"(?i)(?:pass(?:word|wd|phrase)?|pwd|secret|api[_\-]?key|apikey|access[_\-]?key|"
    r"private[_\-]?key|client[_\-]?secret|auth(?:orization)?|token|credentials?|"
    r"session[_\-]?id|signature|key)[\w\-]{0,20}[\"']?[ \t]*(?:[:=]|\bis\b)[ \t]*[\"']?"
    r"(?:(bearer|basic|token)[ \t]+)?([^\s\"',;<>)\]}]{4,})"
)
_BEARER = re.compile(r"(?i)(?:bearer|token)[ \t]+([A-Za-z0-9._~+/\-]{16,}=*)")
_KEYWORD_STARTS = ("pass", "pwd", "secret", "auth", "token", "credential", "session", "signature", "key")  # fmt: skip
SECRET_KEY_NAMES = re.compile(
    r"(?i)(?:^|[_\-.])(?:pass(?:word|wd|phrase)?|pwd|secret|api[_\-]?key|apikey|"
    r"access[_\-]?key|private[_\-]?key|client[_\-]?secret|auth(?:orization)?|token|"
    r"credentials?|session[_\-]?id|cookie|signature)$|^key$"
)
"""JSON keys whose string values are secrets whatever they look like."""


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``."""
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def looks_random(value: str) -> bool:
    """True for high-entropy tokens (keys, hashes), false for words and plain numbers."""
    if len(value) < 8:
        return False
    classes = (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
    )
    if classes < 2 and len(value) < 24:
        return False
    return shannon_entropy(value) >= (3.0 if len(value) < 20 else 3.3)


def _word_start(text: str, pos: int) -> bool:
    return pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] == "_")


# Known tokens are found from their separator ("ghp_", "sk-", "ya29.", "SG."): the scan
# starts on a rare character, and the prefix is checked by matching at the token start.
_SEPARATOR_RUN = re.compile(r"[_\-.][A-Za-z0-9_\-]{15,}")
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_NO_SEPARATOR_PREFIXES = ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "AIza", "eyJ")


def _known_secret_at(text: str, start: int, out: list[Detection]) -> int:
    m = _KNOWN_SECRETS.match(text, start)
    if m is None or not _word_start(text, start):
        return -1
    out.append(Detection(entity="SECRET", start=start, end=m.end()))
    return m.end()


def _detect_secrets(
    text: str, lowered: str, out: list[Detection], gates: Gates, segs: Segments | None = None
) -> None:
    if gates.known:
        tokens = gates.tokens if len(gates.tokens) == len(text) else None
        _detect_known_secrets(text, out, tokens)
    if gates.words:
        _detect_keyword_secrets(text, lowered, out, segs)


def _token_runs(tokens: bytes) -> list[tuple[int, int]]:
    """Maximal runs of at least 16 token characters (``tokens`` from :data:`_TOKEN_TABLE`)."""
    runs = []
    pos = tokens.find(_TOKEN_RUN)
    while pos != -1:
        end = tokens.find(b" ", pos + 16)
        if end == -1:
            end = len(tokens)
        runs.append((pos, end))
        pos = tokens.find(_TOKEN_RUN, end)
    return runs


def _detect_known_secrets(text: str, out: list[Detection], tokens: bytes | None = None) -> None:
    """Known-prefix secrets; ``tokens`` (the text translated by :data:`_TOKEN_TABLE`)
    limits the scans to runs of 16 or more token characters, where every one lies."""
    if tokens is None:
        runs = [(0, len(text))]
    else:  # a run without any known-secret match cannot hold one
        runs = [r for r in _token_runs(tokens) if _KNOWN_SECRETS.search(text, *r) is not None]
        if not runs:
            return
    done = -1
    found: list[tuple[int, int]] = []
    for lo, hi in runs:
        for m in _SEPARATOR_RUN.finditer(text, lo, hi):
            if m.start() < done:
                continue
            start = m.start()
            floor = max(0, start - 11)
            while start > floor and text[start - 1] in _TOKEN_CHARS:
                start -= 1
            # Only the token's start can begin a secret: every later position follows a
            # token character, so it is not at a word start (see _known_secret_at).
            if start < m.start():
                end = _known_secret_at(text, start, out)
                if end != -1:
                    done = end
                    found.append((start, end))
    # A prefix inside a token found above is part of it; one anywhere else is tried
    # (comparing with the last token's end alone skipped a JWT or AKIA key that came
    # before a "ghp_"-style token in the same text).
    for prefix in _NO_SEPARATOR_PREFIXES:
        for lo, hi in runs:
            pos = text.find(prefix, lo, hi)
            while pos != -1:
                if not any(start <= pos < end for start, end in found):
                    _known_secret_at(text, pos, out)
                pos = text.find(prefix, pos + 1, hi)


def _detect_keyword_secrets(
    text: str, lowered: str, out: list[Detection], segs: Segments | None = None
) -> None:
    if "-----begin" in lowered:
        if segs is None:
            for m in _PRIVATE_KEY.finditer(text):
                out.append(Detection(entity="SECRET", start=m.start(), end=m.end()))
        else:  # a block runs to its END line anywhere in its own text, never beyond
            pos = lowered.find("-----begin")
            while pos != -1:
                lo, hi = segs.bounds(pos)
                for m in _PRIVATE_KEY.finditer(text, lo, hi):
                    out.append(Detection(entity="SECRET", start=m.start(), end=m.end()))
                pos = lowered.find("-----begin", hi)
    for word in ("bearer", "token"):
        pos = lowered.find(word)
        while pos != -1:
            bearer = _BEARER.match(text, pos)
            if bearer is not None and looks_random(bearer.group(1)):
                out.append(Detection(entity="SECRET", start=bearer.start(1), end=bearer.end(1)))
            pos = lowered.find(word, pos + 1)
    for word in _KEYWORD_STARTS:
        pos = lowered.find(word)
        while pos != -1:
            kv = _KEYWORD_VALUE.match(text, pos)
            if kv is not None:
                value = kv.group(2)
                if not (value.startswith("<") and value.endswith(">")) and (
                    word in ("pass", "pwd") or kv.group(1) is not None or looks_random(value)
                ):
                    out.append(Detection(entity="SECRET", start=kv.start(2), end=kv.end(2)))
            pos = lowered.find(word, pos + 1)


# --------------------------------------------------------------------------- addresses


def _detect_address(text: str, lowered: str, out: list[Detection]) -> None:
    detect_addresses(text, lowered, out)


# --------------------------------------------------------------------------- entry point


_HAS_DIGIT: Callable[..., object] = re.compile(r"\d").search


def _byte_table(classes: dict[str, str]) -> bytes:
    table = bytearray(b" " * 256)
    for chars, symbol in classes.items():
        for ch in chars:
            table[ord(ch)] = ord(symbol)
    return bytes(table)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Token characters ([A-Za-z0-9_.-]) become "x": a known secret (separator + 15 token
# characters, or AKIA.../AIza.../eyJ... followed by more) needs a run of 16 of them.
_TOKEN_TABLE = _byte_table({_LETTERS + "0123456789_.-": "x"})
_TOKEN_RUN = b"x" * 16
_FOLD_CASE = bytes.maketrans(b"A", b"a")
_LETTERS_DIGITS = b"aa00"  # two letters, then two digits: an IBAN's start


def _may_hold_secret_word(lowered: str) -> bool:
    """A secret keyword (or a JSON key naming a secret) occurs in ``lowered``."""
    return (
        "key" in lowered
        or "pass" in lowered
        or "token" in lowered
        or "secret" in lowered
        or "auth" in lowered
        or "pwd" in lowered
        or "session" in lowered
        or "credential" in lowered
        or "signature" in lowered
        or "bearer" in lowered
        or "-----begin" in lowered
        or "cookie" in lowered
    )


class Gates:
    """Which detectors can fire at all, decided once for a whole trace.

    A trace's texts are joined and checked with a few C-speed operations (byte
    translations, then substring searches); detectors whose trigger never occurs are
    skipped. Short chat messages without digits, ``@``, long tokens or secret keywords
    then cost about a microsecond. Every gate is a necessary condition of its detector,
    so gating never changes what is found. ``shaped`` is the text's shape
    (:func:`~livingeval.scrub._shape.shape`), on which the digit, IBAN and address
    detectors find their candidates.
    """

    __slots__ = (
        "any",
        "at",
        "digit",
        "digits5",
        "folded",
        "iban",
        "known",
        "lowered",
        "net",
        "shaped",
        "tokens",
        "words",
    )

    def __init__(self, text: str, *, batch: bool = False) -> None:
        lowered = self.lowered = _lower(text)
        if text.isascii():
            raw = text.encode("ascii")
            shaped: bytes | None = raw.translate(_SHAPE)
        else:  # one byte per code point, as in shape()
            raw = text.encode("ascii", "replace")
            shaped = None if _NON_ASCII_DIGIT.search(text) is not None else raw.translate(_SHAPE)
        self.shaped = shaped
        # A known secret needs 16 token characters: a shorter text needs no translation.
        if len(raw) >= 16:
            tokens = self.tokens = raw.translate(_TOKEN_TABLE)
            self.known = _TOKEN_RUN in tokens
        else:
            self.tokens = b""
            self.known = False
        if shaped is not None:
            self.at = b"@" in raw
            digit = self.digit = b"0" in shaped
            self.digits5 = digit and shaped.count(b"0") >= 5
            # The folded shape serves the IBAN scan only, which needs a digit.
            folded = self.folded = shaped.translate(_FOLD_CASE) if digit else None
            self.iban = folded is not None and _LETTERS_DIGITS in folded
        else:  # non-ASCII digits count too: leave it to the detectors' own scans
            self.at = "@" in text
            self.digit = self.digits5 = self.iban = True
            self.folded = None
        # In a joined batch these hold somewhere anyway; the network gate is then
        # decided per text, and the keyword scans cost what the gate would.
        self.net = batch or text.count(":") >= 2 or text.count("-") >= 3
        self.words = batch or _may_hold_secret_word(lowered)
        self.any = self.at or self.digit or self.known or self.words or self.net


def _lower(text: str) -> str:
    lowered = text.lower()
    if len(lowered) != len(text):  # "İ".lower() is two characters: keep offsets aligned
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return lowered


def _has_birth_word(lowered: str) -> bool:
    return (
        "born" in lowered
        or "birth" in lowered
        or "dob" in lowered
        or "b. date" in lowered
        or "b.date" in lowered
        or "d.o.b" in lowered
    )


def detect_rules(
    text: str, wanted: frozenset[str], gates: Gates | None = None, *, fast: bool = True
) -> list[Detection]:
    """Every rule detection in ``text`` for the entity types in ``wanted`` (unmerged).

    ``gates`` (computed over the whole trace) lets detectors that cannot fire be
    skipped; without it they are computed from ``text``. ``fast=False`` runs every
    detector over the whole text with its full scans (no gate, no candidate scan on
    the shape): the reference the fast path must equal, used by the tests.
    """
    if not fast:
        return _detect_all(text, wanted)
    if gates is None:
        gates = Gates(text)
    if not gates.any:
        return []
    return _detect_fast(text, wanted, gates, None)


_BIRTH_WORDS = ("born", "birth", "dob", "b. date", "b.date", "d.o.b")  # see _has_birth_word


def _find_all(text: str, word: str) -> list[int]:
    found = []
    pos = text.find(word)
    while pos != -1:
        found.append(pos)
        pos = text.find(word, pos + 1)
    return found


def detect_rules_many(texts: list[str], wanted: frozenset[str]) -> list[list[Detection]]:
    """``[detect_rules(t, wanted) for t in texts]``, with one scan per detector.

    The texts are joined with :data:`~._segments.GAP` and scanned as one string; each
    detection is mapped back to its text by offset. Conditions that hold for a whole
    text (a digit, a birth word, a possible address) are decided per text, so every
    text gets exactly the detections it gets alone. Texts with a non-ASCII digit
    (which have no shape) are scanned alone.
    """
    out: list[list[Detection]] = [[] for _ in texts]
    # ASCII texts are batched apart from the others: one non-ASCII character makes
    # the whole joined string wider, and lower-casing and scanning it slower.
    ascii_: list[int] = []
    other: list[int] = []
    for i, text in enumerate(texts):
        if text.isascii():
            ascii_.append(i)
        elif _NON_ASCII_DIGIT.search(text) is None:
            other.append(i)
        else:
            out[i] = detect_rules(text, wanted)
    for batch in (ascii_, other):
        if len(batch) == 1:
            out[batch[0]] = detect_rules(texts[batch[0]], wanted)
        elif batch:
            _detect_batch(texts, batch, wanted, out)
    return out


def _detect_batch(
    texts: list[str], batch: list[int], wanted: frozenset[str], out: list[list[Detection]]
) -> None:
    parts = [texts[i] for i in batch]
    joined = GAP.join(parts)
    gates = Gates(joined, batch=True)
    if len(gates.lowered) != len(joined):  # length-changing lower-case ("İ"): per text
        gates.lowered = GAP.join(_lower(t) for t in parts)
    segs = Segments(parts)
    found = _detect_fast(joined, wanted, gates, segs)
    starts = segs.starts
    for det in found:
        k = bisect_right(starts, det.start) - 1
        lo = starts[k]
        out[batch[k]].append(Detection(entity=det.entity, start=det.start - lo, end=det.end - lo))


def _detect_fast(
    text: str, wanted: frozenset[str], gates: Gates, segs: Segments | None
) -> list[Detection]:
    """The fast path of :func:`detect_rules`; ``segs`` when ``text`` is a joined batch."""
    out: list[Detection] = []
    lowered = gates.lowered if len(gates.lowered) == len(text) else _lower(text)
    if gates.at and "EMAIL" in wanted and "@" in text:
        _detect_email(text, out)
    if "SECRET" in wanted and (gates.known or gates.words):
        _detect_secrets(text, lowered, out, gates, segs)
    # Gates computed over a whole trace hold the shape of the joined text, not of this
    # part of it; then the detectors' own scans run.
    shaped = gates.shaped if gates.shaped is not None and len(gates.shaped) == len(text) else None
    if not gates.digit or (shaped is None and _HAS_DIGIT(text) is None):
        # URL credentials need no digit ("https://admin:hunter@host"); MACs and IPs do.
        if gates.at and "://" in text:
            _detect_network(text, out, wanted, anchors=False)
        return out
    if segs is not None:
        _detect_network_many(text, out, wanted, shaped, segs)
    elif gates.net or (gates.at and "://" in text):
        _detect_network(text, out, wanted, anchors=gates.net)
    if gates.digits5:
        _detect_digits(text, out, wanted, shaped)
    if gates.iban and "IBAN" in wanted:
        _scan_ibans(text, out, gates.folded if shaped is not None else None)
    if "DATE_OF_BIRTH" in wanted:
        if segs is None:
            if _has_birth_word(lowered):
                _detect_dob(text, out, 0, None, shaped)
        else:
            texts = sorted(
                {segs.index(pos) for word in _BIRTH_WORDS for pos in _find_all(lowered, word)}
            )
            for k in texts:
                _detect_dob(text, out, segs.starts[k], segs.ends[k], shaped)
    if "ADDRESS" in wanted:
        detect_addresses(text, lowered, out, address_numbers(text, shaped), segs)
    return out


def _detect_network_many(
    text: str, out: list[Detection], wanted: frozenset[str], shaped: bytes | None, segs: Segments
) -> None:
    """:func:`_detect_network` over a batch, with each text's own gate: MAC and IPv6
    anchors count only in a text with a digit and two colons or three dashes."""
    gate: dict[int, bool] = {}

    def anchor_ok(pos: int) -> bool:
        k = segs.index(pos)
        ok = gate.get(k)
        if ok is None:
            lo, hi = segs.starts[k], segs.ends[k]
            ok = gate[k] = (text.count(":", lo, hi) >= 2 or text.count("-", lo, hi) >= 3) and (
                shaped.find(b"0", lo, hi) != -1
                if shaped is not None
                else _HAS_DIGIT(text, lo, hi) is not None
            )
        return ok

    _detect_network(text, out, wanted, anchor_ok=anchor_ok)


def _detect_all(text: str, wanted: frozenset[str]) -> list[Detection]:
    """:func:`detect_rules` without gates or shape scans (see ``fast=False``).

    The conditions kept here are part of what the detectors mean, not shortcuts: MAC
    and IP addresses, digit runs, IBANs, dates of birth and addresses need a digit in
    the text; dates of birth outside ISO form need a birth word.
    """
    out: list[Detection] = []
    lowered = _lower(text)
    if "EMAIL" in wanted:
        _detect_email(text, out)
    if "SECRET" in wanted:
        _detect_known_secrets(text, out)
        _detect_keyword_secrets(text, lowered, out)
    digit = _HAS_DIGIT(text) is not None
    _detect_network(text, out, wanted, anchors=digit)
    if not digit:
        return out
    _detect_digits(text, out, wanted)
    if "IBAN" in wanted:
        _scan_ibans(text, out)
    if "DATE_OF_BIRTH" in wanted and _has_birth_word(lowered):
        _detect_dob(text, out)
    if "ADDRESS" in wanted:
        detect_addresses(text, lowered, out)
    return out
