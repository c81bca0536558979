"""Bias probes on a judge's own recorded votes: position, verbosity, self-preference, drift."""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Literal

import attrs
import numpy as np
import numpy.typing as npt

from livingeval._model_family import known_family
from livingeval.errors import ConfigError
from livingeval.records import Verdict
from livingeval.trust._agreement import cohen_kappa, raw_agreement
from livingeval.trust._stats import FloatArray, as_float_array, binomial_two_sided, is_missing

__all__ = [
    "DriftPoint",
    "JudgeDrift",
    "PositionBias",
    "SelfPreference",
    "VerbosityBias",
    "judge_drift",
    "model_family",
    "outcome_score",
    "position_bias",
    "self_preference",
    "swapped_votes",
    "verbosity_bias",
]

Shown = Literal["A", "B", "tie"]
_SHOWN = ("A", "B", "tie")
_SWAP = {"A": "B", "B": "A", "tie": "tie"}


@attrs.frozen(kw_only=True)
class PositionBias:
    """How much a pairwise judge favours a presentation position.

    .. versionadded:: 0.1.0
    """

    n_items: int
    """Items judged in both orders."""
    n_decisive: int
    """Verdicts (over both orders) that picked a side; ties excluded."""
    first_position_wins: int
    """Of those, how many picked the first-shown answer."""
    first_position_win_share: float
    """``first_position_wins / n_decisive``; 0.5 for an unbiased judge."""
    p_value: float
    """Exact two-sided binomial test of the share against 0.5."""
    swap_flip_rate: float
    """Share of items whose verdict changed once the swap is undone (any change, ties too)."""
    winner_flip_rate: float
    """Share of items where the same position won both times (a real winner reversal)."""
    first_position_preferred: float
    """Share of items where the first-shown answer won in both orders."""
    second_position_preferred: float
    """Share of items where the second-shown answer won in both orders."""
    tie_rate: float
    """Share of all verdicts that were ties."""


def _shown(values: Sequence[str], name: str) -> list[str]:
    out = []
    for i, v in enumerate(values):
        value: object = v  # callers without type checking may pass anything
        norm = value.strip().upper() if isinstance(value, str) else value
        if norm == "TIE":
            norm = "tie"
        if norm not in _SHOWN:
            raise ConfigError(
                f"position verdicts must be 'A', 'B' or 'tie'; {name}[{i}]={v!r}. Map the "
                "judge's reply onto the presentation order first (A = shown first).",
                field=f"{name}[{i}]",
            )
        out.append(str(norm))
    return out


def position_bias(first_order: Sequence[str], swapped_order: Sequence[str]) -> PositionBias:
    """Position bias of a judge that saw every item in both presentation orders.

    ``first_order[i]`` is the verdict with the answers shown as (X, Y), ``swapped_order[i]``
    with them shown as (Y, X). Each is ``"A"`` (the first-shown answer wins), ``"B"`` or
    ``"tie"``. A consistent judge answers ``A`` then ``B`` (or ``B`` then ``A``, or tie
    twice); a position-biased judge answers ``A`` twice.

    Args:
        first_order: Verdicts in the original order.
        swapped_order: Verdicts on the same items with the answers swapped.

    Returns:
        A :class:`PositionBias` with the first-position win share (and its binomial test)
        and the swap-flip rate.

    Raises:
        ConfigError: different lengths or a verdict other than A/B/tie.

    Example:
        >>> pb = position_bias(["A", "A", "B", "tie"], ["A", "B", "A", "tie"])
        >>> pb.first_position_win_share, pb.swap_flip_rate
        (0.6666666666666666, 0.25)

    .. versionadded:: 0.1.0
    """
    if len(first_order) != len(swapped_order):
        raise ConfigError(
            "both orders must cover the same items; "
            f"len(first_order)={len(first_order)}, len(swapped_order)={len(swapped_order)}.",
            field="swapped_order",
        )
    first = _shown(first_order, "first_order")
    swapped = _shown(swapped_order, "swapped_order")
    n = len(first)
    verdicts = first + swapped
    decisive = sum(v != "tie" for v in verdicts)
    wins_first = sum(v == "A" for v in verdicts)
    flips = sum(f != _SWAP[s] for f, s in zip(first, swapped, strict=True))
    aa = sum(f == s == "A" for f, s in zip(first, swapped, strict=True))
    bb = sum(f == s == "B" for f, s in zip(first, swapped, strict=True))
    return PositionBias(
        n_items=n,
        n_decisive=decisive,
        first_position_wins=wins_first,
        first_position_win_share=wins_first / decisive if decisive else math.nan,
        p_value=binomial_two_sided(wins_first, decisive),
        swap_flip_rate=flips / n if n else math.nan,
        winner_flip_rate=(aa + bb) / n if n else math.nan,
        first_position_preferred=aa / n if n else math.nan,
        second_position_preferred=bb / n if n else math.nan,
        tie_rate=(len(verdicts) - decisive) / len(verdicts) if verdicts else math.nan,
    )


