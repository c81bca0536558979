"""The judgment cache: persistent, content-addressed, SQLite in WAL mode.

One row per *vote* (one judge call), keyed by a hash over the judge identity (provider and
model), the prompt template hash, the sampling parameters, the order, the vote index and
the hashed contents. Three votes therefore stay three votes, and a changed template or
model never reuses old votes. Errors are never written.

:meth:`JudgmentCache.put` commits one vote at once. The pairwise judge instead collects
votes and commits them with :meth:`JudgmentCache.put_many`, one transaction every
``FLUSH_SECONDS`` or ``FLUSH_ROWS`` votes, whichever comes first, and reports an item's
verdict only once its votes are committed. A cancel flushes what is pending, so it loses
nothing paid for; a ``kill -9`` loses the calls in flight plus at most the last
``FLUSH_SECONDS`` (and at most ``FLUSH_ROWS``) of uncommitted votes, none of whose verdicts
was reported yet. A rerun pays only for the votes not in the file.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson

__all__ = [
    "FLUSH_ROWS",
    "FLUSH_SECONDS",
    "CacheStatistics",
    "CachedVote",
    "JudgmentCache",
    "VoteRow",
    "content_digests",
    "key_from_digests",
    "key_prefix",
    "vote_key",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    key TEXT PRIMARY KEY,
    judge TEXT NOT NULL,
    template TEXT NOT NULL,
    created REAL NOT NULL,
    reply TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    served_by TEXT NOT NULL
);
"""
# No secondary index (on judge or created): each would cost every vote written another
# B-tree insert (~40 % of the insert's CPU), to speed up only pruning and inspection, which
# scan the table quickly enough (~0.1 s per 100,000 votes). Files made by earlier versions
# keep their indexes; SQLite maintains and uses them as before.


FLUSH_SECONDS = 0.05
"""Longest a finished vote waits in memory before its batch is committed."""
FLUSH_ROWS = 512
"""Most votes committed in one batch (a full batch is committed at once)."""

VoteRow = tuple[str, str, str, float, str, int, int, float, str]
"""One stored vote as a row: key, judge, template, created (epoch seconds), reply,
input_tokens, output_tokens, cost_usd, served_by."""

_MAX_VARIABLES = 900  # under SQLite's oldest bound-parameter limit (999)
_INSERT = "INSERT OR REPLACE INTO votes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def vote_key(
    *,
    judge: str,
    template: str,
    params: Mapping[str, Any],
    order: str,
    vote: int,
    contents: Sequence[str],
) -> str:
    """The cache key of one vote (a 64-hex-digit SHA-256).

    It covers the judge identity (provider and model), the template hash, the sampling
    parameters, the order, the vote index and the SHA-256 of each compared text.

    Example:
        >>> k = vote_key(judge="p:m", template="t1", params={"temperature": 0.3},
        ...              order="candidate_first", vote=0, contents=["q", "a", "b"])
        >>> k == vote_key(judge="p:m", template="t1", params={"temperature": 0.3},
        ...               order="candidate_first", vote=1, contents=["q", "a", "b"])
        False
    """
    prefix = key_prefix(judge=judge, template=template, params=params)
    return key_from_digests(prefix, order, vote, content_digests(contents))


def key_prefix(*, judge: str, template: str, params: Mapping[str, Any]) -> bytes:
    """The part of a vote key fixed for one judge configuration (computed once per run)."""
    return orjson.dumps([judge, template, dict(sorted(params.items()))])


def content_digests(contents: Sequence[str]) -> bytes:
    """The hashed contents part of a vote key (computed once per item)."""
    return orjson.dumps([_digest(c) for c in contents])


def key_from_digests(prefix: bytes, order: str, vote: int, digests: bytes) -> str:
    """A vote key from its precomputed parts (see :func:`vote_key`)."""
    return hashlib.sha256(b"%s|%s|%d|%s" % (prefix, order.encode(), vote, digests)).hexdigest()


@attrs.frozen(kw_only=True)
class CachedVote:
    """One stored vote (the raw reply; parsing happens on read, so parsers can improve)."""

    reply: str
    """The judge's reply text."""
    input_tokens: int
    """Prompt tokens of the original call."""
    output_tokens: int
    """Completion tokens of the original call."""
    cost_usd: float
    """What the original call cost."""
    served_by: str
    """Who served the original call."""


@attrs.frozen(kw_only=True)
class CacheStatistics:
    """What a cache holds: votes in total, per judge, and the USD they saved once each.

    .. versionadded:: 0.1.0
    """

    votes: int
    """Stored votes."""
    by_judge: Mapping[str, int] = attrs.field(hash=False)
    """Stored votes per judge identity."""
    stored_cost_usd: float
    """What the stored votes cost when they were first made."""
    hits: int
    """Lookups answered from the cache since this handle was opened."""
    misses: int
    """Lookups not in the cache since this handle was opened."""
    writes: int
    """Votes written since this handle was opened."""


