"""JSON Lines trace source: streamed, windowed, strict or lenient."""

from __future__ import annotations

import gzip
import warnings
from collections.abc import Iterator

import orjson

from livingeval._json import trace_from_obj
from livingeval.errors import DuplicateTraceError, LivingEvalWarning, TraceFormatError
from livingeval.records import Trace
from livingeval.sources._common import (
    MAX_SKIPPED_KEPT,
    FileTraceSource,
    SkippedRecord,
    SourceReport,
    open_trace_file,
)

__all__ = ["JsonlTraceSource", "SkippedRecord", "SourceReport"]


class JsonlTraceSource(FileTraceSource):
    """Stream traces from a JSON Lines file (plain or gzip), one trace object per line.

    Memory stays flat whatever the file size: lines are read, decoded and yielded one at
    a time. Only an 8-byte digest per trace id is kept, to detect duplicates.

    Args:
        path: The ``.jsonl`` or ``.jsonl.gz`` file (gzip is detected by content).
        lenient: Skip bad lines instead of raising; every skip is counted in
            :attr:`report` and announced with one :class:`~livingeval.errors.LivingEvalWarning`
            per pass. Nothing is ever dropped silently.
        window: Keep only traces at most this old, relative to ``now``.
        now: The reference time for ``window`` (default: the current time at iteration).
        since: Keep only traces at or after this time (timezone-aware).
        until: Keep only traces before this time (timezone-aware).
        where: A predicate; traces for which it returns False (health checks, internal
            tenants) are dropped and counted in ``report.filtered``.
        check_duplicates: Detect a trace id seen twice (an error, or a skip when lenient).

    Raises:
        TraceFormatError: on iteration, for a bad line in strict mode, naming the file,
            line number and field.
        DuplicateTraceError: on iteration, for a repeated trace id in strict mode.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.jsonl"
        >>> _ = p.write_text('{"id": "a", "timestamp": "2026-01-01T00:00:00Z", '
        ...                  '"messages": [{"role": "user", "content": "hi"}]}\\n'
        ...                  'not json\\n')
        >>> source = JsonlTraceSource(p, lenient=True)
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     [t.id for t in source]
        ['a']
        >>> source.report.skipped, source.skipped[0].line
        (1, 2)

    .. versionadded:: 0.1.0
    """

    __slots__ = ()

    def __iter__(self) -> Iterator[Trace]:
        """Yield the file's traces in file order."""
        lower, upper = self._bounds()
        where = self.where
        lenient = self.lenient
        seen: set[int] | None = set() if self.check_duplicates else None
        path = self.path
        # Hot-path counters are plain locals; rare ones (skips, duplicates) live in ``rare``.
        lines = yielded = outside = filtered = 0
        rare = {"skipped": 0, "dups": 0}
        kept: list[SkippedRecord] = []
        self._report = SourceReport()
        loads = orjson.loads
        decode = trace_from_obj

        def skip(error: TraceFormatError, line: int) -> None:
            rare["skipped"] += 1
            if len(kept) < MAX_SKIPPED_KEPT:
                kept.append(
                    SkippedRecord(path=path, line=line, field=error.field, reason=error.message)
                )

        handle = open_trace_file(path)
        lineno = 0
        try:
            with handle:
                for lineno, raw in enumerate(handle, 1):
                    try:
                        obj = loads(raw)
                    except orjson.JSONDecodeError as exc:
                        if not raw.strip():
                            continue
                        lines += 1
                        bad_json = TraceFormatError(
                            f"not valid JSON ({exc}); each line must be one complete JSON "
                            "object. A cut-off line usually means the writer crashed mid-write.",
                            path=path,
                            line=lineno,
                            field="<json>",
                        )
                        if not lenient:
                            raise bad_json from None
                        skip(bad_json, lineno)
                        continue
                    lines += 1
                    try:
                        trace = decode(obj, path=path, line=lineno)
                        if seen is not None:
                            key = hash(trace.id)
                            if key in seen:
                                rare["dups"] += 1
                                raise DuplicateTraceError(
                                    f"trace id {trace.id!r} was already seen earlier in this "
                                    "file; trace ids must be unique. Deduplicate the export or "
                                    "use lenient=True to skip repeats.",
                                    path=path,
                                    line=lineno,
                                    field="id",
                                    trace_id=trace.id,
                                )
                            seen.add(key)
                    except TraceFormatError as error:
                        if not lenient:
                            raise
                        skip(error, lineno)
                        continue
                    if lower is not None or upper is not None:
                        ts = trace.timestamp
                        if (lower is not None and ts < lower) or (
                            upper is not None and ts >= upper
                        ):
                            outside += 1
                            continue
                    if where is not None and not where(trace):
                        filtered += 1
                        continue
                    yielded += 1
                    yield trace
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            # A truncated gzip stream: everything before it was yielded; say where it broke.
            broken = TraceFormatError(
                f"the file ends unexpectedly or is corrupt ({exc}); it was probably truncated "
                "while being written. Re-export it, or use lenient=True to keep what was read.",
                path=path,
                line=lineno + 1,
                field="<file>",
            )
            if not lenient:
                raise broken from exc
            skip(broken, lineno + 1)
        finally:
            self._report = SourceReport(
                lines=lines,
                yielded=yielded,
                outside_window=outside,
                filtered=filtered,
                skipped=rare["skipped"],
                duplicates=rare["dups"],
                skipped_records=tuple(kept),
            )
        if rare["skipped"]:
            warnings.warn(
                f"{path}: skipped {rare['skipped']} bad record(s) of {lines} "
                f"(first at line {kept[0].line}: {kept[0].reason}); see .report.skipped_records",
                LivingEvalWarning,
                stacklevel=2,
            )
