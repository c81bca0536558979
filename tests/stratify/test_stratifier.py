"""HDBSCANStratifier: conformance, determinism, assignment, summaries, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

import livingeval
from livingeval.errors import ConfigError
from livingeval.protocols import Stratifier
from livingeval.stratify import HDBSCANStrata, HDBSCANStratifier, coverage
from livingeval.testing import check_stratifier


def _blobs(
    n_per: int = 60, k: int = 4, dim: int = 16, seed: int = 0
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    rng = np.random.default_rng(seed)
    centres = np.eye(dim, dtype=np.float32)[:k] * 3.0
    x = np.concatenate([c + rng.normal(0, 0.15, (n_per, dim)) for c in centres])
    y = np.repeat(np.arange(k), n_per)
    return x.astype(np.float32), y, centres


def _purity(labels: npt.NDArray[np.int64], truth: npt.NDArray[np.int64]) -> float:
    """Share of clustered points whose cluster's majority truth label equals theirs."""
    hits = 0
    for cluster in np.unique(labels[labels >= 0]):
        members = truth[labels == cluster]
        hits += int(np.bincount(members).max())
    return hits / max(1, int(np.sum(labels >= 0)))


@pytest.mark.parametrize("reduction", ["pca", "none", "umap"])
def test_conformance_and_recovery_of_separated_clusters(reduction: str) -> None:
    x, y, _ = _blobs()
    stratifier: Stratifier = HDBSCANStratifier(reduction=reduction, seed=0)  # type: ignore[arg-type]
    check_stratifier(stratifier, x)
    strata = stratifier.fit(x)
    assert isinstance(strata, HDBSCANStrata)
    assert strata.n_clusters == 4
    assert strata.noise_share < 0.1
    assert _purity(strata.labels, y) == 1.0
    assert sorted(strata.sizes.tolist()) == sorted(
        np.bincount(strata.labels[strata.labels >= 0]).tolist()
    )


def test_fit_is_deterministic_for_a_seed_and_leaves_the_stratifier_unchanged() -> None:
    x, _, _ = _blobs(n_per=120)
    stratifier = HDBSCANStratifier(reduction="umap", fit_sample_size=200, seed=3)
    before = HDBSCANStratifier(reduction="umap", fit_sample_size=200, seed=3)
    first = stratifier.fit(x)
    assert stratifier == before
    assert stratifier.fit(x) == first
    other = HDBSCANStratifier(reduction="umap", fit_sample_size=200, seed=4).fit(x)
    assert not np.array_equal(other.sample_indices, first.sample_indices)


def test_fitting_on_a_sample_assigns_the_rest() -> None:
    x, y, _ = _blobs(n_per=200)
    strata = HDBSCANStratifier(reduction="pca", fit_sample_size=150, seed=0).fit(x)
    assert strata.sample_indices.size == 150
    rest = np.setdiff1d(np.arange(len(x)), strata.sample_indices)
    assert np.mean(strata.labels[rest] >= 0) > 0.9
    assert _purity(strata.labels, y) == 1.0


def test_assign_maps_new_points_and_rejects_points_far_from_every_cluster() -> None:
    x, y, _ = _blobs()
    strata = HDBSCANStratifier(reduction="pca", seed=0).fit(x)
    fresh, fresh_y, _ = _blobs(seed=1)
    assigned = strata.assign(fresh)
    mapping = {
        int(np.bincount(strata.labels[y == t][strata.labels[y == t] >= 0]).argmax()): t
        for t in range(4)
    }
    hits = [mapping.get(int(a)) == t for a, t in zip(assigned, fresh_y, strict=True) if a >= 0]
    assert np.mean(hits) == 1.0
    assert np.mean(assigned >= 0) > 0.85
    far = np.full((3, x.shape[1]), 0.0, dtype=np.float32)
    far[:, -1] = 10.0
    assert strata.assign(far).tolist() == [-1, -1, -1]
    # A row's label never depends on the other rows.
    assert strata.assign(fresh[:1])[0] == assigned[0]


def test_describe_names_clusters_with_terms_and_examples() -> None:
    x, y, _ = _blobs(n_per=40, k=3)
    words = ["refund late order", "password reset login", "card delivery shipped"]
    texts = [f"{words[t]} please {i}" for i, t in enumerate(y)]
    strata = HDBSCANStratifier(reduction="pca", seed=0).fit(x)
    summaries = strata.describe(texts, n_terms=3)
    assert [s.cluster for s in summaries] == list(range(strata.n_clusters))
    for summary in summaries:
        truth = y[summary.representatives[0]]
        assert set(words[truth].split()) & set(" ".join(summary.top_terms).split())
        assert "please" not in summary.top_terms  # shared by every cluster: not distinctive
        assert all(words[truth] in example for example in summary.examples)
        assert summary.size == int(strata.sizes[summary.cluster])
    with pytest.raises(ConfigError, match="one text per fitted vector"):
        strata.describe(texts[:-1])


