"""Scale-out on Ray: the same evaluation across a cluster, with the same results.

Ray is an optional extra (``pip install 'livingeval[ray]'``): this package imports without
it, and only using a Ray-backed name needs it.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from livingeval._public import publish
from livingeval.distributed._limits import PermitBook
from livingeval.distributed._ray import RayExecutor
from livingeval.distributed._shards import (
    ShardedStrata,
    ShardedTraceSource,
    ShardedWindow,
    sample_window,
    stratify_shards,
)

__all__ = [
    "PermitBook",
    "RayExecutor",
    "ShardedStrata",
    "ShardedTraceSource",
    "ShardedWindow",
    "sample_window",
    "stratify_shards",
]

publish(globals(), __all__)