def swapped_votes(verdicts: Iterable[Verdict]) -> tuple[list[str], list[str]]:
    """Both-order votes recorded in pairwise verdicts, ready for :func:`position_bias`.

    Reads ``verdict.details["votes"]`` as the pairwise judge records it (one entry per
    judge call with ``run``, ``order`` = ``candidate_first``/``baseline_first`` and
    ``choice`` = ``A``/``B``/``tie``). Every run with a valid choice in both orders gives
    one pair: the ``candidate_first`` choice goes to the first list, the
    ``baseline_first`` choice to the second. Verdicts without recorded votes are skipped.

    Args:
        verdicts: Recorded verdicts (any kind; only those with votes contribute).

    Returns:
        ``(first_order, swapped_order)``, aligned pair by pair.

    Example:
        >>> from livingeval.records import Verdict
        >>> v = Verdict(item_id="t1", kind="pairwise", candidate_score=1.0, baseline_score=0.0,
        ...             outcome="candidate", details={"votes": [
        ...                 {"run": 0, "order": "candidate_first", "choice": "A"},
        ...                 {"run": 0, "order": "baseline_first", "choice": "A"}]})
        >>> swapped_votes([v])
        (['A'], ['A'])

    .. versionadded:: 0.1.0
    """
    first: list[str] = []
    swapped: list[str] = []
    for verdict in verdicts:
        votes = verdict.details.get("votes") if verdict.details else None
        if not isinstance(votes, list | tuple):
            continue
        runs: dict[object, dict[str, str]] = {}
        for vote in votes:
            if not isinstance(vote, Mapping):
                continue
            choice = vote.get("choice")
            if choice in _SHOWN:
                runs.setdefault(vote.get("run"), {})[str(vote.get("order"))] = str(choice)
        for orders in runs.values():
            if "candidate_first" in orders and "baseline_first" in orders:
                first.append(orders["candidate_first"])
                swapped.append(orders["baseline_first"])
    return first, swapped


def outcome_score(outcome: Hashable) -> float:
    """Map a pairwise outcome to the candidate's score: win 1, tie 0.5, loss 0.

    Accepts ``candidate``/``baseline``/``tie`` (livingeval verdicts), ``win``/``loss``/
    ``tie`` and numbers in ``[0, 1]``. Anything else is NaN (dropped by the probes).

    Example:
        >>> [outcome_score(x) for x in ("candidate", "tie", "baseline", 0.25, "??")]
        [1.0, 0.5, 0.0, 0.25, nan]

    .. versionadded:: 0.1.0
    """
    if isinstance(outcome, str):
        return {"candidate": 1.0, "win": 1.0, "tie": 0.5, "baseline": 0.0, "loss": 0.0}.get(
            outcome.lower(), math.nan
        )
    if isinstance(outcome, bool):
        return float(outcome)
    if isinstance(outcome, int | float | np.integer | np.floating) and 0 <= outcome <= 1:
        return float(outcome)
    return math.nan


