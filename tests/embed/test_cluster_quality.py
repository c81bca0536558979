"""Cluster quality of the offline default on real labelled intents (banking77 test split).

Protocol of ``docs/embedding.md``: the 3,080 test queries are embedded by
``default_embedder()`` and clustered by ``HDBSCANStratifier()`` with its defaults; the
adjusted Rand index counts noise (-1) as one more label. The bundled table never saw
banking77 (it is distilled from a generic corpus), so this is a held-out measurement.
The floor sits at the lowest figure measured over seeds 0-4 with the current table
(``minilm-static-v3``: 0.322-0.375, see the docs), so UMAP's seed-to-seed spread does not
fail it; it is above the previous table's lowest seed (v2: 0.315; v1: 0.26-0.29) and a lexical
baseline (0.04). The issue's target (within 0.10 of the BERTopic-style MiniLM peer, about
0.40-0.45 on this split) is measured by ``benchmarks/bench_cluster_quality.py``, which runs
the peer in the same process.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from livingeval.embed import default_embedder
from livingeval.stratify import HDBSCANStratifier

pytestmark = pytest.mark.slow

ARI_FLOOR = 0.32
NOISE_CEILING = 0.15


def test_default_embedder_clusters_banking77_intents(shared_data: Path) -> None:
    pytest.importorskip("umap")
    path = shared_data / "intents" / "banking77" / "test.csv"
    if not path.is_file():
        pytest.skip(f"banking77 not found at {path}")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    texts = [row["text"] for row in rows]
    truth = np.array([row["category"] for row in rows])

    labels = HDBSCANStratifier(seed=0).fit(default_embedder().embed(texts)).labels

    ari = adjusted_rand_score(truth, labels)
    nmi = normalized_mutual_info_score(truth, labels)
    noise = float(np.mean(labels == -1))
    assert ari >= ARI_FLOOR, (ari, nmi, noise)
    assert noise <= NOISE_CEILING, (ari, nmi, noise)