def test_coverage_counts_covered_clusters_and_their_traffic() -> None:
    x, _, centres = _blobs(n_per=50, k=4)
    strata = HDBSCANStratifier(reduction="pca", seed=0).fit(x)
    suite = np.concatenate([centres[:1], centres[:1], centres[1:2]]).astype(np.float32)
    report = coverage(strata, suite)
    assert report.n_clusters == 4
    assert report.n_covered == 2
    assert report.covered_traffic_share == pytest.approx(0.5, abs=0.05)
    assert sorted(c.suite_items for c in report.clusters) == [0, 0, 1, 2]
    assert report.summary() == "your suite covers 2 of 4 clusters, 50% of traffic"
    assert len(report.uncovered) == 2
    with pytest.raises(ConfigError, match="embedder"):
        coverage(strata, ["a prompt"])


class _CentreEmbedder:
    def __init__(self, centres: npt.NDArray[np.float32]) -> None:
        self.centres = centres

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return np.stack([self.centres[int(t)] for t in texts]).astype(np.float32)


def test_coverage_accepts_texts_with_an_embedder() -> None:
    x, _, centres = _blobs(n_per=50, k=4)
    strata = HDBSCANStratifier(reduction="pca", seed=0).fit(x)
    report = coverage(strata, ["0", "3"], embedder=_CentreEmbedder(centres))
    assert report.n_covered == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"min_cluster_size": 1}, "min_cluster_size"),
        ({"reduction": "tsne"}, "reduction"),
        ({"assign_quantile": 0.2}, "assign_quantile"),
        ({"cluster_selection_method": "best"}, "cluster_selection_method"),
    ],
)
def test_bad_hyperparameters_are_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        HDBSCANStratifier(**kwargs)  # type: ignore[arg-type]


def test_bad_vectors_are_refused() -> None:
    stratifier = HDBSCANStratifier(reduction="pca")
    with pytest.raises(ConfigError, match="2-d"):
        stratifier.fit(np.zeros(5, dtype=np.float32))
    bad = np.ones((20, 3), dtype=np.float32)
    bad[4, 1] = np.nan
    with pytest.raises(ConfigError, match="first bad row 4"):
        stratifier.fit(bad)
    x, _, _ = _blobs()
    strata: HDBSCANStrata = stratifier.fit(x)
    with pytest.raises(ConfigError, match="same embedder"):
        strata.assign(np.zeros((2, 5), dtype=np.float32))


def test_tiny_inputs_do_not_crash() -> None:
    strata = HDBSCANStratifier().fit(np.eye(4, dtype=np.float32))
    assert strata.labels.tolist() == [-1, -1, -1, -1]
    assert strata.assign(np.eye(4, dtype=np.float32)).tolist() == [-1, -1, -1, -1]


_FIT_DEMO_WINDOW = """
import sys
import numpy as np
from livingeval.demo import generate_window
from livingeval.embed import default_embedder
from livingeval.stratify import HDBSCANStratifier

texts = [t.messages[-1].content or "" for t in generate_window(900, seed=3).traces]
vectors = default_embedder().embed(texts)
stratifier = HDBSCANStratifier(min_cluster_size=15, fit_sample_size=600, seed=3)
sys.stdout.write(" ".join(str(v) for v in stratifier.fit(vectors).labels.tolist()))
"""


def test_umap_fit_gives_the_same_labels_every_call_and_in_a_new_process(tmp_path: Path) -> None:
    """Regression: UMAP's unseeded spectral init (ARPACK restarts) and BLAS thread counts.

    The demo window holds exact duplicate texts; they form small complete components of
    the k-NN graph whose degenerate eigenspaces made ARPACK draw restart vectors from OS
    entropy, so the second fit in a process could differ from the first.
    """
    from livingeval.demo import generate_window
    from livingeval.embed import default_embedder

    texts = [t.messages[-1].content or "" for t in generate_window(900, seed=3).traces]
    vectors = default_embedder().embed(texts)
    assert len(set(texts)) < len(texts)  # the duplicates that used to trigger the bug
    stratifier = HDBSCANStratifier(min_cluster_size=15, fit_sample_size=600, seed=3)
    first = stratifier.fit(vectors)
    assert first.n_clusters >= 5  # a real clustering, not everything noise
    for _ in range(2):
        again = stratifier.fit(vectors)
        assert np.array_equal(again.labels, first.labels)
        assert again == first
    script = tmp_path / "fit.py"
    script.write_text(_FIT_DEMO_WINDOW, encoding="utf-8")
    # A new process with other thread settings must agree too.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(livingeval.__file__).parents[1]), *sys.path])
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=True,
    )
    assert [int(v) for v in done.stdout.split()] == first.labels.tolist()