@attrs.frozen(kw_only=True)
class VerbosityBias:
    """Whether the judge rewards length.

    .. versionadded:: 0.1.0
    """

    n: int
    """Items used."""
    win_rate: float
    """Raw candidate win rate (ties count half)."""
    length_controlled_win_rate: float
    """Win rate predicted at zero length difference (AlpacaEval-style LC)."""
    slope: float
    """Logistic coefficient on ``tanh(length difference / scale)``; > 0 means longer wins."""
    scale: float
    """Standard deviation of the length difference used to normalise it."""
    bin_edges: tuple[float, ...]
    """Edges of the length-difference bins (candidate minus baseline)."""
    bin_win_rates: tuple[float, ...]
    """Win rate in each bin."""
    bin_counts: tuple[int, ...]
    """Items in each bin."""
    correlation: float
    """Pearson correlation between length difference and outcome score."""


def _fit_logistic(
    x: FloatArray, y: FloatArray, *, l2: float, iterations: int = 100
) -> tuple[float, float]:
    """IRLS fit of ``y ~ sigmoid(b0 + b1 x)`` (``y`` may be fractional), L2 on ``b1``."""
    design = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    penalty = np.diag([0.0, l2])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        w = np.maximum(p * (1.0 - p), 1e-9)
        grad = design.T @ (y - p) - penalty @ beta
        hess = (design * w[:, None]).T @ design + penalty + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def verbosity_bias(
    outcomes: Sequence[Hashable],
    candidate_lengths: npt.ArrayLike,
    baseline_lengths: npt.ArrayLike,
    *,
    bins: int = 5,
    l2: float = 1e-3,
) -> VerbosityBias:
    """Win rate against length difference, and a length-controlled win rate.

    In the spirit of AlpacaEval's length-controlled win rate: fit a logistic regression
    of the outcome (win 1, tie 0.5, loss 0) on ``tanh((len_c - len_b) / sd)`` and report
    the predicted win rate at zero length difference, ``sigmoid(intercept)``. If the judge
    merely prefers longer answers, the LC win rate moves towards 0.5 while the raw one
    does not.

    Args:
        outcomes: Per item ``candidate``/``baseline``/``tie`` (see :func:`outcome_score`).
        candidate_lengths: Candidate answer length per item (characters or tokens).
        baseline_lengths: Baseline answer length per item, same unit.
        bins: Quantile bins of the length difference for the win-rate curve.
        l2: Ridge penalty on the slope, which keeps the fit finite under separation.

    Returns:
        A :class:`VerbosityBias`.

    Raises:
        ConfigError: misaligned inputs or no usable item.

    Example:
        >>> vb = verbosity_bias(["candidate", "baseline", "candidate", "tie"],
        ...                     [120, 40, 300, 80], [100, 90, 100, 80], bins=2)
        >>> vb.win_rate, vb.slope > 0
        (0.625, True)

    .. versionadded:: 0.1.0
    """
    lc = as_float_array(candidate_lengths, name="candidate_lengths")
    lb = as_float_array(baseline_lengths, name="baseline_lengths")
    if not len(outcomes) == lc.size == lb.size:
        raise ConfigError(
            "outcomes and both length arrays must be aligned; "
            f"len(outcomes)={len(outcomes)}, candidate_lengths={lc.size}, "
            f"baseline_lengths={lb.size}.",
            field="outcomes",
        )
    y = np.array([outcome_score(o) for o in outcomes], dtype=np.float64)
    diff = lc - lb
    keep = np.isfinite(y) & np.isfinite(diff)
    y, diff = y[keep], diff[keep]
    if y.size == 0:
        raise ConfigError(
            "verbosity_bias found no item with a usable outcome and lengths; outcomes must be "
            "'candidate', 'baseline', 'tie' or numbers in [0, 1].",
            field="outcomes",
        )
    scale = float(diff.std())
    x = np.tanh(diff / scale) if scale > 0 else np.zeros_like(diff)
    b0, b1 = _fit_logistic(x, y, l2=l2)
    edges = np.unique(np.quantile(diff, np.linspace(0, 1, max(bins, 1) + 1)))
    which = np.clip(np.searchsorted(edges, diff, side="right") - 1, 0, max(edges.size - 2, 0))
    rates, counts = [], []
    for b in range(max(edges.size - 1, 1)):
        members = y[which == b]
        counts.append(int(members.size))
        rates.append(float(members.mean()) if members.size else math.nan)
    corr = float(np.corrcoef(diff, y)[0, 1]) if diff.std() > 0 and y.std() > 0 else math.nan
    return VerbosityBias(
        n=int(y.size),
        win_rate=float(y.mean()),
        length_controlled_win_rate=1.0 / (1.0 + math.exp(-b0)),
        slope=b1,
        scale=scale,
        bin_edges=tuple(float(e) for e in edges),
        bin_win_rates=tuple(rates),
        bin_counts=tuple(counts),
        correlation=corr,
    )


