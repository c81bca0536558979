"""Context rules and gazetteers that sharpen a statistical NER model on people and places.

A small NER model misses lower-case names, foreign names and towns, and often gives
a name the wrong label ("Brandon" as a place). These rules use evidence the model
underweights:

- **cues**: honorifics (``Mr.``, ``Dr.``), "my name is", "named", "calls me",
  "Dear", a ``Name:`` field; "lives in", "moved to", "I'm from", a ``Where:`` field;
- **gazetteers** (``_data/gazetteer.txt.gz``, built by ``_build_gazetteer`` from the US
  Census name files and GeoNames): given names, surnames, countries, US states and
  cities over 50,000 people. Entries that are also common English words ("Will",
  "Reading") or both a person's and a place's name ("Florence") count only with a
  cue or a neighbouring name;
- **address blocks**: the town and country lines under a street line are places.

The model's own spans are kept, relabelled when the gazetteers disagree with the
model (a given name followed by a surname is a person; a country is a place).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from functools import cache, lru_cache
from importlib import resources

import attrs

from livingeval.scrub._addresses import _STOP_WORDS, detect_addresses, lines_after
from livingeval.scrub._entities import Detection

__all__ = ["Gazetteer", "gazetteer", "refine_entities"]


@attrs.frozen
class Gazetteer:
    """Name and place lists, lower-cased, with their ambiguity flags."""

    given: frozenset[str]
    surnames: frozenset[str]
    places: frozenset[str]
    common: frozenset[str]
    """Entries that are also common English words."""
    person_places: frozenset[str]
    """Places that are also people's names."""


@cache
def gazetteer() -> Gazetteer:
    """The bundled gazetteer, loaded once per process (read-only)."""
    raw = resources.files("livingeval.scrub").joinpath("_data/gazetteer.txt.gz").read_bytes()
    given: set[str] = set()
    surnames: set[str] = set()
    places: set[str] = set()
    common: set[str] = set()
    person_places: set[str] = set()
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        kind, name, flags = line.split("\t")
        key = name.lower()
        {"G": given, "S": surnames, "P": places}[kind].add(key)
        if "w" in flags:
            common.add(key)
        if "n" in flags:
            person_places.add(key)
    return Gazetteer(
        given=frozenset(given),
        surnames=frozenset(surnames),
        places=frozenset(places),
        common=frozenset(common),
        person_places=frozenset(person_places),
    )


