"""StaticEmbedder: a static token-embedding table distilled from MiniLM (model2vec-style)."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import attrs
import numpy as np
import numpy.typing as npt
import scipy.sparse  # type: ignore[import-untyped]

from livingeval.embed._common import check_texts, normalise_rows
from livingeval.embed._wordpiece import WordPiece
from livingeval.errors import ConfigError

__all__ = ["StaticEmbedder", "StaticTable", "load_table"]

BUNDLED = "minilm-static-v3"
"""Name of the table shipped inside livingeval (``embed/_data/<name>.npz``)."""


@attrs.frozen(kw_only=True, eq=False)
class StaticTable:
    """A loaded table: the tokenizer and one weighted vector per vocabulary token."""

    name: str
    digest: str
    tokenizer: WordPiece
    vectors: npt.NDArray[np.float32]
    fallback: npt.NDArray[np.float32]
    lock: threading.Lock = attrs.field(factory=threading.Lock)


@functools.lru_cache(maxsize=8)
def load_table(path: str) -> StaticTable:
    """Load a table file (``.npz`` with ``vectors``, ``vocab``; cached per process).

    Raises:
        ConfigError: the file is missing or not a table.
    """
    try:
        raw = Path(path).read_bytes()
        with np.load(path, allow_pickle=False) as data:
            if "scale" in data:  # int8 rows with one float scale per row
                vectors = data["vectors"].astype(np.float32) * data["scale"][:, None]
            else:
                vectors = np.asarray(data["vectors"], dtype=np.float32)
            vocab = str(data["vocab"]).split("\n")
    except (OSError, KeyError, ValueError) as exc:
        raise ConfigError(
            f"cannot read a static embedding table; table={path!r} ({exc}). Pass the path "
            "of a file written by livingeval's distillation, or table=None for the bundled one.",
            field="table",
            path=path,
        ) from exc
    if vectors.ndim != 2 or vectors.shape[0] != len(vocab):
        raise ConfigError(
            f"static table {path!r} has {vectors.shape} vectors for {len(vocab)} tokens; "
            "rebuild it.",
            field="table",
            path=path,
        )
    fallback = np.zeros(vectors.shape[1], dtype=np.float32)
    fallback[0] = 1.0
    return StaticTable(
        name=Path(path).stem,
        digest=hashlib.sha256(raw).hexdigest()[:16],
        tokenizer=WordPiece(vocab),
        vectors=vectors,
        fallback=fallback,
    )


def _bundled_path() -> str:
    return str(resources.files("livingeval.embed").joinpath(f"_data/{BUNDLED}.npz"))


def _check_batch_size(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(
            f"StaticEmbedder.batch_size must be a positive int; batch_size={value!r}.",
            field="batch_size",
        )


@attrs.frozen(kw_only=True)
class StaticEmbedder:
    """Embed texts as the weighted mean of static token vectors distilled from MiniLM.

    The bundled table (about 7 MB, shipped inside livingeval, so nothing is downloaded)
    holds one 256-column vector per token of the ``all-MiniLM-L6-v2`` WordPiece
    vocabulary: MiniLM's output state for that token averaged over its occurrences in a
    generic corpus (task-agnostic: no intent data), scaled by a frequency weight so
    "the" and "my" count little. Texts are tokenised exactly as MiniLM does (a
    pure-Python BERT tokenizer, no ``tokenizers`` package), token vectors are summed and
    the sum is L2-normalised. No attention at run time: tens of thousands of texts per
    second on one core, at some cost in quality against the transformer itself (see
    ``docs/embedding.md`` for measured figures).

    Args:
        table: Path of a table file, or ``None`` for the bundled table.
        batch_size: Texts pooled per sparse product (bounds memory; no effect on results).

    Example:
        >>> emb = StaticEmbedder()
        >>> v = emb.embed(["my card has not arrived", "card not delivered yet", "reset my PIN"])
        >>> bool(v[0] @ v[1] > v[0] @ v[2])
        True

    .. versionadded:: 0.1.0
    """

    table: str | None = None
    """Table file; ``None`` uses the bundled MiniLM table."""
    batch_size: int = attrs.field(default=8192, validator=_check_batch_size)
    """Texts per sparse product."""

    def _table(self) -> StaticTable:
        return load_table(self.table if self.table is not None else _bundled_path())

    @property
    def model_id(self) -> str:
        """Identity of this embedding function, for caches (table name + content hash)."""
        table = self._table()
        return f"livingeval-static:{table.name}:{table.digest}"

    @property
    def dim(self) -> int:
        """Number of columns of the output."""
        return int(self._table().vectors.shape[1])

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Return one L2-normalised float32 row per text.

        Args:
            texts: The texts to embed.

        Returns:
            Array of shape ``(len(texts), dim)``.

        Raises:
            ConfigError: ``texts`` is one string instead of a sequence, or holds a
                non-string; or the table file cannot be read.
        """
        items = check_texts(texts, purpose="StaticEmbedder")
        table = self._table()
        vectors = table.vectors
        out = np.empty((len(items), vectors.shape[1]), dtype=np.float32)
        tokenize = table.tokenizer.ids
        for start in range(0, len(items), self.batch_size):
            chunk = items[start : start + self.batch_size]
            indptr = np.zeros(len(chunk) + 1, dtype=np.int64)
            cols: list[int] = []
            with table.lock:  # the tokenizer's word cache is shared
                for i, text in enumerate(chunk):
                    cols.extend(tokenize(text))
                    indptr[i + 1] = len(cols)
            indices = np.asarray(cols, dtype=np.int32)
            counts = scipy.sparse.csr_matrix(
                (np.ones(len(indices), dtype=np.float32), indices, indptr),
                shape=(len(chunk), vectors.shape[0]),
            )
            out[start : start + len(chunk)] = normalise_rows(counts @ vectors, table.fallback)
        return out
