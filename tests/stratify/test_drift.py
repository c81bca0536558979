"""Drift on real intents (banking77 train + test, the offline default embedder).

- windows drawn from the same distribution (unequal sizes, and two disjoint random
  halves) raise no alarm, over several seeds;
- intents boosted x4 in the new window show up as shifted, and every rising alert is
  traffic of a boosted intent;
- intents held out of the reference and present in the new window show up as emerging,
  with their traces, whether or not a reference cluster absorbs them (a hand-picked set
  and a set drawn by a seeded RNG).

Plus property tests of the statistics behind the report.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import attrs
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from livingeval.errors import ConfigError
from livingeval.stratify import HDBSCANStrata, HDBSCANStratifier, detect_drift
from livingeval.stratify._stats import benjamini_hochberg, js_divergence, one_sided_increase_p
from livingeval.testing import LabelledWindows, draw_labels, labels_owning_clusters

HELD_OUT = (
    "terminate_account",
    "lost_or_stolen_phone",
    "exchange_rate",
    "age_limit",
    "apple_pay_or_google_pay",
)
PER_INTENT = 40


@attrs.frozen
class Corpus:
    """banking77 train + test texts' intents and default-embedder vectors."""

    labels: npt.NDArray[np.str_]
    vectors: npt.NDArray[np.float32]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    """All 13,083 banking77 texts embedded with ``default_embedder()`` (skips without data)."""
    from livingeval.embed import default_embedder

    root = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "intents" / "banking77"
    if not (root / "train.csv").is_file() or not (root / "test.csv").is_file():
        pytest.skip(f"banking77 train.csv/test.csv not found at {root}")
    texts: list[str] = []
    labels: list[str] = []
    for name in ("train.csv", "test.csv"):
        with (root / name).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                texts.append(row["text"])
                labels.append(row["category"])
    return Corpus(labels=np.asarray(labels), vectors=default_embedder().embed(texts))


def _fit(corpus: Corpus, rows: npt.NDArray[np.int64]) -> HDBSCANStrata:
    return HDBSCANStratifier(seed=0).fit(corpus.vectors[rows])


@pytest.mark.parametrize(
    ("seed", "sizes"),
    [(1, (2200, 3000)), (2, (3000, 2200)), (3, (2500, 2500))],
    ids=["smaller-reference", "larger-reference", "two-random-halves"],
)
def test_windows_from_the_same_distribution_raise_no_alarm(
    corpus: Corpus, seed: int, sizes: tuple[int, int]
) -> None:
    rng = np.random.default_rng(seed)
    pool = rng.permutation(np.flatnonzero(~np.isin(corpus.labels, HELD_OUT)))
    reference, new = pool[: sizes[0]], pool[sizes[0] : sizes[0] + sizes[1]]
    strata = _fit(corpus, reference)
    report = detect_drift(
        strata, corpus.vectors[new], reference_vectors=corpus.vectors[reference], seed=0
    )
    assert (report.reference_size, report.new_size) == sizes
    assert report.emerging_basis == "reference_window"
    assert report.alerts == ()
    assert report.shifted == ()
    assert not any(e.alert for e in report.emerging)
    assert report.js_divergence < 0.02
    assert abs(report.unassigned_share - report.reference_unassigned_share) < 0.03


def test_boosted_intents_show_up_as_shifted(corpus: Corpus) -> None:
    """Reference: 40 texts per intent. New: 40 more per intent, except five intents that
    each own a reference cluster get 160 (x4)."""
    factor = 4
    windows = LabelledWindows(
        corpus.labels, per_label=PER_INTENT, seed=0, exclude=HELD_OUT, min_rows=2 * PER_INTENT
    )
    reference = windows.reference()
    strata = _fit(corpus, reference)
    owned = {
        intent: clusters
        for intent, clusters in labels_owning_clusters(
            strata.assigned_labels, corpus.labels[reference]
        ).items()
        if windows.rows_of(intent) >= (factor + 1) * PER_INTENT
    }
    assert len(owned) >= 5
    boosted = sorted(np.random.default_rng(0).choice(sorted(owned), 5, replace=False).tolist())
    new = windows.new(dict.fromkeys(boosted, factor))
    report = detect_drift(
        strata, corpus.vectors[new], reference_vectors=corpus.vectors[reference], seed=0
    )
    rose = {s.cluster for s in report.shifts if s.alert and s.absolute_change > 0}
    found = [intent for intent in boosted if rose & set(owned[intent])]
    assert len(found) >= 3, (boosted, report.alerts)  # measured: 4 of 5
    is_boosted = np.isin(corpus.labels[new], boosted)
    for cluster in rose:
        assert is_boosted[report.new_labels == cluster].mean() >= 0.5, report.alerts
    assert report.emerging == ()
    assert report.chi2_p_value < 1e-6


