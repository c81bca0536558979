"""The table-building recipe (numpy part) and the rebuild tool's install hint."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from livingeval.embed import StaticEmbedder
from livingeval.embed._distill import (
    build_table,
    fortune_corpus,
    sif_weights,
    wordnet_corpus,
    write_table,
)
from livingeval.errors import MissingDependencyError


def test_build_table_shrinks_towards_isolated_vectors_and_centres_on_the_corpus() -> None:
    rng = np.random.default_rng(0)
    isolated = rng.normal(size=(6, 8))
    context = rng.normal(size=(6, 8))
    counts = np.array([0.0, 0.0, 3.0, 1000.0, 1000.0, 1000.0])
    sums = context * counts[:, None]
    weights = np.ones(6)
    table = build_table(isolated, sums, counts, weights, prior=2.0, dim=8)
    # dim == width: an orthogonal rotation, so inner products are those of the mixed rows.
    centre = sums.sum(axis=0) / counts.sum()
    mixed = (sums + 2.0 * isolated) / (counts + 2.0)[:, None] - centre
    np.testing.assert_allclose(table @ table.T, mixed @ mixed.T, rtol=1e-4, atol=1e-4)
    # unseen tokens keep their isolated vector; frequent ones take their in-context mean.
    np.testing.assert_allclose(mixed[0], isolated[0] - centre)
    np.testing.assert_allclose(mixed[3], context[3] - centre, atol=2e-2)
    assert build_table(isolated, sums, counts, weights, dim=3).shape == (6, 3)


def test_a_written_table_is_readable_by_static_embedder(tmp_path: Path) -> None:
    vocab = ["[PAD]", "[UNK]", "card", "pin", "##s"]
    vectors = np.eye(5, 4, dtype=np.float32)
    write_table(tmp_path / "t.npz", vectors, vocab)
    emb = StaticEmbedder(table=str(tmp_path / "t.npz"))
    np.testing.assert_allclose(emb.embed(["card", "pins"]), [[0, 0, 1, 0], [0, 0, 0, 1]])


def test_fortune_corpus_splits_entries(tmp_path: Path) -> None:
    (tmp_path / "wisdom").write_text("Short one here.\n%\nA longer\n  quotation.\n%\nx\n")
    (tmp_path / "wisdom.dat").write_bytes(b"\x00binary")
    assert fortune_corpus(tmp_path) == ["A longer quotation.", "Short one here."]


def test_wordnet_corpus_keeps_quoted_usage_examples_only(tmp_path: Path) -> None:
    header = "  1 This software and database is being provided to you, the LICENSEE, by\n"
    noun = (
        header + "02787772 06 n 01 bank 0 000 | a building in which banking is done; "
        '"the bank is on the corner"; "they robbed a bank"\n'
        '02787773 06 n 01 pin 0 000 | a number; "I forgot  my pin"; "pin"\n'
    )
    (tmp_path / "data.noun").write_text(noun, encoding="latin-1")
    (tmp_path / "data.verb").write_text(
        '01 29 v 01 top_up 0 000 | fill again; "top up my card"\n', encoding="latin-1"
    )
    (tmp_path / "data.adj").write_text(header, encoding="latin-1")
    (tmp_path / "data.adv").write_text("", encoding="latin-1")
    # Definitions, one-word examples and the licence header are left out; sorted, distinct.
    assert wordnet_corpus(tmp_path) == [
        "I forgot my pin",
        "the bank is on the corner",
        "they robbed a bank",
        "top up my card",
    ]


def test_missing_wordfreq_names_the_distill_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wordfreq", None)
    with pytest.raises(MissingDependencyError, match=r"livingeval\[distill\]"):
        sif_weights(["card"])