def model_family(model: str) -> str:
    """The model family of a model name, for self-preference checks.

    Strips a provider prefix (``openai/``, ``anthropic.``) and matches known families
    (openai, anthropic, google, meta, mistral, qwen, deepseek, microsoft, cohere, xai);
    an unknown name falls back to its first dash-separated token.

    Example:
        >>> model_family("openai/gpt-4o-mini"), model_family("claude-3-5-sonnet-20241022")
        ('openai', 'anthropic')
        >>> model_family("meta-llama/Llama-3.1-8B-Instruct"), model_family("acme-7b")
        ('meta', 'acme')

    .. versionadded:: 0.1.0
    """
    family = known_family(model)
    if family is not None:
        return family
    tail = model.strip().lower().rsplit("/", 1)[-1]
    return re.split(r"[-_:.\s]", tail, maxsplit=1)[0] or tail


@attrs.frozen(kw_only=True)
class SelfPreference:
    """Does the judge favour candidates from its own model family?

    .. versionadded:: 0.1.0
    """

    judge_family: str
    """The judge's family."""
    n_same: int
    """Items whose candidate shares the judge's family."""
    n_other: int
    """Items whose candidate does not."""
    same_family_win_rate: float
    """Judge's candidate win rate on same-family items."""
    other_family_win_rate: float
    """Judge's candidate win rate on other items."""
    same_family_excess: float | None
    """Judge minus human win rate on same-family items (when humans were given)."""
    other_family_excess: float | None
    """Judge minus human win rate on the other items (when humans were given)."""
    self_preference: float
    """The estimate: excess difference with humans, else the plain win-rate difference."""


def self_preference(
    judge_outcomes: Sequence[Hashable],
    candidate_models: Sequence[str],
    judge_model: str,
    *,
    human_outcomes: Sequence[Hashable] | None = None,
) -> SelfPreference:
    """Self-preference: the judge's extra favour for candidates of its own family.

    Without human labels the estimate is the judge's same-family minus other-family
    candidate win rate, which also contains any real quality gap. With human labels on
    the same items it is the difference of the judge's *excess over humans* between the
    two groups, which removes the quality gap.

    Args:
        judge_outcomes: Judge outcome per item (``candidate``/``baseline``/``tie``).
        candidate_models: The candidate's model name per item.
        judge_model: The judge's model name.
        human_outcomes: Optional human outcome per item, same coding.

    Returns:
        A :class:`SelfPreference`.

    Raises:
        ConfigError: misaligned inputs.

    Example:
        >>> sp = self_preference(["candidate", "baseline", "candidate", "baseline"],
        ...                      ["gpt-4o", "claude-3", "gpt-4o-mini", "llama-3"], "gpt-4.1")
        >>> sp.same_family_win_rate, sp.other_family_win_rate
        (1.0, 0.0)

    .. versionadded:: 0.1.0
    """
    if len(judge_outcomes) != len(candidate_models) or (
        human_outcomes is not None and len(human_outcomes) != len(judge_outcomes)
    ):
        raise ConfigError(
            "judge_outcomes, candidate_models and human_outcomes must be aligned; lengths="
            f"{len(judge_outcomes)}, {len(candidate_models)}, "
            f"{None if human_outcomes is None else len(human_outcomes)}.",
            field="candidate_models",
        )
    family = model_family(judge_model)
    same = np.array([model_family(m) == family for m in candidate_models], dtype=bool)
    judged = np.array([outcome_score(o) for o in judge_outcomes])
    humans = (
        np.array([outcome_score(o) for o in human_outcomes]) if human_outcomes is not None else None
    )

    def mean(values: FloatArray, mask: npt.NDArray[np.bool_]) -> float:
        chosen = values[mask & np.isfinite(values)]
        return float(chosen.mean()) if chosen.size else math.nan

    same_rate, other_rate = mean(judged, same), mean(judged, ~same)
    same_excess = other_excess = None
    estimate = same_rate - other_rate
    if humans is not None:
        both = np.isfinite(judged) & np.isfinite(humans)
        diff = np.where(both, judged - np.where(both, humans, 0.0), np.nan)
        same_excess, other_excess = mean(diff, same), mean(diff, ~same)
        estimate = same_excess - other_excess
    return SelfPreference(
        judge_family=family,
        n_same=int(same.sum()),
        n_other=int((~same).sum()),
        same_family_win_rate=same_rate,
        other_family_win_rate=other_rate,
        same_family_excess=same_excess,
        other_family_excess=other_excess,
        self_preference=estimate,
    )


