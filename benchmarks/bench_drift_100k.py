"""A drift report between two windows of 100,000 traces, and what it finds.

Run: ``python benchmarks/bench_drift_100k.py [--n 100000] [--held-out 5]``.

Two scenarios on perturbed banking77 traffic (``benchmarks/_traffic.py``), embedded with
``default_embedder()`` and stratified with ``HDBSCANStratifier(seed=0)`` (untimed):

1. *same distribution*: reference and new window are two independent draws (seeds 1 and
   2); the report should raise no alert.
2. *held out*: ``--held-out`` intents drawn by a seeded RNG are removed from the
   reference window; the report should name them as emerging.

Timed (CPU and wall, with the load average): ``detect_drift`` with its defaults, of which
the emerging (k-NN novelty) part. Peer, same run: scikit-learn's ``NearestNeighbors``
(``algorithm="auto"``) on the same pooled k-NN query the novelty test makes (40,000
points in 50 dimensions, 20,000 queries, k = 20).
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

import numpy as np
from _traffic import banking77_traffic

from livingeval.embed import default_embedder
from livingeval.stratify import HDBSCANStratifier, detect_drift
from livingeval.stratify import _drift as drift_module


def _timed(label: str, fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label}: {cpu:.1f} s CPU, {wall:.1f} s wall (load average {os.getloadavg()[0]:.1f})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--held-out", type=int, default=5)
    args = parser.parse_args()
    embedder = default_embedder()
    ref_texts, ref_intents, source = banking77_traffic(args.n, seed=1)
    new_texts, new_intents, _ = banking77_traffic(args.n, seed=2)
    print(f"traces: {source}; windows of {args.n:,}")
    ref_v, new_v = embedder.embed(ref_texts), embedder.embed(new_texts)

    # Time the emerging part on its own by wrapping the private step.
    spent: list[float] = []
    inner = drift_module._emerging

    def emerging(*a, **k):  # type: ignore[no-untyped-def]
        start = time.process_time()
        out = inner(*a, **k)
        spent.append(time.process_time() - start)
        return out

    drift_module._emerging = emerging  # type: ignore[assignment]

    print("-- same distribution")
    strata = HDBSCANStratifier(seed=0).fit(ref_v)
    report = _timed(
        "detect_drift 100k vs 100k", lambda: detect_drift(strata, new_v, reference_vectors=ref_v)
    )
    print(f"   of which emerging (k-NN novelty): {spent[-1]:.1f} s CPU")
    print(
        f"   alerts {len(report.alerts)}, shifted {len(report.shifted)}, emerging groups "
        f"{len(report.emerging)}, JS {report.js_divergence:.4f}"
    )

    print("-- held out")
    intents = sorted(set(ref_intents))
    held = sorted(np.random.default_rng(0).choice(intents, args.held_out, replace=False).tolist())
    keep = np.flatnonzero(~np.isin(np.asarray(ref_intents), held))
    ref_h = ref_v[keep]
    strata_h = HDBSCANStratifier(seed=0).fit(ref_h)
    report = _timed(
        f"detect_drift {keep.size:,} vs {args.n:,}",
        lambda: detect_drift(strata_h, new_v, reference_vectors=ref_h),
    )
    print(f"   of which emerging (k-NN novelty): {spent[-1]:.1f} s CPU")
    labels = np.asarray(new_intents)
    named = set()
    for group in report.emerging:
        top, count = Counter(labels[group.members].tolist()).most_common(1)[0]
        purity = float(np.isin(labels[group.members], held).mean())
        named.add(top)
        print(
            f"   group {group.size} traces ({group.share:.2%}), x{group.density_ratio:.3g}, "
            f"held-out purity {purity:.2f}, top {top} ({count}), alert {group.alert}"
        )
    print(f"   held out {held}; named {len(named & set(held))} of {len(held)}")
    drift_module._emerging = inner  # type: ignore[assignment]

    print("-- peer: sklearn NearestNeighbors on the novelty test's k-NN query")
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(0)
    pool = np.concatenate(
        [
            new_v[rng.choice(args.n, 20_000, replace=False)],
            ref_v[rng.choice(args.n, 20_000, replace=False)],
        ]
    )
    pool = (pool - pool.mean(axis=0)) @ np.linalg.svd(
        pool - pool.mean(axis=0), full_matrices=False
    )[2][:50].T
    pool = np.ascontiguousarray(pool, dtype=np.float32)
    index = NearestNeighbors(n_neighbors=21).fit(pool)
    _timed(
        "sklearn NearestNeighbors kneighbors (20,000 queries, 40,000 points)",
        lambda: index.kneighbors(pool[:20_000]),
    )
    from livingeval.stratify._novelty import knn_into

    _timed("livingeval knn_into (same query)", lambda: knn_into(pool[:20_000], pool, 21))


if __name__ == "__main__":
    main()
