"""OpenAIEmbedder: an OpenAI-compatible ``/embeddings`` client (async, with a sync twin)."""

from __future__ import annotations

import os
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import attrs
import numpy as np
import numpy.typing as npt

from livingeval._http import JSON_HEADERS, HttpEngine, RetryPolicy, Transport, transport_validator
from livingeval._sync import run_sync
from livingeval.embed._common import check_texts, normalise_rows
from livingeval.errors import ConfigError, LivingEvalError

__all__ = ["EmbeddingReplyError", "OpenAIEmbedder"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class EmbeddingReplyError(LivingEvalError):
    """The embeddings endpoint answered 2xx, but not with one vector per input.

    .. versionadded:: 0.1.0
    """


def _positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None and attribute.name == "dimensions":
        return
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ConfigError(
            f"OpenAIEmbedder.{attribute.name} must be a positive number; "
            f"{attribute.name}={value!r}.",
            field=attribute.name,
        )


def _batch_limit(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    _positive(instance, attribute, value)
    if value > 2048:
        raise ConfigError(
            f"OpenAIEmbedder.batch_size must be at most 2048 (the API's limit on inputs per "
            f"request); batch_size={value}.",
            field="batch_size",
        )


@attrs.frozen(kw_only=True)
class OpenAIEmbedder:
    """Embed texts through an OpenAI-compatible ``POST {base_url}/embeddings`` endpoint.

    Works with OpenAI (``text-embedding-3-large``/``-small`` with ``dimensions``), Azure-
    style proxies, vLLM, Ollama, LiteLLM and other servers speaking the same API. Texts go
    out in batches of ``batch_size``, up to ``concurrency`` batches at once over one
    HTTP client (livingeval's shared HTTP engine). HTTP 429, 5xx, timeouts and
    connection resets are retried with exponential jitter (tenacity); a ``Retry-After``
    header replaces the backoff. Rows come back in input order, L2-normalised as float32.

    :meth:`embed_async` is the async entry point; :meth:`embed` is its sync twin (it works
    inside a running event loop, as in a notebook) and satisfies
    :class:`~livingeval.protocols.Embedder`. Send scrubbed text only: this embedder sends
    its input to a remote service.

    Args:
        model: The embedding model.
        dimensions: Output size for models that can shorten vectors
            (``text-embedding-3-*``); ``None`` keeps the model's size and sends no field.
        base_url: API root; ``None`` reads ``OPENAI_BASE_URL`` or uses OpenAI's.
        api_key: Bearer key; ``None`` reads ``OPENAI_API_KEY`` (no header when unset).
        batch_size: Texts per request (at most 2048).
        concurrency: Requests in flight at once.
        timeout: Seconds allowed for one attempt.
        attempts: Tries per request, the first included.
        sleep: The sleep used between retries (tests inject a recording one).
        transport: The HTTP client: ``"wire"`` (default, livingeval's lean keep-alive
            HTTP/1.1 client) or ``"aiohttp"``.
        ssl_context: TLS settings for an ``https`` base URL; ``None`` uses the system's CAs.

    Example:
        >>> emb = OpenAIEmbedder(dimensions=256, api_key="sk-...")
        >>> emb.model_id
        'openai:https://api.openai.com/v1:text-embedding-3-large:d256'

    .. versionadded:: 0.1.0
    """

    model: str = "text-embedding-3-large"
    """The embedding model name."""
    dimensions: int | None = attrs.field(default=None, validator=_positive)
    """Requested output size, or ``None`` for the model's own."""
    base_url: str | None = None
    """API root (``.../v1``); ``None`` reads ``OPENAI_BASE_URL``."""
    api_key: str | None = attrs.field(default=None, repr=False)
    """Bearer key; ``None`` reads ``OPENAI_API_KEY``. Never shown in reprs."""
    batch_size: int = attrs.field(default=256, validator=_batch_limit)
    """Texts per request."""
    concurrency: int = attrs.field(default=4, validator=_positive)
    """Requests in flight at once."""
    timeout: float = attrs.field(default=60.0, validator=_positive)
    """Seconds per attempt."""
    attempts: int = attrs.field(default=6, validator=_positive)
    """Tries per request, the first included."""
    sleep: Callable[[float], Awaitable[None]] = attrs.field(default=anyio.sleep, eq=False)
    """Sleep between retries; tests inject one that records the waits."""
    transport: Transport = attrs.field(default="wire", validator=transport_validator)
    """The HTTP client, ``"wire"`` or ``"aiohttp"``."""
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, eq=False, repr=False)
    """TLS settings for ``https``; ``None`` uses the system's CAs."""

    @property
    def resolved_base_url(self) -> str:
        """The API root in use (argument, else ``OPENAI_BASE_URL``, else OpenAI's)."""
        url = self.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        return url.rstrip("/")

    @property
    def model_id(self) -> str:
        """Identity of this embedding function, for caches."""
        dims = "" if self.dimensions is None else f":d{self.dimensions}"
        return f"openai:{self.resolved_base_url}:{self.model}{dims}"

    def _headers(self) -> dict[str, str]:
        key = self.api_key if self.api_key is not None else os.environ.get("OPENAI_API_KEY")
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def embed_async(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed ``texts`` over HTTP; one L2-normalised float32 row per text, in order.

        Args:
            texts: The texts. Empty strings are sent as a single space (the API refuses
                empty input).

        Returns:
            Array of shape ``(len(texts), dim)``.

        Raises:
            TransientJudgeError: retries exhausted on 429, 5xx, timeouts or resets.
            JudgeError: a permanent HTTP error (401 bad key, 400 bad model or input).
            EmbeddingReplyError: a 2xx reply without one vector per input.
            ConfigError: ``texts`` is one string instead of a sequence, or holds a non-string.
        """
        items = [t if t else " " for t in check_texts(texts, purpose="OpenAIEmbedder")]
        if not items:
            return np.zeros((0, self.dimensions or 0), dtype=np.float32)
        url = f"{self.resolved_base_url}/embeddings"
        headers = {**JSON_HEADERS, **self._headers()}  # ready-made: sent with no copy per batch
        batches = [items[i : i + self.batch_size] for i in range(0, len(items), self.batch_size)]
        results: list[npt.NDArray[np.float32] | None] = [None] * len(batches)
        retry = RetryPolicy(attempts=self.attempts, sleep=self.sleep)

        async with HttpEngine(
            concurrency=self.concurrency,
            timeout=self.timeout,
            retry=retry,
            transport=self.transport,
            ssl_context=self.ssl_context,
        ) as engine:

            async def run(index: int) -> None:
                batch = batches[index]
                payload: dict[str, Any] = {
                    "model": self.model,
                    "input": batch,
                    "encoding_format": "float",
                }
                if self.dimensions is not None:
                    payload["dimensions"] = self.dimensions
                try:
                    reply = await engine.post_json(
                        url, payload, headers=headers, tokens=sum(len(t) for t in batch) // 4
                    )
                    results[index] = self._parse(reply.body, len(batch), url)
                except Exception as exc:  # the first failure cancels the rest and is raised
                    errors.append(exc)
                    tg.cancel_scope.cancel()

            errors: list[Exception] = []
            async with anyio.create_task_group() as tg:
                for index in range(len(batches)):
                    tg.start_soon(run, index)
        if errors:
            raise errors[0]
        parts = [r for r in results if r is not None]
        dims = {p.shape[1] for p in parts}
        if len(parts) != len(batches) or len(dims) != 1:
            raise EmbeddingReplyError(
                f"the embeddings endpoint returned vectors of different sizes across "
                f"requests; sizes={sorted(dims)}, url={url!r}. Pin dimensions=... ."
            )
        matrix = np.concatenate(parts)
        fallback = np.zeros(matrix.shape[1], dtype=np.float32)
        fallback[0] = 1.0
        return normalise_rows(matrix, fallback)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Sync twin of :meth:`embed_async` (works inside a running event loop).

        Args:
            texts: The texts.

        Returns:
            Array of shape ``(len(texts), dim)``.

        Raises:
            TransientJudgeError: retries exhausted on 429, 5xx, timeouts or resets.
            JudgeError: a permanent HTTP error.
            EmbeddingReplyError: a 2xx reply without one vector per input.
        """
        items = check_texts(texts, purpose="OpenAIEmbedder")
        return run_sync(self.embed_async, items)

    def _parse(self, body: Any, expected: int, url: str) -> npt.NDArray[np.float32]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or len(data) != expected:
            got = len(data) if isinstance(data, list) else type(data).__name__
            raise EmbeddingReplyError(
                f"the embeddings endpoint did not return one vector per input; "
                f"expected={expected}, got={got}, url={url!r}. Check that the server "
                "implements the OpenAI embeddings API."
            )
        try:
            ordered = sorted(data, key=lambda item: int(item.get("index", 0)))
            matrix = np.asarray([item["embedding"] for item in ordered], dtype=np.float32)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise EmbeddingReplyError(
                f"the embeddings endpoint returned malformed vectors ({exc}); url={url!r}. "
                "Use encoding_format='float' servers (base64 replies are not decoded)."
            ) from exc
        if matrix.ndim != 2 or (self.dimensions is not None and matrix.shape[1] != self.dimensions):
            raise EmbeddingReplyError(
                f"the embeddings endpoint returned vectors of shape {matrix.shape}; "
                f"dimensions={self.dimensions}, url={url!r}. The model may not support "
                "shortened vectors; set dimensions=None."
            )
        return matrix
