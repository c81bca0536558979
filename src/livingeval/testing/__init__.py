"""Test helpers for users of livingeval: conformance checks, fakes and a loopback server.

``check_<protocol>(component)`` raises :class:`AssertionError` when a component breaks its
Protocol's contract (see :mod:`livingeval.protocols`). :class:`LabelledWindows` and
:func:`labels_owning_clusters` draw reference/new window pairs from labelled data with
known changes, to check drift detection on your own traffic.
"""

from __future__ import annotations

from livingeval._public import publish
from livingeval.testing._conformance import (
    check_embedder,
    check_gate,
    check_judge,
    check_responder,
    check_scrubber,
    check_stratifier,
    check_trace_source,
    sample_trace,
)
from livingeval.testing._drift_windows import (
    LabelledWindows,
    draw_labels,
    labels_owning_clusters,
)

# --- judge core (issue #6): loopback server and fakes -----------------------------------
from livingeval.testing._server import (
    Faults,
    LoopbackServer,
    always,
    extract_answers,
    position_biased,
    prefer_containing,
    prefer_longer,
    scripted,
)

# --- end judge core ---------------------------------------------------------------------

__all__ = [
    "LabelledWindows",
    "check_embedder",
    "check_gate",
    "check_judge",
    "check_responder",
    "check_scrubber",
    "check_stratifier",
    "check_trace_source",
    "draw_labels",
    "labels_owning_clusters",
    "sample_trace",
    # --- judge core (issue #6) names ---
    "Faults",
    "LoopbackServer",
    "always",
    "extract_answers",
    "position_biased",
    "prefer_containing",
    "prefer_longer",
    "scripted",
    # --- end judge core names ---
]
__all__.sort()  # the judge core block adds names out of order

publish(globals(), __all__)