@attrs.frozen(kw_only=True)
class DriftPoint:
    """One run of the judge on the calibration set.

    .. versionadded:: 0.1.0
    """

    run: str
    """The run's name (a date, a judge version)."""
    n: int
    """Items with both a label in this run and a reference label."""
    agreement: float
    """Raw agreement with the reference."""
    kappa: float
    """Cohen's kappa with the reference."""
    drifted: bool
    """Agreement fell below the threshold."""


@attrs.frozen(kw_only=True)
class JudgeDrift:
    """The judge's stability over time on a fixed calibration set.

    .. versionadded:: 0.1.0
    """

    reference: str
    """``"human"`` or the name of the reference run."""
    threshold: float
    """Agreement below which a run counts as drifted."""
    points: tuple[DriftPoint, ...]
    """One point per run, in the order given."""

    @property
    def drifted(self) -> bool:
        """True when any run drifted."""
        return any(p.drifted for p in self.points)


def judge_drift(
    runs: Mapping[str, Sequence[Hashable]],
    *,
    reference: Sequence[Hashable] | None = None,
    threshold: float = 0.80,
) -> JudgeDrift:
    """Track the judge's verdicts on a fixed calibration set across runs.

    Each run is compared with ``reference`` (human labels of the calibration set) or, when
    none is given, with the first run.

    Args:
        runs: Run name -> the judge's label per calibration item (in a fixed item order),
            oldest first.
        reference: Optional reference labels, same order.
        threshold: Agreement below which a run is flagged.

    Returns:
        A :class:`JudgeDrift`.

    Raises:
        ConfigError: no runs, or a run of the wrong length.

    Example:
        >>> drift = judge_drift({"jan": ["A", "B", "A", "A"], "feb": ["A", "B", "B", "B"]})
        >>> [p.agreement for p in drift.points], drift.drifted
        ([1.0, 0.5], True)

    .. versionadded:: 0.1.0
    """
    if not runs:
        raise ConfigError("judge_drift needs at least one run; runs={}.", field="runs")
    names = list(runs)
    ref_name = "human" if reference is not None else names[0]
    ref = list(reference) if reference is not None else list(runs[names[0]])
    points = []
    for name in names:
        labels = list(runs[name])
        if len(labels) != len(ref):
            raise ConfigError(
                f"every run must label the whole calibration set; len(runs[{name!r}])="
                f"{len(labels)}, calibration items={len(ref)}.",
                field=f"runs.{name}",
            )
        agreement = raw_agreement(labels, ref)
        n = sum(not is_missing(a) and not is_missing(b) for a, b in zip(labels, ref, strict=True))
        points.append(
            DriftPoint(
                run=name,
                n=n,
                agreement=agreement,
                kappa=cohen_kappa(labels, ref),
                drifted=not (agreement >= threshold),
            )
        )
    return JudgeDrift(reference=ref_name, threshold=threshold, points=tuple(points))