# Words that look like names but name times and things.
_NOT_NAMES = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "today",
        "tomorrow",
        "yesterday",
        "christmas",
        "easter",
        "god",
        "lord",
        "i",
        "the",
        "a",
        "an",
        "this",
        "that",
        "there",
        "here",
        "hi",
        "hello",
        "hey",
        "dear",
        "thanks",
        "please",
        "yes",
        "no",
        "ok",
        "okay",
        "sir",
        "madam",
        "him",
        "her",
        "them",
        "me",
        "you",
        "us",
        "it",
        "his",
        "hers",
        "its",
        "their",
        "they",
        "she",
        "he",
        "we",
        "our",
        "your",
        "my",
        "mine",
        "everyone",
        "someone",
        "somebody",
        "anyone",
        "nobody",
    ]
)
_PARTICLES = frozenset(
    [
        "de",
        "da",
        "di",
        "del",
        "della",
        "van",
        "von",
        "der",
        "den",
        "du",
        "le",
        "la",
        "dos",
        "das",
        "do",
        "bin",
        "ibn",
        "al",
        "el",
    ]
)
# Words that end a name run ("Jennifer Shcherbakov Apt. 712", "Ms. Lee Street").
_NOT_IN_NAMES = frozenset(
    [
        "apt",
        "apartment",
        "suite",
        "ste",
        "unit",
        "flat",
        "room",
        "floor",
        "street",
        "st",
        "avenue",
        "ave",
        "road",
        "rd",
        "drive",
        "lane",
        "boulevard",
        "blvd",
        "way",
        "court",
        "place",
        "square",
        "highway",
        "box",
        "po",
        "inc",
        "ltd",
        "llc",
        "corp",
        "co",
        "company",
        "group",
        "bank",
        "university",
        "hospital",
        "school",
        "and",
        "or",
        "of",
        "the",
        "corporation",
        "corp",
        "technologies",
        "technology",
        "solutions",
        "systems",
        "partners",
        "associates",
        "holdings",
        "foundation",
        "institute",
        "agency",
        "services",
        "international",
        "industries",
        "consulting",
        "labs",
    ]
)
_STREET_WORDS = frozenset(
    [
        "street",
        "st",
        "avenue",
        "ave",
        "road",
        "rd",
        "drive",
        "dr",
        "lane",
        "ln",
        "boulevard",
        "blvd",
        "way",
        "court",
        "ct",
        "place",
        "pl",
        "square",
        "sq",
        "terrace",
        "highway",
        "hwy",
        "parkway",
        "close",
        "crescent",
        "gardens",
        "grove",
        "row",
    ]
)
_HONORIFICS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "sir",
        "madam",
        "mister",
        "dame",
        "lady",
        "lord",
        "mme",
        "mlle",
        "herr",
        "frau",
        "sr",
        "sra",
    ]
)
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_PERSON_CUE = re.compile(
    r"(?i)(?:\b(?:says|said|asks|asked|replied|shouted at|told|according to|starring|"
    r"directed by|written by|assistant to|married to|daughter of|son of|wife of|husband of)|"
    r"\bmy name is|\bname is|\bname's|\bnamed|\bcalled|\bcalls me|\bcall me|"
    r"\bi am|\bi'm|\bthis is|\bdear|\bhi|\bhello|\bhey|\bthanks|\bthank you|\bregards|"
    r"\bsincerely|\bspeak (?:to|with)|\bask for|\bname\s*:|\bcontact\s*:|\bfrom\s*:|\bto\s*:)"
    r"[ \t,]*$"
)
_LOWER_PERSON_CUE = re.compile(
    r"(?i)(?:\b(?:says|said|asks|asked|replied|shouted at|told|according to|starring|"
    r"directed by|written by|assistant to|married to|daughter of|son of|wife of|husband of)|"
    r"\bmy name is|\bname is|\bnamed|\bcalls me|\bcall me|\bname\s*:|\b(?:mr|mrs|ms|dr)\.?)[ \t]*$"
)
_PLACE_CUE = re.compile(
    r"(?i)(?:\b(?:lives?|living|lived|resides?|residing|based|located|born|grew up|raised|"
    r"settled|stationed|stuck|stranded)\s+(?:in|at|near)|\b(?:moved|relocated|relocating|"
    r"moving|trip|travel(?:l?ing|l?ed)?|flying|flew|flight|drive|driving|going|headed|"
    r"heading|welcome)\s+(?:back\s+)?to|\b(?:am|are|is|was|were|'m|'re|'s|come|comes|came|"
    r"originally|hails?|here|back)\s+from|\barrived\s+(?:at|in)|\bhome\s?(?:city|town)|\b(?:i am|i'm|we are|we're|currently)\s+in|\bvisit(?:ing|ed)?|"
    r"\b(?:where|location|city|town|hometown)\s*:|\b(?:city|town|village) of)[ \t]*$"
)
# "Hleb's address", "Ana's phone": the owner of personal data is a person.
_POSSESSIVE_CUE = re.compile(
    r"['’]s[ \t]+(?:address|phone|number|email|e-mail|birthday|account|card|husband|wife|"
    r"mother|father|son|daughter|brother|sister|friend|boss)\b"
)
# A speaker label opening a line of dialogue: 'Kalman: "Who are you?"'.
_SPEAKER = re.compile(r"[ \t]*:[ \t]*\\?[\"“]")
_PLACE_PARTICLES = _PARTICLES | frozenset(
    ["nad", "pod", "am", "an", "im", "sur", "sous", "upon", "on"]
)
_WEAK_PLACE_CUE = re.compile(r"(?i)\b(?:in|to|from|at|near|around|outside|across)[ \t]+$")


@attrs.frozen
class _Token:
    start: int
    end: int
    word: str
    key: str
    cap: bool
    initial: bool


def _tokens(text: str) -> list[_Token]:
    out = []
    for m in _WORD.finditer(text):
        word = m.group()
        end = m.end()
        if word.endswith(("'s", "’s")) and len(word) > 3:
            word, end = word[:-2], end - 2
        before = text[: m.start()].rstrip(" \t\"'(>*")
        initial = not before or before[-1] in ".!?\n:;"
        out.append(
            _Token(
                start=m.start(),
                end=end,
                word=word,
                key=word.lower(),
                cap=word[0].isupper(),
                initial=initial,
            )
        )
    return out


