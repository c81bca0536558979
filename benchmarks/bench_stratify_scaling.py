"""How embed + reduce + cluster (and assignment) time grows from 10k to 300k traces.

Run: ``python benchmarks/bench_stratify_scaling.py [--sizes 10000,30000,100000,300000]``
(about 3-5 minutes on 2 quiet cores).

For each size: ``default_embedder().embed`` + ``HDBSCANStratifier().fit`` (the fit
includes assigning the traces outside the fit sample), then ``assign`` of the same
number of new traces. A small untimed fit first takes numba's one-off JIT out of the
figures. Peak RSS is the process' running peak. Peer: the same pipeline fitted on
*all* traces (``fit_sample_size=None``, i.e. UMAP + HDBSCAN on everything, as a
BERTopic-style pipeline does), measured up to ``--peer-max`` traces.
Traces: see ``benchmarks/_traffic.py``.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
from _traffic import banking77_traffic

from livingeval.embed import default_embedder
from livingeval.stratify import HDBSCANStratifier


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> str:
    return f"{time.perf_counter() - start[0]:6.1f} s wall ({time.process_time() - start[1]:6.1f} s CPU)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,30000,100000,300000")
    parser.add_argument("--peer-max", type=int, default=30_000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    embedder = default_embedder()
    texts, _, source = banking77_traffic(max(sizes), seed=0)
    new_texts, _, _ = banking77_traffic(max(sizes), seed=1)
    print(f"traces: {source}")
    stratifier = HDBSCANStratifier(seed=0)
    stratifier.fit(embedder.embed(texts[:2_000]))  # numba JIT, untimed
    print(f"fit_sample_size={stratifier.fit_sample_size}; load average: {os.getloadavg()}")
    for n in sizes:
        start = _clock()
        vectors = embedder.embed(texts[:n])
        strata = stratifier.fit(vectors)
        fit = _since(start)
        new = embedder.embed(new_texts[:n])
        start = _clock()
        strata.assign(new)
        assign = _since(start)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"n={n:>7,}: embed+reduce+cluster {fit}; assign {n:,} new {assign};"
            f" noise {np.mean(strata.labels < 0):.1%}, {strata.n_clusters} clusters;"
            f" peak RSS {rss:,.0f} MB; load {os.getloadavg()[0]:.1f}"
        )
    everything = HDBSCANStratifier(seed=0, fit_sample_size=None)
    for n in [s for s in sizes if s <= args.peer_max]:
        vectors = embedder.embed(texts[:n])
        start = _clock()
        strata = everything.fit(vectors)
        print(
            f"peer (UMAP + HDBSCAN on all n, fit_sample_size=None): n={n:>7,}: reduce+cluster"
            f" {_since(start)}; noise {np.mean(strata.labels < 0):.1%}, {strata.n_clusters}"
            f" clusters; load {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
