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

from livingeval.scrub._entities import Detection

__all__ = ["detect_addresses"]

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
_NUMBER_LAST = re.compile(
    rf"(?<![\w.,/\-])(?:{_NUM}[ \t]+)?"
    rf"(?:(?:[^\W\d_]{{2,}}(?i:{_SUFFIXES})|[^\W\d_a-z]\w+(?:{_SHORT_SUFFIXES}))"
    rf"|(?:(?:{_PARTICLE}|{_ANY_WORD})[ \t]+){{1,2}}(?i:{_STREET_WORDS_AFTER}))"
    rf"\.?[ \t]+\d{{1,5}}[A-Za-z]?\.?(?!\w){_ATTACHED_UNIT}"
)
_SUFFIX_HINTS = tuple(
    w.replace("\\.", ".")
    for w in (_SUFFIXES + "|" + _SHORT_SUFFIXES + "|" + _STREET_WORDS_AFTER).split("|")
)

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


def _postal_lines(text: str, end: int, out: list[Detection]) -> None:
    """Tag the postal code in the (at most four) short lines after an address line."""
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
        if _UNIT_ALONE.search(line) is None:
            line = line.rstrip(".?!,;")
            m = _LINE_CITY_REGION_POSTCODE.fullmatch(line) or _LINE_POSTCODE.search(line)
            if m is not None:
                out.append(
                    Detection(entity="ADDRESS", start=nl + 1 + m.start(1), end=nl + 1 + m.end(1))
                )
                return
        pos = line_end


def _followed_by_block(text: str, end: int) -> bool:
    """A unit, or a short line ending in a postal code, follows ``end``."""
    if _UNIT_AFTER.match(text, end) is not None:
        return True
    found: list[Detection] = []
    _postal_lines(text, end, found)
    return bool(found)


def detect_addresses(text: str, lowered: str, out: list[Detection]) -> None:
    """Append the ``ADDRESS`` spans of ``text`` (``lowered`` is ``text.lower()``)."""
    lines: list[tuple[int, int]] = []  # street lines found, to look for postal lines after

    def add(start: int, end: int) -> None:
        end = _extend(text, end)
        if text[end - 1] == "." and end - text.rfind(" ", start, end) > 5:
            end -= 1  # a sentence's full stop, not an abbreviation's ("St.")
        out.append(Detection(entity="ADDRESS", start=start, end=end))
        lines.append((start, end))

    words = None
    if any(h in lowered for h in (" st", " ave", " av", " road", " rd", " blvd", " boulevard", " lane", " ln", " dr", " court", " ct", " pl", " terrace", " ter", " parkway", " pkwy", " sq", " highway", " hwy", " way", " cir", " cres", " close", " alley", " trail", " trl", " plaza", " loop", " row", " mews", " grove", " gardens", " expy", " expressway", " freeway", " fwy", " pike", " causeway", " esplanade", " promenade")):  # fmt: skip
        words = {w.strip(".,;:()[]\"'") for w in lowered.split()}
    if words is not None and not words.isdisjoint(_EN_HINTS):
        for m in _NUMBER_FIRST.finditer(text):
            add(m.start(), m.end())
    if any(h in lowered for h in _PREFIX_HINTS):
        for m in _PREFIX_FORM.finditer(text):
            first, last = m.group("first"), m.group("last")
            if first is None and last is None:
                continue  # a street without a house number is not an address
            both = first is not None and last is not None
            # "sent via email 5 times": a lower-case name, or a prefix that is also an
            # English word, needs numbers on both sides or the word "address" before.
            weak = m.group("lower") is not None or (
                m.group("prefix").islower() and m.group("prefix").rstrip(".") in _AMBIGUOUS
            )
            if not weak or both or _cue_before(lowered, m.start()):
                add(m.start(), m.end())
    if any(h in lowered for h in _SUFFIX_HINTS):
        for m in _NUMBER_LAST.finditer(text):
            add(m.start(), m.end())
    covered = [(d.start, d.end) for d in out if d.entity == "ADDRESS"]
    for m in _NAME_NUMBERED.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in covered):
            continue
        if (
            m.group("unit") is not None
            or _cue_before(lowered, m.start())
            or _followed_by_block(text, m.end())
        ):
            add(m.start(), m.end())
    if "apt" in lowered or "suite" in lowered or "ste" in lowered or "apartment" in lowered:
        for m in _UNIT_ALONE.finditer(text):
            out.append(Detection(entity="ADDRESS", start=m.start(), end=m.end()))
            lines.append((m.start(), m.end()))
    if "box" in lowered:
        for m in _PO_BOX.finditer(text):
            add(m.start(), m.end())
    if "box" in lowered or "po " in lowered:
        for m in _MILITARY.finditer(text):
            start = m.start() + len(m.group()) - len(m.group().lstrip())
            out.append(Detection(entity="ADDRESS", start=start, end=m.end()))
        for m in _MILITARY_BOX.finditer(text):
            out.append(Detection(entity="ADDRESS", start=m.start(), end=m.end()))
    if "code" in lowered:
        for m in _ZIP_CUE.finditer(text):
            out.append(Detection(entity="ADDRESS", start=m.start(1), end=m.end(1)))
    for m in _CITY_STATE_ZIP.finditer(text):
        out.append(Detection(entity="ADDRESS", start=m.start(), end=m.end()))
    for m in _UK_POSTCODE.finditer(text):
        out.append(Detection(entity="ADDRESS", start=m.start(), end=m.end()))
    if "\n" in text:
        for _start, end in lines:
            _postal_lines(text, end, out)
