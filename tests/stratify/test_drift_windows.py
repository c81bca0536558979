"""`livingeval.testing.LabelledWindows` and `labels_owning_clusters`: windows with known changes."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from livingeval.errors import ConfigError
from livingeval.testing import LabelledWindows, draw_labels, labels_owning_clusters

label_lists = st.lists(st.sampled_from("abcdef"), min_size=1, max_size=200)


@given(
    labels=label_lists,
    per_label=st.integers(1, 6),
    held=st.sets(st.sampled_from("abcdef"), max_size=3),
    factor=st.integers(0, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_windows_hold_what_they_say_and_never_share_a_row(
    labels: list[str], per_label: int, held: set[str], factor: int, seed: int
) -> None:
    array = np.asarray(labels)
    windows = LabelledWindows(array, per_label=per_label, seed=seed)
    reference = windows.reference(without=held)
    new = windows.new(dict.fromkeys(held, factor))
    assert not set(reference.tolist()) & set(new.tolist())
    in_reference = Counter(array[reference].tolist())
    in_new = Counter(array[new].tolist())
    for label, total in Counter(labels).items():
        expected_ref = 0 if label in held else min(per_label, total)
        assert in_reference[label] == expected_ref
        wanted = per_label * (factor if label in held else 1)
        assert in_new[label] == max(0, min(wanted, total - per_label))
    # Seeded: the same arguments draw the same windows.
    again = LabelledWindows(array, per_label=per_label, seed=seed)
    assert np.array_equal(again.reference(without=held), reference)
    assert np.array_equal(again.new(dict.fromkeys(held, factor)), new)


def test_exclude_and_min_rows_leave_labels_out_of_both_windows() -> None:
    labels = np.asarray(["a"] * 10 + ["b"] * 3 + ["c"] * 10)
    windows = LabelledWindows(labels, per_label=2, exclude=["c"], min_rows=5)
    assert set(labels[windows.reference()].tolist()) == {"a"}
    assert set(labels[windows.new()].tolist()) == {"a"}
    assert (windows.rows_of("a"), windows.rows_of("b"), windows.rows_of("c")) == (10, 0, 0)


def test_bad_arguments_are_refused_with_the_field() -> None:
    with pytest.raises(ConfigError, match="per_label"):
        LabelledWindows(["a"], per_label=0)
    with pytest.raises(ConfigError, match="min_rows"):
        LabelledWindows(["a", "b"], min_rows=3)
    with pytest.raises(ConfigError, match="factor of 'a'"):
        LabelledWindows(["a", "a"], per_label=1).new({"a": -1})
    with pytest.raises(ConfigError, match="one cluster and one label"):
        labels_owning_clusters([0, 1], ["a"])


def test_a_cluster_is_owned_by_its_majority_label_only() -> None:
    clusters = [0] * 4 + [1] * 4 + [2] * 2 + [-1] * 5
    rows = list("aaab") + list("abcd") + list("cc") + list("ddddd")
    # 0: "a" has 3 of 4; 1: no label has half; 2: too small; noise is never a cluster.
    assert labels_owning_clusters(clusters, rows, min_members=3) == {"a": [0]}
    assert labels_owning_clusters(clusters, rows, min_members=2) == {"a": [0], "c": [2]}
    assert labels_owning_clusters(clusters, rows, min_members=2, min_share=0.25) == {
        "a": [0, 1],
        "c": [2],
    }


@given(
    labels=label_lists,
    count=st.integers(0, 4),
    min_rows=st.integers(0, 5),
    exclude=st.sets(st.sampled_from("abcdef"), max_size=2),
    seed=st.integers(0, 2**32 - 1),
)
def test_drawn_labels_are_distinct_eligible_and_seeded(
    labels: list[str], count: int, min_rows: int, exclude: set[str], seed: int
) -> None:
    totals = Counter(labels)
    eligible = {label for label, n in totals.items() if n >= min_rows and label not in exclude}
    if len(eligible) < count:
        with pytest.raises(ConfigError, match="cannot draw"):
            draw_labels(labels, count, seed=seed, min_rows=min_rows, exclude=exclude)
        return
    drawn = draw_labels(labels, count, seed=seed, min_rows=min_rows, exclude=exclude)
    assert len(set(drawn)) == count
    assert set(drawn) <= eligible
    assert list(drawn) == sorted(drawn)
    assert draw_labels(labels, count, seed=seed, min_rows=min_rows, exclude=exclude) == drawn