def _seeded_held_out(corpus: Corpus) -> tuple[str, ...]:
    """Five intents drawn by a seeded RNG among those with >= 120 texts (not hand-picked)."""
    return draw_labels(corpus.labels, 5, seed=1, min_rows=3 * PER_INTENT, exclude=HELD_OUT)


@pytest.mark.parametrize(
    ("which", "at_least"),
    # Measured (seed 0) with the minilm-static-v3 table: 5 of 5 hand-picked, 4 of 5
    # seeded. The seeded draw (atm_support, failed_transfer, get_physical_card,
    # top_up_by_card_charge, verify_top_up) is the harder one: failed_transfer sat at
    # x5.2 against the x5 bar that separates new traffic from an intent that grew with
    # the v2 table (5 of 5) and falls just under it with v3, because a fifth of its
    # traces' 20 nearest neighbours are reference traces of similar kept intents
    # (declined_transfer, transfer_not_received_by_recipient; docs/stratification.md).
    [("hand-picked", 5), ("seeded", 4)],
)
def test_held_out_intents_emerge_with_their_traces(
    corpus: Corpus, which: str, at_least: int
) -> None:
    """Reference: 40 texts per intent, five intents held out. New: 40 per intent and 80
    for each held-out intent."""
    held_out = HELD_OUT if which == "hand-picked" else _seeded_held_out(corpus)
    windows = LabelledWindows(corpus.labels, per_label=PER_INTENT, seed=0)
    reference = windows.reference(without=held_out)
    new = windows.new(dict.fromkeys(held_out, 2))
    strata = _fit(corpus, reference)
    report = detect_drift(
        strata, corpus.vectors[new], reference_vectors=corpus.vectors[reference], seed=0
    )
    new_intents = corpus.labels[new]
    held = np.isin(new_intents, held_out)
    assert report.emerging, report.alerts
    assert any(e.alert for e in report.emerging)
    named = set()
    for group in report.emerging:
        assert held[group.members].mean() >= 0.6, Counter(new_intents[group.members].tolist())
        assert set(group.representatives.tolist()) <= set(group.members.tolist())
        assert group.density_ratio >= 5
        assert group.neighbourhood_share >= group.share
        assert group.share == pytest.approx(group.size / report.new_size)
        assert group.p_value < 0.01
        named.add(Counter(new_intents[group.members].tolist()).most_common(1)[0][0])
    assert len(named & set(held_out)) >= at_least, (sorted(named), held_out)
    # Independent of the reference clustering: intents whose traces mostly *fit* a
    # reference cluster (absorbed, so they never count as unassigned) still emerge.
    assert any(e.assigned_share >= 0.6 for e in report.emerging), [
        e.assigned_share for e in report.emerging
    ]
    assert report.unassigned_share > report.reference_unassigned_share


