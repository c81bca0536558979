"""A persistent cache of candidate answers, so a resumed run never pays twice."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path

import orjson

from livingeval._json import message_to_obj, response_from_obj, response_to_obj, tool_to_obj
from livingeval.protocols import Responder
from livingeval.records import ReplayRequest, Response

__all__ = ["CachedResponder", "request_key"]


def request_key(request: ReplayRequest, responder_id: str) -> str:
    """A content hash of what the responder is asked (not the trace id), and who answers."""
    payload = {
        "responder": responder_id,
        "messages": [message_to_obj(m) for m in request.messages],
        "tools": [tool_to_obj(t) for t in request.tools],
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
    }
    return hashlib.blake2b(
        orjson.dumps(payload, option=orjson.OPT_SORT_KEYS), digest_size=20
    ).hexdigest()


class CachedResponder:
    """Wrap any :class:`~livingeval.protocols.Responder` with a SQLite answer cache.

    Each answer is written as soon as it arrives (WAL mode, safe for several processes),
    so a crashed or cancelled run, run again, only asks for what it had not received.
    Failures are never cached. Keys hash the request's content and ``responder_id``, so
    a different candidate model never reuses another's answers.

    Args:
        responder: The candidate model to wrap.
        path: The SQLite file.
        responder_id: Identifies the candidate (model name and version); part of the key.

    Example:
        >>> import tempfile, anyio
        >>> from livingeval import Message
        >>> from livingeval.replay import CallableResponder
        >>> calls = []
        >>> inner = CallableResponder(lambda r: calls.append(1) or "hi")
        >>> cached = CachedResponder(inner, tempfile.mktemp(suffix=".sqlite"), responder_id="m1")
        >>> req = ReplayRequest(trace_id="t", messages=(Message(role="user", content="x"),))
        >>> _ = anyio.run(cached.respond, req); _ = anyio.run(cached.respond, req)
        >>> len(calls), cached.hits
        (1, 1)

    .. versionadded:: 0.1.0
    """

    def __init__(
        self, responder: Responder, path: str | os.PathLike[str], *, responder_id: str
    ) -> None:
        self.responder = responder
        self.path = Path(path)
        self.responder_id = responder_id
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"CachedResponder({self.responder!r}, {str(self.path)!r}, responder_id={self.responder_id!r})"

    def __getstate__(self) -> dict[str, object]:
        # Shipped to another process (a Ray worker): it opens the same file there.
        return {"responder": self.responder, "path": self.path, "responder_id": self.responder_id}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._conn = None

    async def __aenter__(self) -> CachedResponder:
        enter = getattr(self.responder, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        leave = getattr(self.responder, "__aexit__", None)
        if leave is not None:
            await leave(*exc_info)

    def _db(self) -> sqlite3.Connection:
        db = self._conn
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS replay (key TEXT PRIMARY KEY, responder TEXT, "
                "response BLOB, created REAL DEFAULT (unixepoch('subsec')))"
            )
            self._conn = db
        return db

    def get(self, request: ReplayRequest) -> Response | None:
        """The cached answer to ``request``, or ``None``."""
        row = (
            self._db()
            .execute(
                "SELECT response FROM replay WHERE key = ?",
                (request_key(request, self.responder_id),),
            )
            .fetchone()
        )
        return None if row is None else response_from_obj(orjson.loads(row[0]))

    async def respond(self, request: ReplayRequest) -> Response:
        """Return the cached answer, or ask the wrapped responder and store its answer."""
        cached = self.get(request)
        if cached is not None:
            self.hits += 1
            return cached
        response = await self.responder.respond(request)
        self.misses += 1
        with self._lock:
            self._db().execute(
                "INSERT OR REPLACE INTO replay (key, responder, response) VALUES (?, ?, ?)",
                (
                    request_key(request, self.responder_id),
                    self.responder_id,
                    orjson.dumps(response_to_obj(response)),
                ),
            )
        return response

    def close(self) -> None:
        """Close the database connection (it reopens on the next request)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
