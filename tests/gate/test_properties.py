"""Property tests of the gate math: the invariances the issue asks for, checked by hypothesis."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from livingeval.gate import DeltaGate, GateInput, default_gate, stats

# A pairwise verdict as (candidate, baseline): win, loss, tie.
WIN, LOSS, TIE = (1.0, 0.0), (0.0, 1.0), (0.5, 0.5)


@st.composite
def gate_inputs(
    draw: st.DrawFn,
    *,
    min_n: int = 4,
    max_n: int = 60,
    continuous: bool = False,
    with_adversarial: bool = True,
) -> GateInput:
    """Paired scores with clusters, positive inclusion weights and an adversarial slice."""
    n = draw(st.integers(min_n, max_n))
    if continuous:
        unit = st.floats(0.0, 1.0, allow_nan=False)
        cand = draw(st.lists(unit, min_size=n, max_size=n))
        base = draw(st.lists(unit, min_size=n, max_size=n))
    else:
        pairs = draw(st.lists(st.sampled_from([WIN, LOSS, TIE]), min_size=n, max_size=n))
        cand = [p[0] for p in pairs]
        base = [p[1] for p in pairs]
    clusters = draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n))
    weights = draw(st.lists(st.floats(0.1, 50.0), min_size=n, max_size=n))
    adv = draw(st.lists(st.booleans(), min_size=n, max_size=n)) if with_adversarial else [False] * n
    return GateInput(
        candidate=np.array(cand),
        baseline=np.array(base),
        weights=np.array(weights),
        clusters=np.array(clusters),
        adversarial=np.array(adv),
    )


def _take(gi: GateInput, idx: npt.NDArray[np.int64]) -> GateInput:
    assert gi.weights is not None
    assert gi.clusters is not None
    assert gi.adversarial is not None
    return GateInput(
        candidate=gi.candidate[idx],
        baseline=gi.baseline[idx],
        weights=gi.weights[idx],
        clusters=gi.clusters[idx],
        adversarial=gi.adversarial[idx],
    )


def _delta(gi: GateInput, **kw: float | int) -> stats.DeltaEstimate:
    args: dict[str, object] = {"resamples": 400, "seed": 7, **kw}
    return stats.paired_delta(
        gi.candidate,
        gi.baseline,
        weights=gi.weights,
        clusters=gi.clusters,
        adversarial=gi.adversarial,
        **args,  # type: ignore[arg-type]
    )


def test_a_constant_delta_has_an_exact_interval_in_any_order() -> None:
    """Every pair differs by the same amount and the weights take many values (so the
    stratum resamples from the normal law): the interval is the delta itself, in any order.
    Found by the property below: rounding in the 2x2 Cholesky factor once put a ~1e-9
    spread into the interval that changed with the items' order."""
    weights = np.r_[np.ones(22), [2.0, 3.0, 4.0, 5.0, 1.5, 1.25, 0.5, 0.1, 0.1, 0.1, 1.0]]
    gi = GateInput(
        candidate=np.ones(33),
        baseline=np.zeros(33),
        weights=weights,
        clusters=np.zeros(33, dtype=np.int64),
        adversarial=np.zeros(33, dtype=bool),
    )
    swapped = np.r_[np.arange(31), 32, 31]
    for order in (np.arange(33), swapped, np.arange(33)[::-1]):
        delta = _delta(_take(gi, order))
        assert (delta.lower, delta.estimate, delta.upper) == pytest.approx(
            (1.0, 1.0, 1.0), abs=1e-12
        )


def test_the_interval_is_bit_for_bit_the_same_in_any_item_order() -> None:
    """Weights whose sums round differently in different orders (0.1, 1/3, values one ulp
    apart): the estimate and the bounds are identical, not merely close, for every order.
    A sum in item order once moved every weight by an ulp, which could merge or split the
    distinct values a stratum resamples and move a bound by 0.005 (found by the property
    below)."""
    rng = np.random.default_rng(11)
    n = 90
    palette = np.array([0.1, 0.2, 0.3, 1 / 3, 1.0, np.nextafter(1.0, 2.0), 49.6, 49.5078125])
    columns = {
        "candidate": rng.integers(0, 2, n).astype(np.float64),
        "baseline": rng.integers(0, 2, n).astype(np.float64),
        "weights": rng.choice(palette, n),
        "clusters": rng.integers(0, 3, n),
        "adversarial": rng.random(n) < 0.15,
        "valid": rng.random(n) < 0.9,
    }

    def bounds(order: npt.NDArray[np.int64]) -> tuple[float, float, float, float]:
        c = {name: column[order] for name, column in columns.items()}
        delta = stats.paired_delta(
            c["candidate"],
            c["baseline"],
            weights=c["weights"],
            clusters=c["clusters"],
            adversarial=c["adversarial"],
            valid=c["valid"],
            resamples=400,
            seed=7,
        )
        return delta.estimate, delta.lower, delta.upper, delta.se

    first = bounds(np.arange(n))
    assert all(math.isfinite(x) for x in first)
    for _ in range(8):
        assert bounds(rng.permutation(n)) == first