def _adjacent(text: str, a: _Token, b: _Token) -> bool:
    gap = text[a.end : b.start]
    return 0 < len(gap) <= 2 and gap.strip(" \t") == ""


def _is_lowercase_text(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) <= len(letters) // 40


def _name_run(text: str, tokens: list[_Token], i: int, lower: bool, gaz: Gazetteer) -> int:
    """Index one past the last token of the name starting at ``tokens[i]``."""
    j = i + 1
    while j < len(tokens) and j - i < 5 and _adjacent(text, tokens[j - 1], tokens[j]):
        t = tokens[j]
        if t.key in _NOT_IN_NAMES or t.key in _HONORIFICS:
            break
        if t.key in _PARTICLES:
            k = j
            while k < len(tokens) and tokens[k].key in _PARTICLES and k - j < 3:
                k += 1
            if k < len(tokens) and tokens[k].cap and _adjacent(text, tokens[k - 1], tokens[k]):
                j = k + 1
                continue
            break
        if lower:
            if t.key in gaz.surnames and t.key not in gaz.common and t.key not in _NOT_NAMES:
                j += 1
                continue
            break
        if t.cap and t.key not in _NOT_NAMES and t.key not in _HONORIFICS:
            if t.key in gaz.places and t.key not in gaz.surnames and t.key not in gaz.given:
                break
            j += 1
            continue
        break
    return j


def _span(tokens: list[_Token], i: int, j: int) -> tuple[int, int]:
    return tokens[i].start, tokens[j - 1].end


def _place_at(text: str, tokens: list[_Token], i: int, gaz: Gazetteer) -> int:
    """One past the last token of the longest gazetteer place starting at ``i``, or -1."""
    for n in (4, 3, 2, 1):
        j = i + n
        if j > len(tokens):
            continue
        if any(not _adjacent(text, tokens[k], tokens[k + 1]) for k in range(i, j - 1)):
            continue
        key = " ".join(text[tokens[i].start : tokens[j - 1].end].lower().split())
        if key in gaz.places or " ".join(t.key for t in tokens[i:j]) in gaz.places:
            return j
    return -1


# ", Springfield" right after a street line: the town (address grammar: street, town).
_TOWN_AFTER = re.compile(
    r",[ \t]*([^\W\d_][\w'’\-]*(?:[ \t]+(?:de|del|la|le|nad|am|an|im|sur|upon|on)?[ \t]*"
    r"[^\W\d_][\w'’\-]*){0,3})(?=[ \t]*(?:[.,;!?\n)]|$))"
)


def _address_block_places(text: str, out: list[tuple[int, int, str]]) -> None:
    """Town and country lines under a street line (``12 Main St\\nSpringfield\\nUSA``)."""
    found: list[Detection] = []
    detect_addresses(text, text.lower(), found)
    ends = sorted(d.end for d in found)
    if "<ADDRESS" in text:
        ends += [m.end() for m in re.finditer(r"<ADDRESS[_0-9a-f]*>", text)]
    for end in ends:
        town = _TOWN_AFTER.match(text, end)
        if town is not None:
            out.append((town.start(1), town.end(1), "LOCATION"))
        for offset, line in lines_after(text, end):
            stripped = line.strip(" \t>?*")
            lo = offset + line.find(stripped) if stripped else offset
            if not stripped or re.match(r"(?i)(?:apt|apartment|suite|ste|unit|flat)\b", stripped):
                continue
            m = re.match(r"[^\W\d_][^\d\n,]*?(?=(?:,?\s+[A-Z]{1,3})?\s*\d|\s*,|\s*$)", stripped)
            if m is None:
                continue
            name = m.group().rstrip(" ,")
            if len(name) >= 3 and name.lower() != "nan":
                out.append((lo, lo + len(name), "LOCATION"))


