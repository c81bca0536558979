"""Street addresses from address grammar: street lines, units, PO boxes, postal lines.

What counts as ``ADDRESS`` (the convention of Presidio and most PII datasets): the
street line (house number, street name, street type), the unit (``Apt. 4``,
``Suite 300``), PO and military boxes, and postal codes. Towns and countries on their
own lines of a multi-line block are places, left to the NER layer (``LOCATION``); a
one-line address ending in a postal code (``123 Main St, Springfield, IL 62704``) is
one span.

Street lines, by grammar rather than by any list of real streets:

- number first, street type last (``221B Baker Street``, ``1600 Pennsylvania Ave NW``,
  ``12 main st`` in lower-case chat);
- street type first (``Rue de Rivoli 12``, ``12 Via Roma``, ``ul. Karpacka 69``);
- compound street word, number last (``Hauptstraße 5``, ``Simavikveien 231``,
  ``Holmevej 34``), optionally after a leading house number;
- number, name, number with no street word at all (``53 Σκαφίδια 148``): only when a
  unit or a postal line follows, or the word "address" comes just before.

Every pattern needs a digit, and each has a substring gate, so text without the
trigger words costs a few ``in`` checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from livingeval.scrub._entities import Detection
from livingeval.scrub._segments import Segments
from livingeval.scrub._shape import pattern_pair, word_trie

__all__ = ["address_numbers", "detect_addresses", "lines_after"]

# A house number: 12, 221B, 12-14, 7a.
_NUM = r"\d{1,5}(?:-\d{1,4})?[A-Za-z]?"
# Function words that never sit inside a street name ("5 miles down the road").
_STOP = (
    r"(?:the|a|an|of|to|down|up|and|or|in|on|at|for|with|from|by|my|your|his|her|their|"
    r"our|this|that|is|are|was|were|be|it|we|you|they|i|me|per|than|more|less|about|"
    r"over|into|across|along|off|out|all|each|every|some|any|no|not|times|minutes|hours|"
    r"days|weeks|years|miles|km|kilometers|kilometres|meters|metres|blocks|feet|steps|"
    r"der|die|das|dem|im|am|auf|en|il|på|och|und|et|un|une|le|la|les|du|des|de|del|di|da)"
)
# A word of a street name; a trailing dot only on abbreviations ("Mt.", "C."), so a
# match never runs across a sentence end ("30 degrees. The lane").
_CAP_WORD = r"(?:[^\W\d_a-z](?:\w{0,3}\.|[\w'’\-]*)|\d{1,3}(?:st|nd|rd|th))"
_ANY_WORD = (
    rf"(?:(?!(?i:{_STOP})(?![\w'’\-]))[^\W\d_](?:\w{{0,3}}\.|[\w'’\-]*)"
    r"|\d{1,3}(?:st|nd|rd|th))"
)
_EN_TYPES = (
    r"street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|"
    r"terrace|ter|parkway|pkwy|square|sq|highway|hwy|way|circle|cir|crescent|cres|close|"
    r"alley|trail|trl|plaza|loop|row|mews|grove|gardens|expressway|expy|freeway|fwy|pike|"
    r"turnpike|causeway|esplanade|promenade|str"
)
_DIRECTION = r"(?:[NSEW]|NE|NW|SE|SW|North|South|East|West)"
_UNIT_WORDS = r"apt|apartment|suite|ste|unit|flat|room|rm|floor|fl|bldg|building"
_UNIT = rf"(?i:(?:{_UNIT_WORDS})\.?[ \t]*(?:#|no\.?)?[ \t]*\d{{1,5}}[A-Za-z]?(?!\w)|#[ \t]?\d{{1,5}}[A-Za-z]?(?!\w))"
_ATTACHED_UNIT = rf"(?:,?[ \t]*{_UNIT})?"
_NAMED_UNIT = rf"(?P<unit>,?[ \t]*{_UNIT})?"

# 1. number first, street type last.
_NUMBER_FIRST = re.compile(
    rf"(?<![\w.,/\-])(?:{_NUM}[ \t]+)?{_NUM}[ \t]+(?:{_DIRECTION}\.?[ \t]+)?"
    rf"(?:(?:{_CAP_WORD}[ \t]+){{1,3}}?(?i:{_EN_TYPES})|(?:{_ANY_WORD}[ \t]+){{1,3}}?(?:{_EN_TYPES}))"
    rf"\.?(?!\w)(?:[ \t]+{_DIRECTION}(?!\w)\.?)?{_ATTACHED_UNIT}"
)
_EN_HINTS = frozenset(_EN_TYPES.split("|"))

# 2. street type first (Romance, Slavic, ...): "Rue de Rivoli 12", "12 Via Roma".
_PREFIX_TYPES = (
    r"rue|avenue|boulevard|bd|chemin|allée|impasse|quai|route|via|viale|piazza|piazzale|"
    r"corso|largo|vicolo|calle|avenida|avda|av|paseo|plaza|camino|carrera|carretera|ctra|"
    r"rua|travessa|estrada|praça|alameda|ul|ulica|aleja|al|plac|ulice|odos|strada|"
    r"bulevardul|calea|trg|cours|náměstí|namesti|nám|đường|duong|jalan|jl"
)
_AMBIGUOUS = frozenset(
    ("via", "route", "al", "av", "plaza", "place", "cours", "largo", "corso", "rr", "bd")
)
_PARTICLE = (
    r"(?:de|la|le|les|du|des|del|della|delle|dei|di|da|das|do|dos|van|von|der|den|el|y|e|d'|l')"
)
_PREFIX_FORM = re.compile(
    rf"(?<![\w.,/\-])(?:(?P<first>{_NUM}(?:[ \t]+{_NUM})?)[ \t]+)?"
    rf"(?P<prefix>(?i:{_PREFIX_TYPES})\.?|R\.?(?=[ \t]+[^\W\d_a-z]))[ \t]+"
    rf"(?:(?:{_PARTICLE}[ \t]+)*{_CAP_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_CAP_WORD}){{0,3}}"
    rf"|(?P<lower>[^\W\d_][\w'’\-]*(?:[ \t]+{_ANY_WORD}){{0,2}}))"
    rf"(?:[ \t]+(?P<last>{_NUM})(?!\w))?{_ATTACHED_UNIT}"
)
_PREFIX_HINTS = (
    tuple(f"{word} " for word in _PREFIX_TYPES.split("|"))
    + tuple(f"{word}. " for word in ("ul", "al", "av", "avda", "ctra", "bd"))
    + ("r ", "r. ")
)

# 3. compound street word, number last: "Hauptstraße 5", "Simavikveien 231".
# Distinctive enough to end a compound in any case ("hauptstraße"); no English word
# ends in them.
_SUFFIXES = (
    r"strasse|straße|weg|gasse|allee|platz|chaussee|straat|laan|gracht|plein|vej|stræde|"
    r"vænget|veien|vegen|gata|gaten|gatan|vägen|katu|utca|útja|ulica|vegur|plaats|caddesi|"
    r"sokak|sokağı|körút|rakpart"
)
# Short endings that English words share ("committee", "brigade"): only capitalised
# compounds ("Luitetee" no, "Holmegade" yes).
_SHORT_SUFFIXES = r"gade|damm|ufer|steig|kade|singel|dreef|vei|väg|gränd|kuja|tie|cesta"
# Street words written apart after a name ("Grote Baan 477", "Piroska u. 97.").
_STREET_WORDS_AFTER = (
    r"str\.|straße|strasse|weg|laan|straat|baan|vej|vei|veien|gade|gata|gatan|vägen|väg|"
    r"katu|tie|tee|utca|u\.|út|útja|tér|ulica|cesta|caddesi|sokak|vegur|körút|krt\."
)
_SUFFIX_TUPLE = tuple(_SUFFIXES.split("|"))
_SHORT_SUFFIX_TUPLE = tuple(_SHORT_SUFFIXES.split("|"))
_STANDALONE = frozenset(w.replace("\\.", ".") for w in _STREET_WORDS_AFTER.split("|"))
_STOP_WORDS = frozenset(_STOP[3:-1].replace('r"\n    r"', "").split("|"))
_PARTICLES = frozenset(_PARTICLE[3:-1].split("|"))
# After the number of a number-last street: "97", "12a", "91.", then maybe a unit.
_NUMBER_END = re.compile(rf"[A-Za-z]?\.?(?!\w){_ATTACHED_UNIT}")


# 4. number, name, number, no street word: accepted only with a unit or a postal line
# after it, or "address" before it.
_NAME_NUMBERED = re.compile(
    rf"(?<![\w.,/\-]){_NUM}[ \t]+{_CAP_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+)?{_CAP_WORD}){{0,3}}"
    rf"[ \t]+\d{{1,5}}[A-Za-z]?(?![\w.,]\w){_NAMED_UNIT}"
)
_UNIT_AFTER = re.compile(rf"[ \t]*,?[ \t]*\n?[ \t>?]*{_UNIT}")

# 5. units and boxes on their own.
_UNIT_ALONE = re.compile(
    r"(?i)(?<![\w.])(?:apt|apartment|suite|ste)\.?[ \t]*(?:#|no\.?)?[ \t]*\d{1,5}[A-Za-z]?(?!\w)"
)
_PO_BOX = re.compile(
    r"(?i)(?<![\w.,/\-])(?:\d{1,5}[ \t]+)?(?:p\.?[ \t]?o\.?[ \t]?|post[ \t]+office[ \t]+)box[ \t]+\d{1,6}(?!\w)"
)
# US military mail (USPS Publication 28): "PSC 4926, Box 7979 / APO AA 63682".
_MILITARY = re.compile(
    r"(?i)(?:(?:PSC|CMR|Unit)[ \t]+\d{1,5},?[ \t]+Box[ \t]+\d{1,5}"
    r"|(?:USS|USNS|USNV|USCGC)[ \t]+[^\W\d_][\w'’\-]*(?:[ \t]+[^\W\d_][\w'’\-]*){0,2})?"
    r",?[ \t]*\n?[ \t>?]*(?<!\w)(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+\d{5}(?:-\d{4})?(?!\w)"
)
_MILITARY_BOX = re.compile(
    r"(?i)(?<!\w)(?:PSC|CMR|Unit)[ \t]+\d{1,5},?[ \t]+Box[ \t]+\d{1,5}(?!\w)"
)

# 6. postal lines. US states and territories (USPS codes).
_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|"
    "NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP"
)
_CITY = r"[^\W\d_][\w'’.\-]*(?:[ \t]+[^\W\d_][\w'’.\-]*){0,3}"
_POSTCODE = r"\d{5}(?:-\d{4})?|\d{4}|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}"
# After a street line on the same line: ", Springfield, IL 62704", ", 10115 Berlin",
# ", Port Edward, Laos 64693". Absorbed only when it reaches a postal code.
_TAIL = re.compile(
    rf"(?:,[ \t]*{_CITY}){{1,2}}?,?[ \t]+(?:(?:{_STATES})[ \t]+)?(?:{_POSTCODE})(?!\w)"
    rf"|,[ \t]*\d{{4,5}}[ \t]+{_CITY}"
)
_CITY_STATE_ZIP = re.compile(
    rf"(?<![\w])[A-Z][a-z]+(?:[ \-][A-Z][a-z]+){{0,2}},[ \t]*(?:{_STATES})[ \t]+\d{{5}}(?:-\d{{4}})?(?!\w)"
)
_ZIP_CUE = re.compile(
    rf"(?i)(?:zip|postal|post)[ \t]?code[^\w\n]{{0,3}}(?:is[ \t]+)?[ \t]*({_POSTCODE})(?!\w)"
)
_UK_POSTCODE = re.compile(r"(?<![\w])[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[ABD-HJLNP-UW-Z]{2}(?!\w)")
# A postal code ending one of the few short lines after a street line.
_LINE_POSTCODE = re.compile(r"(?<![\w\-])((?:[A-Z]{1,3}[ \t]+)?\d{4,5}(?:-\d{4})?)[ \t]*$")
_LINE_CITY_REGION_POSTCODE = re.compile(
    rf"[ \t>?]*({_CITY},[ \t]*[A-Z]{{2,3}}[ \t]+\d{{4,5}}(?:-\d{{4}})?)[ \t]*$"
)

_ADDRESS_WORD = re.compile(
    r"(?i)address|live[sd]? at|living at|located at|ship(?:ped)? to|deliver(?:ed)? to|send (?:it |them )?to|moved to"
)


def _cue_before(lowered: str, start: int) -> bool:
    return _ADDRESS_WORD.search(lowered, max(0, start - 60), start) is not None


def _extend(text: str, end: int) -> int:
    """Absorb a same-line postal tail after a street line."""
    m = _TAIL.match(text, end)
    return m.end() if m is not None else end


def lines_after(text: str, end: int) -> Iterator[tuple[int, str]]:
    """The (at most four) short lines after ``end`` as ``(offset, line)``: an address
    block's town, region and postal lines. Stops at the text's end or a line over 48
    characters."""
    pos = end
    for _ in range(4):
        nl = text.find("\n", pos)
        if nl == -1:
            return
        line_end = text.find("\n", nl + 1)
        if line_end == -1:
            line_end = len(text)
        line = text[nl + 1 : line_end]
        if len(line) > 48:
            return
        yield nl + 1, line
        pos = line_end


def _postal_lines(text: str, end: int, out: list[Detection]) -> None:
    """Tag the postal code in the (at most four) short lines after an address line."""
    for offset, line in lines_after(text, end):
        if _UNIT_ALONE.search(line) is None:
            line = line.rstrip(".?!,;")
            m = _LINE_CITY_REGION_POSTCODE.fullmatch(line) or _LINE_POSTCODE.search(line)
            if m is not None:
                out.append(
                    Detection(entity="ADDRESS", start=offset + m.start(1), end=offset + m.end(1))
                )
                return


def _followed_by_block(text: str, end: int) -> bool:
    """A unit, or a short line ending in a postal code, follows ``end``."""
    if _UNIT_AFTER.match(text, end) is not None:
        return True
    found: list[Detection] = []
    _postal_lines(text, end, found)
    return bool(found)


_NUMBER = re.compile(r"\d+")
_STRIP = ".,;:()[]{}\"'!?<>*"
_UNIT_ALONE_WORDS = frozenset(("apt", "apartment", "suite", "ste"))
_PREFIX_SET = frozenset(w for w in _PREFIX_TYPES.split("|")) | {"r"}
_STATE_SET = frozenset(_STATES.split("|"))
_MILITARY_CODES = frozenset(("aa", "ae", "ap"))


def _words_before(text: str, pos: int, limit: int) -> list[tuple[int, str]]:
    """Up to ``limit`` words right before ``pos`` on the same line: ``(start, word)``.

    Nearest first. Words are separated by spaces or tabs; a word ending in a comma (or
    other punctuation that ends a street name) ends the list, and so does a number
    glued to what precedes it ("SW1A", "abc123").
    """
    if pos == 0 or text[pos - 1] not in " \t":
        return []
    lo = max(0, pos - 96)
    nl = text.rfind("\n", lo, pos)
    if nl != -1:
        lo = nl + 1
    segment = text[lo:pos]
    out: list[tuple[int, str]] = []
    end = len(segment)
    for word in reversed(segment.split()[-limit:]):
        k = segment.rfind(word, 0, end)
        if word[-1] in _ENDS_NAME:
            break
        out.append((lo + k, word))
        end = k
    return out


_ENDS_NAME = frozenset(',;:()[]"')


def _is_name_word(word: str) -> bool:
    w = word.lower().rstrip(".")
    return bool(w) and w[0].isalpha() and w not in _STOP_WORDS


def _number_last_start(words: list[tuple[int, str]]) -> int:
    """Start of a number-last street ending just before the number, or -1.

    ``words`` are the words before the number, nearest first.
    """
    if not words:
        return -1
    start, word = words[0]
    low = word.lower()
    stem = low.rstrip(".")
    if len(stem) > 3 and (
        stem.endswith(_SUFFIX_TUPLE)
        or low.endswith("str.")
        or (word[0].isupper() and stem.endswith(_SHORT_SUFFIX_TUPLE) and len(stem) > 5)
    ):
        if len(words) > 1 and words[1][1].isdigit():
            return words[1][0]  # "64 Schaarsteinweg 97": the building number too
        return start
    if low in _STANDALONE or stem in _STANDALONE:
        names = words[1:3]
        taken = -1
        for i, (w_start, w) in enumerate(names):
            if i == 0 and not _is_name_word(w):
                return -1
            if _is_name_word(w) or w.lower() in _PARTICLES:
                taken = w_start
            else:
                break
        if taken == -1:
            return -1
        return taken
    return -1


_CUE_WORDS = ("address", "live", "living", "located", "ship", "deliver", "send", "moved")
# ASCII text as a class string: upper-case letters "A", lower-case "a", digits "0",
# spaces " ", newlines kept, anything else ".".
_CASE_TABLE = bytes(
    ord("A") if 65 <= i <= 90 else ord("a") if 97 <= i <= 122 else ord("0") if 48 <= i <= 57
    else ord(" ") if i in (9, 32) else 10 if i == 10 else ord(".")
    for i in range(256)
)  # fmt: skip
# Lower-case forms need one of these words ("12 main st", "apt. 731", "p.o. box 15",
# "zip code 94110", "46 via roma 74", "hochstrasse 63").
_LOWER_HINTS = (
    " st", " av", " rd", " road", " dr", " ln", " lane", " bl", " way", " ct", " court",
    " pl", " hw", " highway", " pk", " parkway", " sq", " ter", " cir", "apt", "suite",
    " ste", "box", "code", " via ", " rue ", " calle ", " rua ", " ul", " estrada ",
    " avenida ", "strasse", "weg ", "gasse", "platz", "straat", "laan", "vej ", "gade ",
    "veien", "gata", "katu", "utca", "ulica", " unit ", " flat ",
)  # fmt: skip


# Lower-case text needs one of these words before a number's neighbours are examined
# ("12 main st", "46 via roma 74", "apt. 731"). The pattern starts with a space, a
# literal the engine finds fast, and the words form a trie (one comparison per first
# letter).
_LOWER_HINT_WORDS = (
    "st", "av", "ave", "rd", "dr", "ln", "ct", "pl", "sq", "ter", "cir", "hwy", "pkwy", "blvd",
    "street", "avenue", "road", "drive", "lane", "boulevard", "way", "court", "place",
    "terrace", "highway", "parkway", "square", "circle", "via", "rue", "calle", "rua", "ul",
    "estrada", "avenida", "travessa", "apt", "apartment", "suite", "ste", "unit", "flat",
    "box", "po", "p.o", "po.", "p.o.",
)  # fmt: skip
_LOWER_HINT = re.compile(f" {word_trie(_LOWER_HINT_WORDS)}(?![a-z])")
_LOWER_BEFORE = (
    frozenset(("apt", "apartment", "suite", "ste", "box", "#", "no", "u", "str")) | _STANDALONE
)


_CAP_THEN_NUMBER = re.compile(rb"A[a]*\.? 0")
# In lower-case ASCII text: street, unit and box words and street compounds, checked
# with plain substring searches (a regex alternation would be tried at every space).
_LOWER_WORDS = (
    " st", " ave", " road", " rd", " dr", " lane", " ln", " blvd", " way", " via ",
    " rue ", " calle ", " rua ", " ul", "apt", "suite", "ste", "box", "code", "unit",
    "strasse", "weg ", "straat", "vej ", "gata", "gade ", "veien", "laan", "katu", "utca",
    "platz", "gasse", "allee", "court", "place", "square", "highway", "parkway", "terrace",
)  # fmt: skip


def address_possible(text: str, lowered: str) -> bool:
    """A necessary condition for the address forms in ASCII text, checked cheaply.

    Every form needs a number next to a capitalised word ("12 Main", "Suite 4",
    "AE 09012") or, in lower-case text, one of a few street, unit, box or postcode
    words (:data:`_LOWER_WORDS`). Non-ASCII text always passes.
    """
    if not text.isascii():
        return True
    classes = text.encode("ascii").translate(_CASE_TABLE)
    if (
        b"0 A" in classes
        or b"0a A" in classes
        or b"0A A" in classes
        or _CAP_THEN_NUMBER.search(classes) is not None
    ):
        return True
    return any(w in lowered for w in _LOWER_WORDS)


# The numbers (of at most five digits) where the loop of detect_addresses can find
# anything, found on the text's shape (see _shape.py) in one scan: a number after a space
# or tab (forms ending at a number), one or two digits after a letter (a UK postcode), or
# a number not glued to a word on its left and followed by a word, directly or after
# what is glued to it ("221B Baker", "12-14 Main"; forms starting at a number). Every
# other number leaves the loop at its first checks, so skipping it changes nothing.
_CANDIDATES = pattern_pair(
    r"0(?:(?<=[ \t]0)|(?<=[Aa{W}]0)(?=0?(?!0))"
    r"|(?<![Aa0_.,/\-]0)(?=0{0,4}(?:[ \t]|[\-Aa{W}][^ ]{0,6} )[Aa0{W}]))0{0,4}(?!0)"
)


def address_numbers(text: str, shaped: bytes | None) -> list[tuple[int, int]] | None:
    """Spans of the numbers :func:`detect_addresses` must visit, from ``shaped``.

    ``shaped`` is ``shape(text)``; ``None`` (non-ASCII digits) gives ``None``: visit
    every number.
    """
    if shaped is None:
        return None
    pattern = _CANDIDATES[0] if text.isascii() else _CANDIDATES[1]
    return [m.span() for m in pattern.finditer(shaped)]


def detect_addresses(
    text: str,
    lowered: str,
    out: list[Detection],
    numbers: list[tuple[int, int]] | None = None,
    segs: Segments | None = None,
) -> None:
    """Append the ``ADDRESS`` spans of ``text`` (``lowered`` is ``text.lower()``).

    Every address holds a number, so the scan visits each digit run once and tries,
    with cheap word checks first, the forms that could start or end there.
    ``numbers`` (from :func:`address_numbers`) narrows the visit to the numbers where
    a form can start or end; ``None`` visits every number (the same result, slower).
    ``segs`` is given when ``text`` is a joined batch (see :mod:`._segments`): the
    conditions on a whole text are then decided for each text of the batch.
    """
    if numbers is None:
        numbers = [m.span() for m in _NUMBER.finditer(text)]
    if not numbers:
        return
    # address_possible() gates the whole result; it is checked only once something is
    # found (rarely), which gives the same result as checking it first.
    found: list[Detection] = []
    _scan_numbers(text, lowered, numbers, found, segs)
    if not found:
        return
    if segs is None:
        if address_possible(text, lowered):
            out.extend(found)
        return
    possible: dict[int, bool] = {}
    for det in found:
        k = segs.index(det.start)
        ok = possible.get(k)
        if ok is None:
            lo, hi = segs.starts[k], segs.ends[k]
            ok = possible[k] = address_possible(text[lo:hi], lowered[lo:hi])
        if ok:
            out.append(det)


def _scan_numbers(
    text: str,
    lowered: str,
    numbers: list[tuple[int, int]],
    out: list[Detection],
    segs: Segments | None = None,
) -> None:
    lines: list[tuple[int, int]] = []  # street lines found, to look for postal lines after
    done = -1
    lower_hint: bool | None = None  # computed on first need, for the whole text
    hint_until = len(text)  # ... or, in a batch, for the text that ends here
    hint_from = 0

    def add(start: int, end: int, *, tail: bool = True) -> None:
        nonlocal done
        if tail:
            end = _extend(text, end)
            if text[end - 1] == "." and end - text.rfind(" ", start, end) > 5:
                end -= 1  # a sentence's full stop, not an abbreviation's ("St.")
        out.append(Detection(entity="ADDRESS", start=start, end=end))
        lines.append((start, end))
        done = max(done, end)

    for s, e in numbers:
        if s < done or e - s > 5:
            continue
        before_char = text[s - 1] if s else "\n"
        after_char = text[e : e + 1]
        # ---- forms that start at this number
        if (
            after_char
            and (after_char in " \t-" or after_char.isalpha())
            and not (before_char.isalnum() or before_char in "_.,/-")
        ):
            # The next word: capitalised, or lower-case in text with a street word.
            k = e if after_char in " \t" else text.find(" ", e, e + 8)
            first = text[k + 1 : k + 2] if k != -1 else ""
            if first.islower() or first.isdigit():
                if lower_hint is None or s >= hint_until:
                    if segs is not None:
                        hint_from, hint_until = segs.bounds(s)
                    lower_hint = _LOWER_HINT.search(lowered, hint_from, hint_until) is not None
                forward = lower_hint or first.isdigit()
            else:
                forward = first.isupper()
        else:
            forward = False
        if forward:
            rest = lowered[e : e + 80]
            after = rest.split(None, 7)
            if after and not rest[:1].isspace():
                after = after[1:]  # "221b baker", "12-14 main": skip what is glued on
            stripped = [w.strip(_STRIP) for w in after]
            if stripped and not _EN_HINTS.isdisjoint(stripped):
                m = _NUMBER_FIRST.match(text, s)
                if m is not None:
                    add(s, m.end())
                    continue
            if stripped and (
                stripped[0] in _PREFIX_SET
                or (len(stripped) > 1 and stripped[0].isdigit() and stripped[1] in _PREFIX_SET)
            ):
                m = _PREFIX_FORM.match(text, s)
                if m is not None and _prefix_ok(m, lowered):
                    add(s, m.end())
                    continue
            if any(w[:1].isdigit() for w in stripped[1:5]):
                m = _NAME_NUMBERED.match(text, s)
                if m is not None and (
                    m.group("unit") is not None
                    or _cue_before(lowered, s)
                    or _followed_by_block(text, m.end())
                ):
                    add(s, m.end())
                    continue
        # ---- forms that end at this number
        if before_char not in " \t":
            if before_char.isalpha() and e - s <= 2 and s >= 2:
                m = _UK_POSTCODE.search(text, max(0, s - 3), min(len(text), e + 7))
                if m is not None:
                    out.append(Detection(entity="ADDRESS", start=m.start(), end=m.end()))
            continue
        if "code" in lowered[max(0, s - 24) : s]:
            m = _ZIP_CUE.search(text, max(0, s - 24), min(len(text), e + 12))
            if m is not None:
                out.append(Detection(entity="ADDRESS", start=m.start(1), end=m.end(1)))
                continue
        segment = text[max(0, s - 40) : s - 1]
        k = max(segment.rfind(" "), segment.rfind("\n"), segment.rfind("\t"))
        prev_word = segment[k + 1 :].lstrip(">(\"'?*[")
        if not prev_word or not (
            prev_word[0].isupper()
            or prev_word.lower().rstrip(".:#") in _LOWER_BEFORE
            or prev_word.lower().rstrip(".").endswith(_SUFFIX_TUPLE)
        ):
            if not prev_word or not prev_word[0].isalpha():
                continue
            if lower_hint is None or s >= hint_until:
                if segs is not None:
                    hint_from, hint_until = segs.bounds(s)
                lower_hint = _LOWER_HINT.search(lowered, hint_from, hint_until) is not None
            if not lower_hint:
                continue
        words = _words_before(text, s, 8)
        if not words:
            continue
        if e - s == 5 and words[0][1].rstrip(",") in _STATE_SET:
            m = _CITY_STATE_ZIP.search(text, max(0, s - 48), min(len(text), e + 5))
            if m is not None:
                out.append(Detection(entity="ADDRESS", start=m.start(), end=m.end()))
                done = max(done, m.end())
                continue
        prev = words[0][1].lower().strip(_STRIP)
        if prev in _STOP_WORDS or not prev:
            continue
        start = _number_last_start(words)
        if start != -1:
            m = _NUMBER_END.match(text, e)
            if m is not None:
                add(start, m.end())
                continue
        for w_start, w in words:
            w_low = w.lower().rstrip(".")
            if w_low in _PREFIX_SET and (w_low != "r" or w == "R" or w == "R."):
                lead = _words_before(text, w_start, 2)
                begin = w_start
                if lead and lead[0][1].isdigit():
                    begin = lead[1][0] if len(lead) > 1 and lead[1][1].isdigit() else lead[0][0]
                m = _PREFIX_FORM.match(text, begin)
                if m is not None and m.end("last") == e and _prefix_ok(m, lowered):
                    add(begin, m.end())
                break
        if done > s:
            continue
        if prev in _UNIT_ALONE_WORDS or (
            prev in ("#", "no", "no.")
            and len(words) > 1
            and words[1][1].lower().strip(_STRIP) in _UNIT_ALONE_WORDS
        ):
            m = _UNIT_ALONE.search(text, max(0, s - 16), min(len(text), e + 2))
            if m is not None:
                out.append(Detection(entity="ADDRESS", start=m.start(), end=m.end()))
                lines.append((m.start(), m.end()))
                continue
        if prev == "box":
            m = _PO_BOX.search(text, max(0, s - 32), min(len(text), e + 1))
            if m is not None:
                add(m.start(), m.end())
                continue
            m = _MILITARY_BOX.search(text, max(0, s - 32), min(len(text), e + 1))
            if m is not None:
                out.append(Detection(entity="ADDRESS", start=m.start(), end=m.end()))
                lines.append((m.start(), m.end()))
                continue
        if (
            prev in _MILITARY_CODES
            and len(words) > 1
            and words[1][1].lower() in ("apo", "fpo", "dpo")
        ):
            m = _MILITARY.search(text, max(0, s - 96), min(len(text), e + 5))
            if m is not None:
                begin = m.start() + len(m.group()) - len(m.group().lstrip())
                out.append(Detection(entity="ADDRESS", start=begin, end=m.end()))
                done = max(done, m.end())
                continue
        if e - s == 1 and s >= 3 and text[s - 1] == " ":
            m = _UK_POSTCODE.search(text, max(0, s - 6), min(len(text), e + 3))
            if m is not None:
                out.append(Detection(entity="ADDRESS", start=m.start(), end=m.end()))
    if "\n" in text:
        for _start, end in lines:
            _postal_lines(text, end, out)


def _prefix_ok(m: re.Match[str], lowered: str) -> bool:
    """A prefix-form match has a house number and, when weak, more evidence."""
    first, last = m.group("first"), m.group("last")
    if first is None and last is None:
        return False  # a street without a house number is not an address
    # "sent via email 5 times": a lower-case name, or a prefix that is also an English
    # word, needs numbers on both sides or the word "address" before.
    prefix = m.group("prefix")
    weak = m.group("lower") is not None or (prefix.islower() and prefix.rstrip(".") in _AMBIGUOUS)
    return not weak or (first is not None and last is not None) or _cue_before(lowered, m.start())