def test_emerging_detection_is_deterministic_for_a_seed(corpus: Corpus) -> None:
    """Two intents absent from the reference, 100 traces each in a new window of 1,400."""
    rng = np.random.default_rng(5)
    kept = rng.permutation(np.flatnonzero(~np.isin(corpus.labels, HELD_OUT)))
    reference, new_kept = kept[:1500], kept[1500:2700]
    absent = [rng.permutation(np.flatnonzero(corpus.labels == i))[:100] for i in HELD_OUT[:2]]
    new = np.concatenate([new_kept, *absent])
    strata = _fit(corpus, reference)
    runs = [
        detect_drift(
            strata,
            corpus.vectors[new],
            reference_vectors=corpus.vectors[reference],
            novelty_sample_size=1000,  # exercises the sample and the extension to the rest
            seed=3,
        )
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert runs[0].emerging, "two intents absent from the reference should emerge"
    for group in runs[0].emerging:
        assert np.isin(corpus.labels[new][group.members], HELD_OUT[:2]).mean() >= 0.6


def test_reference_vectors_must_match_the_strata() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([c + rng.normal(0, 0.1, (40, 8)) for c in np.eye(8)[:3] * 4])
    x = x.astype(np.float32)
    strata = HDBSCANStratifier(reduction="pca", seed=0).fit(x)
    with pytest.raises(ConfigError, match="reference_vectors"):
        detect_drift(strata, x, reference_vectors=x[:-1])
    with pytest.raises(ConfigError, match="emerging_ratio"):
        detect_drift(strata, x, emerging_ratio=0.5)
    with pytest.raises(ConfigError, match="novelty_neighbors"):
        detect_drift(strata, x, novelty_neighbors=1)
    with pytest.raises(ConfigError, match="novelty_sample_size"):
        detect_drift(strata, x, novelty_sample_size=10)
    with pytest.raises(ConfigError, match="reference_vectors"):
        detect_drift(strata, x, reference_vectors=x[:, :4])
    without = detect_drift(strata, x)
    assert without.emerging_basis in ("reference_members", "none")
    assert detect_drift(strata, x, reference_vectors=x).alerts == ()


def test_a_cluster_that_vanishes_is_shifted_and_a_new_blob_emerges() -> None:
    """Synthetic, for the mechanics: cluster 2's traffic disappears, a far blob appears."""
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:4] * 4
    ref = np.concatenate([c + rng.normal(0, 0.1, (80, 8)) for c in centres[:3]])
    new = np.concatenate(
        [c + rng.normal(0, 0.1, (n, 8)) for c, n in zip(centres, (120, 120, 0, 60), strict=True)]
    )
    strata = HDBSCANStratifier(reduction="pca", seed=0).fit(ref.astype(np.float32))
    report = detect_drift(
        strata, new.astype(np.float32), reference_vectors=ref.astype(np.float32), seed=0
    )
    vanished = int(strata.assign(centres[2:3].astype(np.float32))[0])
    assert vanished in report.shifted
    assert report.shifts[vanished].relative_change == -1.0
    assert len(report.emerging) == 1
    assert report.emerging[0].alert
    members = set(report.emerging[0].members.tolist())
    blob = set(range(240, 300))
    assert blob <= members
    assert len(members - blob) <= 0.1 * len(members)  # a few sparse tail points may join


_shares = st.lists(st.integers(0, 1000), min_size=1, max_size=20).filter(lambda c: sum(c) > 0)


@given(_shares)
def test_js_divergence_is_zero_for_identical_shares(counts: list[int]) -> None:
    p = np.asarray(counts, dtype=np.float64)
    assert js_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    assert js_divergence(p, 3 * p) == pytest.approx(0.0, abs=1e-12)  # counts or shares


@given(st.data())
def test_js_divergence_is_symmetric_and_bounded(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 20))
    counts = st.lists(st.integers(0, 1000), min_size=n, max_size=n).filter(lambda c: sum(c) > 0)
    p = np.asarray(data.draw(counts), dtype=np.float64)
    q = np.asarray(data.draw(counts), dtype=np.float64)
    forward, backward = js_divergence(p, q), js_divergence(q, p)
    assert forward == pytest.approx(backward, abs=1e-12)
    assert -1e-12 <= forward <= 1 + 1e-12
    if not np.any((p > 0) & (q > 0)):
        assert forward == pytest.approx(1.0)


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_benjamini_hochberg_adjusts_up_and_keeps_order(raw: list[float]) -> None:
    p = np.asarray(raw, dtype=np.float64)
    adjusted = benjamini_hochberg(p)
    assert np.all(adjusted >= p - 1e-12)
    assert np.all(adjusted <= 1.0)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= -1e-12)
    ranked = np.sort(p) * p.size / np.arange(1, p.size + 1)
    assert adjusted.min() == pytest.approx(min(1.0, float(ranked.min())))


@given(st.integers(0, 500), st.integers(1, 500), st.integers(0, 500), st.integers(1, 500))
def test_one_sided_p_is_small_only_for_a_rise(a: int, n_a: int, b: int, n_b: int) -> None:
    a, b = min(a, n_a), min(b, n_b)
    p = one_sided_increase_p(a, n_a, b, n_b)
    assert 0.0 <= p <= 1.0
    if b / n_b <= a / n_a:
        assert p >= 0.5
