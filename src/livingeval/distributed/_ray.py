"""The Ray executor: the pipeline's data-parallel stages as Ray tasks.

Ray is an optional extra (``pip install 'livingeval[ray]'``). Nothing here imports it at
module import time; :class:`RayExecutor` imports it on construction (to fail early with
the install hint) and connects to the cluster on the first :meth:`RayExecutor.map`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any, TypeVar

import attrs

from livingeval._optional import import_optional
from livingeval.errors import ConfigError

__all__ = ["RayExecutor", "import_ray"]

_In = TypeVar("_In")
_Out = TypeVar("_Out")

_REMOTE: dict[tuple[int, int], Any] = {}


def import_ray(purpose: str = "RayExecutor") -> ModuleType:
    """Import :mod:`ray`, or raise :class:`~livingeval.errors.MissingDependencyError`.

    Args:
        purpose: What needs Ray, for the error message.

    Returns:
        The :mod:`ray` module.

    Raises:
        MissingDependencyError: Ray is not installed; the message says
            ``pip install 'livingeval[ray]'``.
    """
    if "ray" not in sys.modules:
        _use_token_auth_if_available()  # Ray reads its auth settings once, on import
    return import_optional("ray", extra="ray", purpose=purpose)


def _apply(fn: Callable[[Any], Any], chunk: Any) -> Any:
    return fn(chunk)


def _remote_apply(ray: ModuleType, max_retries: int) -> Any:
    """One ``ray.remote`` wrapper of :func:`_apply` per Ray module and retry count."""
    key = (id(ray), max_retries)
    if key not in _REMOTE:
        _REMOTE[key] = ray.remote(max_retries=max_retries, retry_exceptions=False)(_apply)
    return _REMOTE[key]


def _positive(_: Any, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and value < 1:
        raise ConfigError(
            f"{attribute.name} must be at least 1, got {attribute.name}={value}; "
            "pass a positive number (or None for the default)",
            field=attribute.name,
        )


def _non_negative(_: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 0:
        raise ConfigError(
            f"{attribute.name} must be >= 0, got {attribute.name}={value}; "
            "pass 0 to disable retries",
            field=attribute.name,
        )


@attrs.frozen(kw_only=True)
class RayExecutor:
    """Run the pipeline's data-parallel stages (scrub, embed, assign) as Ray tasks.

    An :class:`~livingeval.protocols.Executor`: :meth:`map` applies a picklable function
    to each chunk on the cluster and returns the results in input order. The function is
    shipped once (``ray.put``) and every chunk becomes one task. Stage functions are pure,
    so a task whose worker dies is simply run again (``max_retries``): nothing is lost and
    the result is the same as in-process.

    The executor holds configuration only; it connects (``ray.init``) on the first
    :meth:`map`, and reuses a connection the process already has.

    Args:
        address: The cluster to join: ``"127.0.0.1:6379"``, ``"auto"`` (the cluster this
            machine belongs to, as started by ``ray start``) or ``"ray://host:10001"`` (Ray
            Client). ``None`` starts a private local Ray instance with ``num_cpus`` CPUs.
        num_cpus: CPUs of the private local instance (only with ``address=None``;
            default: all of this machine's).
        max_in_flight: Most chunks submitted and not yet collected at once (bounds the
            object store and the driver's memory; default: unbounded).
        max_retries: How often a task whose worker process died is re-run.

    Raises:
        MissingDependencyError: on construction, when Ray is not installed (the message
            says ``pip install 'livingeval[ray]'``).
        ConfigError: ``num_cpus`` given with an address, or a non-positive bound.

    Example:
        >>> from livingeval.distributed import RayExecutor
        >>> executor = RayExecutor(address="auto", max_in_flight=16)  # doctest: +SKIP
        >>> executor.map(len, [[1, 2], [3]])  # doctest: +SKIP
        [2, 1]

    .. versionadded:: 0.1.0
    """

    address: str | None = None
    """The Ray cluster address, or ``None`` for a private local instance."""
    num_cpus: int | None = attrs.field(default=None, validator=_positive)
    """CPUs of a private local instance (``address=None`` only)."""
    max_in_flight: int | None = attrs.field(default=None, validator=_positive)
    """Most chunks in flight at once; ``None`` submits all."""
    max_retries: int = attrs.field(default=3, validator=_non_negative)
    """Re-runs of a task whose worker died."""

    def __attrs_post_init__(self) -> None:
        import_ray()
        if self.num_cpus is not None and self.address not in (None, "local"):
            raise ConfigError(
                f"num_cpus applies only to a private local instance, got "
                f"num_cpus={self.num_cpus} with address={self.address!r}; drop num_cpus "
                "(the cluster's own CPUs are used) or pass address=None",
                field="num_cpus",
            )

    def connect(self) -> ModuleType:
        """Connect to the cluster (or start the local instance) unless already connected.

        Returns:
            The :mod:`ray` module, initialised.
        """
        ray = import_ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "ignore_reinit_error": True,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if self.address in (None, "local"):
                # "local": a new private instance, even when this machine runs a cluster.
                kwargs["address"] = "local"
                kwargs["include_dashboard"] = False
                if self.num_cpus is not None:
                    kwargs["num_cpus"] = self.num_cpus
            else:
                kwargs["address"] = self.address
            ray.init(**kwargs)
        return ray

    @property
    def parallelism(self) -> int:
        """CPUs of the cluster (connects first): how many chunks run at once."""
        cpus = self.connect().cluster_resources().get("CPU", 1)
        return max(1, int(cpus))

    @contextmanager
    def share(self, component: _In) -> Iterator[_In]:
        """A stand-in for ``component`` with one rate limit, budget and cache for all workers.

        For a :class:`~livingeval.judge.PairwiseJudge` this starts one actor on the
        driver's node that hands out the provider's request permits (every worker's HTTP
        engine asks it before each attempt), keeps the spend against ``budget_usd`` and
        fronts the ``cache_path`` SQLite file; the yielded judge uses it. Other components
        come back unchanged. The actor stops when the block ends.

        Example:
            >>> with executor.share(judge) as shared:  # doctest: +SKIP
            ...     executor.map(JudgeChunk(shared), chunks)
        """
        from livingeval.distributed._limits import share_component

        with share_component(self.connect(), component) as shared:
            yield shared

    def map(self, fn: Callable[[_In], _Out], chunks: Sequence[_In]) -> list[_Out]:
        """Return ``[fn(chunk) for chunk in chunks]``, each chunk computed as a Ray task.

        Args:
            fn: A picklable function (stage functions are frozen attrs objects).
            chunks: The inputs, one task each.

        Returns:
            The results, in the order of ``chunks``.

        Raises:
            Exception: the first exception ``fn`` raised (re-raised from the task), or
                Ray's ``WorkerCrashedError`` when a task's worker died more than
                ``max_retries`` times.
        """
        if not chunks:
            return []
        ray = self.connect()
        remote = _remote_apply(ray, self.max_retries)
        fn_ref = ray.put(fn)
        limit = self.max_in_flight or len(chunks)
        results: list[Any] = [None] * len(chunks)
        pending: dict[Any, int] = {}
        for index, chunk in enumerate(chunks):
            if len(pending) >= limit:
                self._collect(ray, pending, results, num_returns=1)
            pending[remote.remote(fn_ref, chunk)] = index
        while pending:
            self._collect(ray, pending, results, num_returns=len(pending))
        return results

    @staticmethod
    def _collect(
        ray: ModuleType, pending: dict[Any, int], results: list[Any], *, num_returns: int
    ) -> None:
        done, _ = ray.wait(list(pending), num_returns=num_returns)
        values = _unwrap(ray, done)
        for ref, value in zip(done, values, strict=True):
            results[pending.pop(ref)] = value


def _use_token_auth_if_available() -> None:
    """Send this machine's Ray token when joining a cluster, as ``ray start`` expects.

    ``ray start --head`` enables token authentication and writes the token to
    ``~/.ray/auth_token``, but a driver joining by address only sends it when
    ``RAY_AUTH_MODE=token`` is set when Ray is imported. We set it (only when unset and a
    token exists); a token sent to a cluster without authentication is ignored.
    """
    if "RAY_AUTH_MODE" in os.environ:
        return
    token_file = os.environ.get("RAY_AUTH_TOKEN_PATH") or os.path.expanduser("~/.ray/auth_token")
    if "RAY_AUTH_TOKEN" in os.environ or os.path.exists(token_file):
        os.environ["RAY_AUTH_MODE"] = "token"


def _unwrap(ray: ModuleType, refs: list[Any]) -> list[Any]:
    """``ray.get`` that re-raises a task's own exception rather than Ray's wrapper."""
    try:
        return list(ray.get(refs))
    except ray.exceptions.RayTaskError as exc:
        original = getattr(exc, "cause", None)
        if isinstance(original, Exception):
            # The same exception type as in-process; the chained error has the remote trace.
            raise original from exc
        raise
