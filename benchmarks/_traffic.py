"""Realistic query traffic for the stratification benchmarks.

``banking77_traffic(n, seed)`` draws ``n`` texts from banking77 (train + test, 13,083
real customer queries over 77 intents, ``../shared/data/intents/banking77``) and perturbs
each draw with seeded noise, as production traffic repeats an intent in many wordings:
a greeting or sign-off (40% of texts), dropped words (5% of words), swapped adjacent
letters (5% of words). Without the shared data it falls back to
``livingeval.demo.generate_window`` (the demo's traffic generator, ~11 intents); the
``source`` string says which one was used.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "intents" / "banking77"

_PREFIXES = ("hi, ", "hello ", "hey there, ", "quick question: ", "sorry to bother you but ")
_SUFFIXES = (" thanks", " thank you!", " asap", " please", " ??", " (urgent)")


def banking77() -> tuple[list[str], list[str]]:
    """banking77 train + test: ``(texts, intents)``; empty lists without the shared data."""
    texts: list[str] = []
    intents: list[str] = []
    for split in ("train", "test"):
        path = DATA / f"{split}.csv"
        if not path.is_file():
            return [], []
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                texts.append(row["text"])
                intents.append(row["category"])
    return texts, intents


def _perturb(text: str, rng: np.random.Generator) -> str:
    words = []
    for word, u in zip(text.split(), rng.random(len(text.split())), strict=True):
        if u < 0.05:
            continue  # dropped word
        if u < 0.10 and len(word) > 3:
            j = int(rng.integers(0, len(word) - 1))
            word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]  # swapped letters
        words.append(word)
    head = _PREFIXES[int(rng.integers(len(_PREFIXES)))] if rng.random() < 0.2 else ""
    tail = _SUFFIXES[int(rng.integers(len(_SUFFIXES)))] if rng.random() < 0.2 else ""
    return head + " ".join(words) + tail


def banking77_traffic(n: int, seed: int = 0) -> tuple[list[str], list[str], str]:
    """``n`` perturbed banking77 queries: ``(texts, intents, source description)``."""
    texts, intents = banking77()
    rng = np.random.default_rng(seed)
    if not texts:
        from livingeval.demo import generate_window

        window = generate_window(n, seed=seed)
        out = [t.messages[-1].content or "" for t in window.traces]
        return out, ["?"] * n, "livingeval.demo.generate_window (banking77 not found)"
    picks = rng.integers(0, len(texts), n)
    out = [_perturb(texts[int(i)], rng) for i in picks]
    source = "banking77 train+test texts with seeded perturbations (benchmarks/_traffic.py)"
    return out, [intents[int(i)] for i in picks], source
