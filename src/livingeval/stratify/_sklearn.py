"""Typed adapter around the parts of scikit-learn (and its threadpoolctl) livingeval.stratify uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["english_stop_words", "single_threaded_blas"]


def english_stop_words() -> frozenset[str]:
    """Return scikit-learn's English stop-word list."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(str(word) for word in ENGLISH_STOP_WORDS)


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with BLAS limited to one thread.

    OpenBLAS' matrix products are not bit-identical across thread counts (measured: a
    ``(900, 128) @ (128, 50)`` float32 product differs between 1 and 2 threads), and
    UMAP turns last-bit differences in the k-NN graph into a different layout. Limiting
    BLAS to one thread makes the stratifier's numbers independent of the machine's
    thread settings. The limit is process-wide while the block runs (threadpoolctl).
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(limits=1, user_api="blas"):
        yield