@given(gate_inputs(), st.data())
def test_invariant_to_item_order(gi: GateInput, data: st.DataObject) -> None:
    perm = np.array(data.draw(st.permutations(range(gi.n))), dtype=np.int64)
    a, b = _delta(gi), _delta(_take(gi, perm))
    assert math.isclose(a.estimate, b.estimate, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(a.lower, b.lower, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(a.upper, b.upper, rel_tol=1e-9, abs_tol=1e-12)
    gate = DeltaGate(resamples=400)
    assume(min(abs(a.lower + 0.02), abs(a.upper + 0.02)) > 1e-9)
    assert gate.decide(gi).outcome == gate.decide(_take(gi, perm)).outcome


@given(gate_inputs(continuous=True), st.floats(1e-3, 1e3))
def test_point_estimates_invariant_to_scaling_all_weights(gi: GateInput, scale: float) -> None:
    assert gi.weights is not None
    scaled = GateInput(
        candidate=gi.candidate,
        baseline=gi.baseline,
        weights=gi.weights * scale,
        clusters=gi.clusters,
        adversarial=gi.adversarial,
    )
    a, b = _delta(gi, method="analytic"), _delta(scaled, method="analytic")  # type: ignore[arg-type]
    assert math.isclose(a.estimate, b.estimate, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(a.production_estimate, b.production_estimate, rel_tol=1e-9, abs_tol=1e-12)
    ra = stats.pairwise_rates(gi.candidate, gi.baseline, weights=gi.weights)
    rb = stats.pairwise_rates(gi.candidate, gi.baseline, weights=gi.weights * scale)
    assert math.isclose(ra.win, rb.win, abs_tol=1e-12)
    assert math.isclose(ra.loss, rb.loss, abs_tol=1e-12)
    assert math.isclose(
        stats.weighted_mean(gi.candidate, gi.weights),
        stats.weighted_mean(gi.candidate, gi.weights * scale),
        abs_tol=1e-12,
    )


@given(gate_inputs(continuous=True), st.integers(1, 5))
def test_adversarial_weight_counts_like_copies(gi: GateInput, w: int) -> None:
    """Weight w on each adversarial item == w copies of it at weight 1: estimate AND interval."""
    assert gi.adversarial is not None
    adv = np.flatnonzero(gi.adversarial)
    assume(adv.size > 0)
    idx = np.concatenate([np.flatnonzero(~gi.adversarial), np.repeat(adv, w)])
    weighted = _delta(gi, adversarial_weight=float(w))
    copies = _delta(_take(gi, idx), adversarial_weight=1.0)
    assert weighted.estimate == copies.estimate
    assert weighted.lower == copies.lower
    assert weighted.upper == copies.upper
    assert weighted.n_effective == copies.n_effective


@given(gate_inputs(with_adversarial=True), st.data())
@settings(max_examples=40)
def test_monotone_turning_a_win_into_a_loss_never_turns_fail_into_pass(
    gi: GateInput, data: st.DataObject
) -> None:
    wins = np.flatnonzero(gi.candidate > gi.baseline)
    assume(wins.size > 0)
    i = int(data.draw(st.sampled_from(wins.tolist())))
    cand, base = gi.candidate.copy(), gi.baseline.copy()
    cand[i], base[i] = LOSS
    worse = GateInput(
        candidate=cand,
        baseline=base,
        weights=gi.weights,
        clusters=gi.clusters,
        adversarial=gi.adversarial,
    )
    gate = default_gate(resamples=300)
    before, after = gate.decide(gi).outcome, gate.decide(worse).outcome
    assert not (before == "fail" and after == "pass")
    # The point estimate moves the right way.
    assert _delta(worse).estimate < _delta(gi).estimate


@given(gate_inputs(min_n=8, max_n=40, with_adversarial=False))
@settings(max_examples=40)
def test_intervals_shrink_with_n(gi: GateInput) -> None:
    idx = np.tile(np.arange(gi.n), 4)
    small, large = _delta(gi), _delta(_take(gi, idx))
    assert (large.upper - large.lower) <= (small.upper - small.lower) + 1e-9
    analytic_small = _delta(gi, method="analytic")  # type: ignore[arg-type]
    analytic_large = _delta(_take(gi, idx), method="analytic")  # type: ignore[arg-type]
    assert analytic_large.se <= analytic_small.se / 2 + 1e-12


def test_intervals_shrink_roughly_as_one_over_sqrt_n() -> None:
    rng = np.random.default_rng(3)
    widths = []
    for n in (500, 2000, 8000):
        pairs = rng.choice(3, size=n, p=[0.3, 0.3, 0.4])
        cand = np.choose(pairs, [1.0, 0.0, 0.5])
        base = np.choose(pairs, [0.0, 1.0, 0.5])
        est = stats.paired_delta(cand, base, clusters=rng.integers(0, 5, n), seed=0)
        widths.append(est.upper - est.lower)
    assert widths[0] > widths[1] > widths[2]
    assert 0.4 < widths[1] / widths[0] < 0.6
    assert 0.4 < widths[2] / widths[1] < 0.6
