"""Assign 100,000 new traces to fitted strata (target: < 10 s).

Run: ``python benchmarks/bench_stratify_assign.py [--n 100000] [--peer-n 10000]``.

Strata are fitted (untimed) on one window of ``--n`` traces embedded with
``default_embedder()``; a second window of ``--n`` new traces (another seed) is embedded
(untimed) and then assigned with ``HDBSCANStrata.assign`` (timed: wall and CPU).

Peer, on the same vectors: UMAP (pynndescent index) + HDBSCAN fitted on the same fit
sample, then ``UMAP.transform`` + ``hdbscan.approximate_predict`` (what BERTopic's
``transform`` does after embedding), measured on ``--peer-n`` new traces and
**extrapolated linearly** to ``--n``. Both report their agreement with the new traces'
source intents. Traces: see ``benchmarks/_traffic.py``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
from _traffic import banking77_traffic

from livingeval.embed import default_embedder
from livingeval.stratify import HDBSCANStratifier
from livingeval.stratify._stratifier import HDBSCANStrata


def _quality(truth: list[str], labels: np.ndarray) -> str:
    from sklearn.metrics import adjusted_rand_score

    y = np.unique(np.asarray(truth), return_inverse=True)[1]
    return f"ARI {adjusted_rand_score(y, labels):.3f} vs source intents, unassigned {np.mean(labels < 0):.1%}"


def _peer(strata: HDBSCANStrata, fitted: np.ndarray, new: np.ndarray, truth: list[str]) -> None:
    try:
        import hdbscan
        import umap
    except ImportError as exc:
        print(f"peer skipped: {exc}")
        return
    sample = fitted[strata.sample_indices]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(n_neighbors=15, n_components=5, min_dist=0.0, random_state=0)
        reduced = reducer.fit_transform(sample)
        clusterer = hdbscan.HDBSCAN(min_cluster_size=15, min_samples=5, prediction_data=True)
        clusterer.fit(reduced)
        reducer.transform(new[:200])  # numba JIT of the transform path, untimed
        start = time.perf_counter(), time.process_time()
        labels, _ = hdbscan.approximate_predict(clusterer, reducer.transform(new))
    wall = time.perf_counter() - start[0]
    cpu = time.process_time() - start[1]
    print(
        f"peer UMAP.transform + hdbscan.approximate_predict: {wall:.1f} s wall ({cpu:.1f} s CPU)"
        f" for n={len(new):,}; LINEAR EXTRAPOLATION to 100,000: {wall * 1e5 / len(new):,.0f} s"
        f" wall ({cpu * 1e5 / len(new):,.0f} s CPU); {_quality(truth, np.asarray(labels))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--peer-n", type=int, default=10_000)
    args = parser.parse_args()
    embedder = default_embedder()
    texts, _, source = banking77_traffic(args.n, seed=0)
    new_texts, new_truth, _ = banking77_traffic(args.n, seed=1)
    print(f"traces: fit window and new window of {args.n:,} texts each, from {source}")
    fitted = embedder.embed(texts)
    new = embedder.embed(new_texts)
    strata = HDBSCANStratifier(seed=0).fit(fitted)
    strata.assign(new[:100])  # warm-up
    print(f"load average before: {os.getloadavg()}")
    start = time.perf_counter(), time.process_time()
    labels = strata.assign(new)
    wall = time.perf_counter() - start[0]
    cpu = time.process_time() - start[1]
    print(
        f"ours: assign {args.n:,} new traces: {wall:.2f} s wall ({cpu:.2f} s CPU,"
        f" {strata.reference_points.shape[0]:,} reference points, {strata.n_clusters} clusters)"
        f" (target < 10 s); {_quality(new_truth, labels)}"
    )
    print(f"load average after ours: {os.getloadavg()}")
    _peer(strata, fitted, new[: args.peer_n], new_truth[: args.peer_n])
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
