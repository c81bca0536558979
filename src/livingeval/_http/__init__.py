"""The shared HTTP engine: one HTTP client, bounded concurrency, rate limits, retries.

Private base-layer package used by the judges, the replay responder and the embeddings
client. The API is small:

* :class:`HttpEngine` -- an async context manager owning one HTTP client whose connection
  pool is sized to ``concurrency``: the lean :class:`WireClient` (``transport="wire"``, the
  default) or an ``aiohttp.ClientSession`` (``transport="aiohttp"``). ``await engine.post_json(url, payload)``
  returns a :class:`JsonReply` or raises :class:`~livingeval.errors.TransientJudgeError`
  (after retries) / :class:`~livingeval.errors.JudgeError` (a non-retryable HTTP error).
* :class:`RetryPolicy` -- tenacity settings (attempts, exponential jitter, injectable sleep).
* :class:`RateLimiter` -- requests/tokens per minute per provider, multiplicative backoff on
  429, additive recovery on success.
* :func:`classify_status` -- maps an HTTP status to ``None`` (fine), a transient error or a
  permanent one.

A request holds a concurrency slot only while it is on the wire: sleeping out a
``Retry-After`` or a backoff happens with the slot released, so other work keeps flowing.
:func:`on_backoff` tells a fan-out when that happens, so it can put another worker on the
freed slot.
"""

from __future__ import annotations

from livingeval._http._engine import (
    JSON_HEADERS,
    TRANSPORTS,
    HttpEngine,
    HttpStatistics,
    JsonReply,
    Limiter,
    RateLimiter,
    RetryPolicy,
    Transport,
    check_rates,
    check_transport,
    classify_status,
    on_backoff,
    parse_retry_after,
    transport_validator,
)
from livingeval._http._wire import HttpProtocolError, WireClient, WireResponse

__all__ = [
    "HttpEngine",
    "HttpProtocolError",
    "HttpStatistics",
    "JSON_HEADERS",
    "JsonReply",
    "Limiter",
    "RateLimiter",
    "RetryPolicy",
    "TRANSPORTS",
    "Transport",
    "WireClient",
    "WireResponse",
    "check_rates",
    "check_transport",
    "classify_status",
    "on_backoff",
    "parse_retry_after",
    "transport_validator",
]
