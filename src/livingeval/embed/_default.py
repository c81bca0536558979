"""default_embedder(): the offline default embedder."""

from __future__ import annotations

from livingeval.embed._static import StaticEmbedder
from livingeval.protocols import Embedder

__all__ = ["default_embedder"]


def default_embedder() -> Embedder:
    """Return the offline default :class:`~livingeval.protocols.Embedder`.

    Today this is :class:`StaticEmbedder` with its bundled table: static token vectors
    distilled once from ``all-MiniLM-L6-v2`` on a generic corpus (no intent data) and
    shipped inside livingeval (about 7 MB),
    so it needs no model download and no network, runs at tens of thousands of texts per
    second on one core, and is deterministic and batch-independent. The choice may change
    between releases as measurements improve; pin ``StaticEmbedder()`` (and its
    ``model_id``) if you need stable vectors across versions.

    Returns:
        A ready embedder; call ``embed(texts)``.

    Example:
        >>> emb = default_embedder()
        >>> emb.embed(["where is my card"]).dtype
        dtype('float32')

    .. versionadded:: 0.1.0
    """
    return StaticEmbedder()
