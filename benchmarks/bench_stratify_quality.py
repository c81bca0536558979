"""Cluster quality of fit-on-sample vs fit-on-all on banking77 (13,083 real queries).

Run: ``python benchmarks/bench_stratify_quality.py [--sizes 0,10000,5000,3000]``
(0 = fit on all texts).

Vectors: ``default_embedder()``. For each ``fit_sample_size``: ARI and NMI against the
77 intents (noise counts as one label), the noise share and the number of clusters, over
all texts (the fitted sample keeps HDBSCAN's labels, the rest are assigned) and over the
fitted sample alone. Fit-on-all (``fit_sample_size=None``) is the peer: UMAP + HDBSCAN on
every text, as a BERTopic-style pipeline does.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _traffic import banking77
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from livingeval.embed import default_embedder
from livingeval.stratify import HDBSCANStratifier


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="0,10000,5000,3000")
    args = parser.parse_args()
    texts, intents = banking77()
    if not texts:
        print("banking77 not found under ../shared/data/intents/banking77; nothing to measure")
        return
    y = np.unique(np.asarray(intents), return_inverse=True)[1]
    vectors = default_embedder().embed(texts)
    print(f"banking77 train+test: {len(texts):,} texts, 77 intents; load {os.getloadavg()}")
    for size in [int(s) for s in args.sizes.split(",")]:
        start = time.process_time()
        strata = HDBSCANStratifier(seed=0, fit_sample_size=size or None).fit(vectors)
        cpu = time.process_time() - start
        labels = strata.labels
        fitted = strata.sample_indices
        name = "all (peer: fit on everything)" if not size else f"{size:,}"
        print(
            f"fit_sample_size={name}: ARI {adjusted_rand_score(y, labels):.3f},"
            f" NMI {normalized_mutual_info_score(y, labels):.3f}, noise {np.mean(labels < 0):.1%},"
            f" {strata.n_clusters} clusters, {cpu:.1f} s CPU | fitted sample alone:"
            f" ARI {adjusted_rand_score(y[fitted], labels[fitted]):.3f},"
            f" noise {np.mean(labels[fitted] < 0):.1%}"
        )
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