def _rule_spans(text: str, gaz: Gazetteer) -> list[tuple[int, int, str]]:
    tokens = _tokens(text)
    lower = _is_lowercase_text(text)
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        before = text[max(0, t.start - 40) : t.start]
        if (
            i + 1 < len(tokens)
            and tokens[i + 1].key in _STREET_WORDS
            and _adjacent(text, t, tokens[i + 1])
        ):
            i += 2  # "Elm Road", "Madison Avenue": a street, not a person
            continue
        # ---- multi-word places first ("Marshall Islands", "New York")
        if t.cap or lower:
            j = _place_at(text, tokens, i, gaz)
            if j >= i + 2:
                out.append((*_span(tokens, i, j), "LOCATION"))
                i = j
                continue
        # ---- people
        if t.key in _HONORIFICS and i + 1 < len(tokens):
            nxt = tokens[i + 1]
            gap = text[t.end : nxt.start]
            if gap.strip(" \t.") == "" and len(gap) <= 3 and (nxt.cap or lower):
                j = _name_run(text, tokens, i + 1, lower, gaz)
                out.append((t.start, tokens[j - 1].end, "PERSON"))
                i = j
                continue
        cue = (
            t.key not in _NOT_NAMES
            and t.key not in _STOP_WORDS
            and (
                _POSSESSIVE_CUE.match(text, t.end) is not None
                or (t.cap and _SPEAKER.match(text, t.end) is not None and (t.initial or i == 0))
                or (t.cap and _PERSON_CUE.search(before) is not None)
                or (not t.cap and _LOWER_PERSON_CUE.search(before) is not None)
            )
        )
        known = (t.key in gaz.given or t.key.split("-")[0] in gaz.given) and (
            t.key not in _NOT_NAMES
        )
        # lower-case "david lange": a given name followed by a surname
        pair = (
            lower
            and known
            and i + 1 < len(tokens)
            and _adjacent(text, t, tokens[i + 1])
            and tokens[i + 1].key in gaz.surnames
            and tokens[i + 1].key not in gaz.common
        )
        if (
            cue
            or pair
            or (
                known
                and (t.cap or (lower and t.key not in gaz.common))
                and (not t.initial or t.key not in gaz.common or i + 1 < len(tokens))
                and t.key not in gaz.places
            )
            or (
                known
                and t.cap
                and t.key in gaz.places
                and _name_run(text, tokens, i, False, gaz) > i + 1
            )
        ):
            j = _name_run(text, tokens, i, lower or not t.cap, gaz)
            if (
                cue
                and not t.cap
                and j == i + 1
                and j < len(tokens)
                and _adjacent(text, t, tokens[j])
                and tokens[j].key not in _STOP_WORDS
                and tokens[j].key not in gaz.common
                and tokens[j].key not in gaz.places
            ):
                j += 1  # "my name is olga petrenko"
            ambiguous = t.key in gaz.common or t.key in gaz.person_places
            if (cue or pair or j > i + 1 or not ambiguous or not t.initial) and not (
                not cue
                and j == i + 1
                and ambiguous
                and _WEAK_PLACE_CUE.search(before) is not None
                and t.key in gaz.places
            ):
                out.append((*_span(tokens, i, j), "PERSON"))
                i = j
                continue
        if (
            t.cap
            and not t.initial
            and t.key in gaz.surnames
            and t.key not in gaz.common
            and t.key not in gaz.places
            and t.key not in _NOT_NAMES
            and t.key not in _NOT_IN_NAMES
            and not t.word.isupper()
        ):
            j = _name_run(text, tokens, i, False, gaz)
            out.append((*_span(tokens, i, j), "PERSON"))
            i = j
            continue
        # ---- places
        if t.cap or lower:
            j = _place_at(text, tokens, i, gaz)
            strong = _PLACE_CUE.search(before) is not None
            if strong and t.cap and t.key not in _NOT_NAMES:
                k = i + 1
                while (
                    k < len(tokens)
                    and k - i < 5
                    and _adjacent(text, tokens[k - 1], tokens[k])
                    and (tokens[k].cap or tokens[k].key in _PLACE_PARTICLES)
                ):
                    k += 1
                while k > i + 1 and tokens[k - 1].key in _PLACE_PARTICLES:
                    k -= 1
                j = max(j, k)
            if j != -1:
                key = " ".join(x.key for x in tokens[i:j])
                flagged = key in gaz.common or key in gaz.person_places or key in _NOT_NAMES
                evidence = strong or _WEAK_PLACE_CUE.search(before) is not None or j > i + 1
                if (not flagged or evidence) and (t.cap or key not in gaz.common):
                    out.append((*_span(tokens, i, j), "LOCATION"))
                    i = j
                    continue
            elif (
                strong
                and (t.cap or lower)
                and t.key not in _NOT_NAMES
                and t.key not in gaz.given
                and (t.cap or t.key not in gaz.common)
            ):
                j = i + 1
                while (
                    j < len(tokens)
                    and j - i < 4
                    and _adjacent(text, tokens[j - 1], tokens[j])
                    and (
                        tokens[j].cap
                        or tokens[j].key in _PARTICLES
                        or (
                            lower
                            and j == i + 1
                            and tokens[j].key not in _NOT_IN_NAMES
                            and tokens[j].key not in gaz.common
                        )
                    )
                ):
                    j += 1
                out.append((*_span(tokens, i, j), "LOCATION"))
                i = j
                continue
        i += 1
    structural: list[tuple[int, int, str]] = []
    _address_block_places(text, structural)
    if structural:  # a town line or ", Town" after a street outranks a name guess
        out = [r for r in out if not any(_overlaps(r, x) for x in structural)] + structural
    _coordinated_people(text, tokens, out)
    return out


