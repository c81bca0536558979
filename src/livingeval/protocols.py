"""The whole extension contract on one page, in flow order.

Data flows one way::

    TraceSource -> Scrubber -> Embedder -> Stratifier -> sample
                -> Responder (replay) -> Judge fan-out -> Gate -> Report

Every stage is a small :class:`typing.Protocol`. livingeval ships reference
implementations of each, but anything with the right methods plugs in: no base class to
inherit, no registration. Methods that may grow take one frozen input record, so new needs
become new record fields, never new parameters. ``livingeval.testing`` has a
``check_<protocol>()`` conformance check for each.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from livingeval.records import (
    GateDecision,
    GateInput,
    JudgeInput,
    ReplayRequest,
    Response,
    Trace,
    Verdict,
)

__all__ = [
    "DistributedExecutor",
    "Embedder",
    "Executor",
    "Gate",
    "Judge",
    "Responder",
    "Scrubber",
    "Strata",
    "Stratifier",
    "TraceSource",
]


_In = TypeVar("_In")
_Out = TypeVar("_Out")


class TraceSource(Protocol):
    """**Protocol:** where production traces come from.

    Iterating yields :class:`~livingeval.Trace` records, streamed: a source must not load
    everything into memory first. Iterating twice yields the same traces again (a source
    is a re-readable description of data, not a one-shot iterator). Bad records raise
    :class:`~livingeval.errors.TraceFormatError` naming where they are, unless the source
    was asked to be lenient, in which case it skips and counts them.

    Example:
        >>> from livingeval.sources import InMemoryTraceSource
        >>> source: TraceSource = InMemoryTraceSource([])
        >>> list(source)
        []
    """

    def __iter__(self) -> Iterator[Trace]:
        """Yield the source's traces in a stable order."""
        ...


class Scrubber(Protocol):
    """**Protocol:** remove personal data and secrets before anything leaves the process.

    ``scrub`` returns a new trace with every text field scrubbed: system prompts, user
    and assistant messages, tool-call arguments (string values inside the JSON, keeping it
    valid JSON) and tool results, and the response. ``scrub_text`` scrubs one string.
    Both are pure and idempotent: scrubbing scrubbed output changes nothing.
    """

    def scrub(self, trace: Trace) -> Trace:
        """Return ``trace`` with personal data replaced."""
        ...

    def scrub_text(self, text: str) -> str:
        """Return ``text`` with personal data replaced."""
        ...


class Embedder(Protocol):
    """**Protocol:** map texts to vectors for clustering.

    ``embed`` returns a ``float32`` array of shape ``(len(texts), dim)`` whose rows are
    L2-normalised. It is deterministic, and a text's vector never depends on the other
    texts in the batch (otherwise drift and assignment of new traces break).
    """

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Return one L2-normalised float32 row per text."""
        ...


class Strata(Protocol):
    """**Protocol:** a fitted stratification, as returned by :meth:`Stratifier.fit`.

    ``labels`` holds one stratum id per fitted vector, ``-1`` for noise. ``assign`` maps
    new vectors (another window's traces) to the same strata without refitting.
    """

    @property
    def labels(self) -> npt.NDArray[np.int64]:
        """Stratum id per fitted vector; ``-1`` is noise."""
        ...

    def assign(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
        """Return the stratum id of each new vector (``-1`` when it fits none)."""
        ...


class Stratifier(Protocol):
    """**Protocol:** group traces into strata (intent clusters) from their embeddings.

    ``fit`` is pure: it returns a new :class:`Strata` and leaves the stratifier, which
    holds only hyperparameters, unchanged. Randomness comes from the stratifier's seed.
    """

    def fit(self, vectors: npt.NDArray[np.float32]) -> Strata:
        """Fit strata to ``vectors`` (one row per trace)."""
        ...


@runtime_checkable
class Responder(Protocol):
    """**Protocol:** the candidate model: input messages in, a :class:`~livingeval.Response` out.

    ``respond`` is async so replay can fan out. It raises on failure (transient failures
    as :class:`~livingeval.errors.TransientJudgeError`, so the engine retries them); the
    replay engine turns a final failure into a failure value, never an aborted run.
    """

    async def respond(self, request: ReplayRequest) -> Response:
        """Answer one replayed request."""
        ...


@runtime_checkable
class Judge(Protocol):
    """**Protocol:** judge one candidate answer against the production baseline.

    ``judge`` is async. It returns a :class:`~livingeval.records.Verdict` with paired
    scores in ``[0, 1]``; it raises when it cannot decide, and the fan-out records that as
    a :class:`~livingeval.records.JudgeFailure` with its cause.
    """

    async def judge(self, item: JudgeInput) -> Verdict:
        """Return the verdict on one item."""
        ...


class Gate(Protocol):
    """**Protocol:** decide whether a release may ship.

    ``decide`` is a pure function of its :class:`~livingeval.records.GateInput` and
    returns ``pass``, ``fail`` or ``inconclusive`` with every reason. Gates compose with
    ``&`` in the reference implementations.
    """

    def decide(self, gate_input: GateInput) -> GateDecision:
        """Return the decision on ``gate_input``."""
        ...


class Executor(Protocol):
    """**Protocol:** where the data-parallel stages run (scrub, embed, assign).

    ``map`` applies a picklable function to each chunk and returns the results in input
    order. The pipeline's stage code is the same whatever the executor; only where it runs
    changes: in this process by default, or on a Ray cluster with
    ``livingeval.distributed.RayExecutor``.
    """

    def map(self, fn: Callable[[_In], _Out], chunks: Sequence[_In]) -> list[_Out]:
        """Return ``[fn(chunk) for chunk in chunks]``, possibly computed elsewhere."""
        ...


@runtime_checkable
class DistributedExecutor(Executor, Protocol):
    """**Protocol:** an executor whose workers are other processes or machines.

    With one, the pipeline also fans replay and judge calls out to the workers (chunks of
    the sample). ``share(component)`` yields a stand-in whose state must be one for all
    workers: a judge's rate limit, budget and judgment cache. ``parallelism`` is how many
    chunks run at once. ``livingeval.distributed.RayExecutor`` is one.
    """

    @property
    def parallelism(self) -> int:
        """How many chunks run at once."""
        ...

    def share(self, component: _In) -> AbstractContextManager[_In]:
        """A stand-in for ``component`` whose limits and cache are shared by all workers."""
        ...
