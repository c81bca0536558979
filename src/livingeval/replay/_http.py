"""An OpenAI-compatible chat-completions responder on the shared HTTP engine."""

from __future__ import annotations

import os
import ssl
from types import TracebackType
from typing import Any

from livingeval._http import (
    JSON_HEADERS,
    HttpEngine,
    RateLimiter,
    RetryPolicy,
    Transport,
    check_transport,
)
from livingeval._json import message_to_obj, response_from_obj, tool_to_obj
from livingeval.errors import ConfigError, TraceFormatError, TransientJudgeError
from livingeval.records import ReplayRequest, Response

__all__ = ["OpenAICompatibleResponder"]


class OpenAICompatibleResponder:
    """The candidate model behind any OpenAI-compatible ``/chat/completions`` endpoint.

    Covers OpenAI, vLLM, Ollama, LiteLLM and other compatible proxies. It shares the judges'
    HTTP engine: one HTTP client (pool sized to ``concurrency``), bounded concurrency, per-provider rate limits, retries
    with exponential jitter on 429/5xx/timeouts (``Retry-After`` honoured).

    Use it as an async context manager, or let :func:`~livingeval.replay.replay` open it
    (``replay`` enters any responder that is an async context manager). Used without
    either, it opens its engine on first use; call :meth:`aclose` when done.

    Args:
        base_url: e.g. ``https://api.openai.com/v1`` (default: ``$OPENAI_BASE_URL``).
        model: The candidate model name.
        api_key: Bearer token (default: ``$OPENAI_API_KEY``; may be empty for local servers).
        concurrency: Requests on the wire at once.
        timeout: Seconds per attempt.
        requests_per_minute: Provider rate limit, or ``None``.
        tokens_per_minute: Provider token limit, or ``None``.
        retry: Retry policy.
        extra_body: Extra request fields (``{"max_tokens": 512}``, ``{"seed": 0}``).
        transport: The HTTP client: ``"wire"`` (default, livingeval's lean keep-alive
            HTTP/1.1 client) or ``"aiohttp"``.
        ssl_context: TLS settings for an ``https`` base URL; ``None`` uses the system's CAs.

    Raises:
        ConfigError: no base URL was given or found in the environment, or an unknown
            ``transport``.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        concurrency: int = 32,
        timeout: float = 120.0,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        retry: RetryPolicy | None = None,
        extra_body: dict[str, Any] | None = None,
        transport: Transport = "wire",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        check_transport(transport)
        url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not url:
            raise ConfigError(
                "OpenAICompatibleResponder needs base_url=... or $OPENAI_BASE_URL "
                "(e.g. http://localhost:8000/v1 for vLLM)",
                field="base_url",
            )
        self.model = model
        self.url = url.rstrip("/") + "/chat/completions"
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        # Built once, Content-Type included, so the engine sends it as it is (no copy per call).
        self._headers = {**JSON_HEADERS, **({"Authorization": f"Bearer {key}"} if key else {})}
        self.extra_body = dict(extra_body or {})
        self._engine_args: dict[str, Any] = {
            "concurrency": concurrency,
            "timeout": timeout,
            "retry": retry,
            "limiter": RateLimiter(
                requests_per_minute=requests_per_minute, tokens_per_minute=tokens_per_minute
            )
            if requests_per_minute or tokens_per_minute
            else None,
            "transport": transport,
            "ssl_context": ssl_context,
        }
        self._engine: HttpEngine | None = None
        self._depth = 0

    def __repr__(self) -> str:
        # The API key is never shown.
        return f"OpenAICompatibleResponder(model={self.model!r}, url={self.url!r})"

    async def __aenter__(self) -> OpenAICompatibleResponder:
        if self._engine is None:
            self._engine = await HttpEngine(**self._engine_args).__aenter__()
        self._depth += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth <= 0:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session."""
        engine, self._engine = self._engine, None
        self._depth = 0
        if engine is not None:
            await engine.__aexit__(None, None, None)

    def payload(self, request: ReplayRequest) -> dict[str, Any]:
        """The chat-completions request body for ``request``."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [message_to_obj(m) for m in request.messages],
        }
        if request.tools:
            body["tools"] = [tool_to_obj(t) for t in request.tools]
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        body.update(self.extra_body)
        return body

    async def respond(self, request: ReplayRequest) -> Response:
        """Ask the endpoint and parse its answer (text and/or tool calls)."""
        if self._engine is None:
            await self.__aenter__()
        assert self._engine is not None
        reply = await self._engine.post_json(self.url, self.payload(request), headers=self._headers)
        try:
            response = response_from_obj(reply.body)
        except TraceFormatError as exc:
            raise TransientJudgeError(
                f"the endpoint's reply for trace {request.trace_id!r} is not a chat completion "
                f"({exc.message}); check that {self.url} is OpenAI-compatible",
                trace_id=request.trace_id,
            ) from None
        if response.model is None and isinstance(reply.body, dict):
            model = reply.body.get("model")
            if isinstance(model, str):
                from attrs import evolve

                response = evolve(response, model=model)
        return response