def _coordinated_people(text: str, tokens: list[_Token], out: list[tuple[int, int, str]]) -> None:
    """Capitalised names listed with a person are people ("Mazzi, Bowman and Hill")."""
    people = [(s, e) for s, e, entity in out if entity == "PERSON"]
    if not people:
        return
    taken = [(s, e) for s, e, _ in out]
    changed = True
    while changed:
        changed = False
        for t in tokens:
            if not t.cap or t.key in _NOT_NAMES or t.key in _NOT_IN_NAMES:
                continue
            if any(s < t.end and t.start < e for s, e in taken):
                continue
            for s, e in people:
                left = text[e : t.start]
                right = text[t.end : s]
                if (t.start >= e and _LIST_GAP.fullmatch(left)) or (
                    t.end <= s and _LIST_GAP.fullmatch(right)
                ):
                    out.append((t.start, t.end, "PERSON"))
                    people.append((t.start, t.end))
                    taken.append((t.start, t.end))
                    changed = True
                    break


_LIST_GAP = re.compile(r"(?:,[ \t]*|[ \t]+(?:and|&|or)[ \t]+|,[ \t]*(?:and|&|or)[ \t]+)")


def _overlaps(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def refine_entities(text: str, spans: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The model's ``(start, end, entity)`` spans, relabelled and completed by the rules.

    ``entity`` is a livingeval type (``PERSON``, ``LOCATION``, ``ORG``). A rule span
    wins over a model span it overlaps; other model spans are relabelled when the
    gazetteers say so. Pure, so results for repeated texts are reused.
    """
    return list(_refine(text, tuple(spans)))


@lru_cache(maxsize=8192)
def _refine(text: str, spans: tuple[tuple[int, int, str], ...]) -> tuple[tuple[int, int, str], ...]:
    return tuple(_refine_uncached(text, spans))


def _refine_uncached(
    text: str, spans: Iterable[tuple[int, int, str]]
) -> list[tuple[int, int, str]]:
    gaz = gazetteer()
    rules = _rule_spans(text, gaz)
    out = list(rules)
    for start, end, entity in spans:
        if entity == "PERSON":
            # "Miss Ashley Kvamme Apt": a unit or street word is not part of the name
            tail = _WORD.findall(text[start:end])
            while tail and tail[-1].lower() in _NOT_IN_NAMES:
                cut = text.rfind(tail.pop(), start, end)
                end = len(text[:cut].rstrip(" \t.,"))
            if end <= start:
                continue
        span = (start, end, entity)
        if any(_overlaps(span, r) for r in rules):
            if not any(_overlaps(span, r) and r[2] != entity for r in rules):
                out.append(span)
            continue
        words = [w.lower() for w in _WORD.findall(text[start:end])]
        key = " ".join(words)
        if entity != "LOCATION" and key in gaz.places and key not in gaz.person_places:
            entity = "LOCATION"
        elif (
            entity != "PERSON"
            and words
            and words[0] in gaz.given
            and (words[0] not in gaz.common or text[start].isupper())
            and key not in gaz.places
            and all(w in gaz.given or w in gaz.surnames or w in _PARTICLES for w in words)
        ):
            entity = "PERSON"
        out.append((start, end, entity))
    return out