class JudgmentCache:
    """A SQLite judgment cache at ``path`` (WAL; safe for concurrent writers and processes).

    Use it as a context manager, or call :meth:`close`. Reads and writes are synchronous
    (sub-millisecond; they never block on the network).

    Args:
        path: The SQLite file; created when missing.

    Example:
        >>> import tempfile, os
        >>> with JudgmentCache(os.path.join(tempfile.mkdtemp(), "c.sqlite")) as cache:
        ...     cache.put("k", CachedVote(reply="A", input_tokens=1, output_tokens=1,
        ...               cost_usd=0.0, served_by="p:m"), judge="p:m", template="t")
        ...     cache.get_many(["k"])["k"].reply
        'A'

    .. versionadded:: 0.1.0
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.executescript(_SCHEMA)
        self.hits = 0
        self.misses = 0
        self.writes = 0

    def __enter__(self) -> JudgmentCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def get_many(self, keys: Sequence[str]) -> dict[str, CachedVote]:
        """The stored votes among ``keys`` (missing keys are absent from the result)."""
        rows: list[Any] = []
        for start in range(0, len(keys), _MAX_VARIABLES):
            chunk = list(keys[start : start + _MAX_VARIABLES])
            marks = ",".join("?" * len(chunk))
            rows += self._db.execute(
                "SELECT key, reply, input_tokens, output_tokens, cost_usd, served_by "
                f"FROM votes WHERE key IN ({marks})",
                chunk,
            ).fetchall()
        found = {
            row[0]: CachedVote(
                reply=row[1],
                input_tokens=row[2],
                output_tokens=row[3],
                cost_usd=row[4],
                served_by=row[5],
            )
            for row in rows
        }
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def put(self, key: str, vote: CachedVote, *, judge: str, template: str) -> None:
        """Store one vote now (autocommit), so a crash right after keeps it."""
        self.put_many([(key, vote)], judge=judge, template=template)

    def put_many(
        self, votes: Sequence[tuple[str, CachedVote]], *, judge: str, template: str
    ) -> None:
        """Store ``(key, vote)`` pairs in one transaction (all or none survive a crash)."""
        now = time.time()
        self.put_rows(
            [
                (
                    key,
                    judge,
                    template,
                    now,
                    vote.reply,
                    vote.input_tokens,
                    vote.output_tokens,
                    vote.cost_usd,
                    vote.served_by,
                )
                for key, vote in votes
            ]
        )

    def put_rows(self, rows: Sequence[VoteRow]) -> None:
        """Store ready-made :data:`VoteRow` tuples in one transaction (the fan-out's path)."""
        if not rows:
            return
        db = self._db
        if len(rows) == 1:
            db.execute(_INSERT, rows[0])
        else:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(_INSERT, rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        self.writes += len(rows)

    def statistics(self) -> CacheStatistics:
        """Counts per judge and this handle's hits, misses and writes."""
        rows = self._db.execute(
            "SELECT judge, COUNT(*), COALESCE(SUM(cost_usd), 0) FROM votes GROUP BY judge"
        ).fetchall()
        return CacheStatistics(
            votes=sum(r[1] for r in rows),
            by_judge={r[0]: r[1] for r in rows},
            stored_cost_usd=float(sum(r[2] for r in rows)),
            hits=self.hits,
            misses=self.misses,
            writes=self.writes,
        )

    def entries(self, *, judge: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Stored rows (newest first) for inspection, optionally for one judge identity."""
        query = (
            "SELECT key, judge, template, created, reply, input_tokens, output_tokens, "
            "cost_usd, served_by FROM votes"
        )
        args: list[Any] = []
        if judge is not None:
            query += " WHERE judge = ?"
            args.append(judge)
        query += " ORDER BY created DESC LIMIT ?"
        args.append(limit)
        names = (
            "key",
            "judge",
            "template",
            "created",
            "reply",
            "input_tokens",
            "output_tokens",
            "cost_usd",
            "served_by",
        )
        return [dict(zip(names, row, strict=True)) for row in self._db.execute(query, args)]

    def prune(
        self,
        *,
        older_than: float | None = None,
        judges: Iterable[str] | None = None,
        models: Iterable[str] | None = None,
    ) -> int:
        """Delete votes and return how many went.

        Args:
            older_than: Delete votes older than this many seconds.
            judges: Delete votes of these judge identities (``provider:model``).
            models: Delete votes of these model names, from any provider.

        Example:
            >>> import tempfile, os
            >>> with JudgmentCache(os.path.join(tempfile.mkdtemp(), "c.sqlite")) as cache:
            ...     cache.prune(older_than=86400.0)
            0
        """
        clauses: list[str] = []
        args: list[Any] = []
        if older_than is not None:
            clauses.append("created < ?")
            args.append(time.time() - older_than)
        if judges is not None:
            names = list(judges)
            clauses.append(f"judge IN ({','.join('?' * len(names))})" if names else "0")
            args += names
        if models is not None:
            wanted = list(models)
            parts = ["judge LIKE ?"] * len(wanted)
            clauses.append("(" + " OR ".join(parts) + ")" if parts else "0")
            args += [f"%:{m}" for m in wanted]
        where = " AND ".join(clauses) if clauses else "1"
        cursor = self._db.execute(f"DELETE FROM votes WHERE {where}", args)
        return cursor.rowcount
