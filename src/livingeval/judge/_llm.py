"""LLM judges over HTTP: an OpenAI-compatible chat-completions judge and an Anthropic one.

Both are frozen configuration; :meth:`open` returns an async context manager holding the
live :class:`~livingeval._http.HttpEngine` (one HTTP client, pool sized to the
concurrency), created in the running event loop.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Protocol

import attrs
import orjson

from livingeval._http import (
    JSON_HEADERS,
    HttpEngine,
    Limiter,
    RateLimiter,
    RetryPolicy,
    Transport,
    transport_validator,
)
from livingeval.errors import ConfigError, InvalidJudgeReplyError
from livingeval.judge._cost import DEFAULT_PRICES, PriceTable

__all__ = [
    "AnthropicJudge",
    "ChatModel",
    "ChatRequest",
    "ChatSession",
    "Completion",
    "OpenAICompatibleJudge",
]


@attrs.frozen(kw_only=True)
class ChatRequest:
    """One judge call: a system and a user message plus sampling parameters.

    .. versionadded:: 0.1.0
    """

    system: str
    """The system message."""
    user: str
    """The user message."""
    temperature: float = 0.0
    """Sampling temperature."""
    max_tokens: int = 64
    """Completion cap."""


@attrs.frozen(kw_only=True)
class Completion:
    """A judge call's reply with its usage and who served it.

    .. versionadded:: 0.1.0
    """

    text: str
    """The reply text."""
    input_tokens: int = 0
    """Prompt tokens reported by the provider."""
    output_tokens: int = 0
    """Completion tokens reported by the provider."""
    cost_usd: float = 0.0
    """Cost from the price table (0.0 when the model is unpriced)."""
    served_by: str = ""
    """``provider:model`` that answered."""
    attempts: int = 1
    """HTTP attempts it took."""


class ChatSession(Protocol):
    """**Protocol:** an open connection to a judge model."""

    async def complete(self, request: ChatRequest) -> Completion:
        """Send one request and return the reply."""
        ...


class ChatModel(Protocol):
    """**Protocol:** a judge model's configuration; ``open()`` connects.

    ``identity`` names the provider and model; it goes into every cache key.
    """

    @property
    def identity(self) -> str:
        """``provider:model``."""
        ...

    def open(self, *, concurrency: int) -> AbstractAsyncContextManager[ChatSession]:
        """Connect with a pool sized to ``concurrency``."""
        ...


def _estimate_tokens(request: ChatRequest) -> int:
    return (len(request.system) + len(request.user)) // 4 + request.max_tokens


class _HttpSession:
    """Shared plumbing: an engine plus a provider-specific encode/decode."""

    def __init__(self, owner: _HttpJudge, concurrency: int) -> None:
        self.owner = owner
        limiter: Limiter | None = owner.limiter
        if limiter is None and (
            owner.requests_per_minute is not None or owner.tokens_per_minute is not None
        ):
            limiter = RateLimiter(
                requests_per_minute=owner.requests_per_minute,
                tokens_per_minute=owner.tokens_per_minute,
            )
        self.engine = HttpEngine(
            concurrency=concurrency,
            timeout=owner.timeout,
            retry=owner.retry,
            limiter=limiter,
            transport=owner.transport,
            ssl_context=owner.ssl_context,
        )
        self.url = owner._endpoint()
        # Built once: the engine sends a mapping holding Content-Type as it is.
        self.headers = {**JSON_HEADERS, **owner._headers()}
        self.price = owner.prices.lookup(owner.model)
        self.identity = owner.identity
        self.bodies: dict[int, tuple[ChatRequest, bytes]] = {}
        self.most_bodies = 4 * concurrency + 16

    async def __aenter__(self) -> _HttpSession:
        await self.engine.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.engine.__aexit__(exc_type, exc, tb)

    async def complete(self, request: ChatRequest) -> Completion:
        owner = self.owner
        engine = self.engine
        # The pairwise judge sends one request object for every run of an order, so a body
        # is encoded once per request object. Keyed by id(); the entry holds the object, so
        # the id cannot be reused while the entry lives.
        bodies = self.bodies
        known = bodies.get(id(request))
        if known is not None and known[0] is request:
            data = known[1]
        else:
            data = orjson.dumps(owner._payload(request))
            if len(bodies) >= self.most_bodies:
                bodies.clear()
            bodies[id(request)] = (request, data)
        _, body, attempts = await engine.post_json_raw(
            self.url,
            data,
            headers=self.headers,
            tokens=0 if engine.limiter is None else _estimate_tokens(request),
        )
        text, tokens_in, tokens_out = owner._decode(body)
        price = self.price
        return Completion(
            text=text,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_usd=0.0 if price is None else price.cost(tokens_in, tokens_out),
            served_by=self.identity,
            attempts=attempts,
        )


@attrs.frozen(kw_only=True)
class _HttpJudge:
    model: str
    api_key: str | None = attrs.field(default=None, repr=False)
    timeout: float = 60.0
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    prices: PriceTable = DEFAULT_PRICES
    headers: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    limiter: Limiter | None = attrs.field(default=None, eq=False, repr=False)
    transport: Transport = attrs.field(default="wire", validator=transport_validator)
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, eq=False, repr=False)

    provider_name = "http"

    @property
    def identity(self) -> str:
        """``provider:model``; goes into every cache key."""
        return f"{self.provider_name}:{self.model}"

    def open(self, *, concurrency: int) -> AbstractAsyncContextManager[ChatSession]:
        """Connect: one HTTP client with a pool of ``concurrency`` connections."""
        return _HttpSession(self, concurrency)

    def _endpoint(self) -> str:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _payload(self, request: ChatRequest) -> dict[str, Any]:
        raise NotImplementedError

    def _decode(self, body: Any) -> tuple[str, int, int]:
        raise NotImplementedError


def _usage_ints(usage: Any, first: str, second: str) -> tuple[int, int]:
    if not isinstance(usage, dict):
        return 0, 0
    a, b = usage.get(first), usage.get(second)
    return (a if isinstance(a, int) else 0), (b if isinstance(b, int) else 0)


@attrs.frozen(kw_only=True)
class OpenAICompatibleJudge(_HttpJudge):
    """A judge model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Covers OpenAI, vLLM, Ollama, LiteLLM and Bifrost proxies. The base URL and key come from
    the arguments, else from ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``; without a key no
    ``Authorization`` header is sent (local servers).

    Args:
        base_url: Endpoint base, e.g. ``https://api.openai.com/v1`` or ``http://127.0.0.1:8000/v1``.
        model: Model name sent to the endpoint (and looked up in ``prices``).
        api_key: Bearer key.
        provider: Provider label used in cache keys and ``served_by``.
        timeout: Seconds per HTTP attempt.
        retry: Retry policy for transient errors.
        requests_per_minute: Client-side request cap for this provider.
        tokens_per_minute: Client-side token cap for this provider.
        prices: Price table for cost accounting.
        headers: Extra HTTP headers.
        limiter: A rate limiter to use instead of one built from ``requests_per_minute``
            and ``tokens_per_minute`` (for example one shared by every worker of a Ray
            cluster, see ``livingeval.distributed``).
        transport: The HTTP client: ``"wire"`` (default, livingeval's lean keep-alive
            HTTP/1.1 client) or ``"aiohttp"``. Neither follows proxy settings; only
            ``"aiohttp"`` follows redirects.
        ssl_context: TLS settings for an ``https`` base URL (e.g. a private CA); ``None``
            uses the system's CAs.

    Example:
        >>> judge = OpenAICompatibleJudge(base_url="http://127.0.0.1:8000/v1", model="m", api_key="k")
        >>> judge.identity
        'openai-compatible:m'

    .. versionadded:: 0.1.0
    """

    base_url: str | None = None
    provider: str = "openai-compatible"

    @property
    def identity(self) -> str:
        """``provider:model``; goes into every cache key."""
        return f"{self.provider}:{self.model}"

    def _endpoint(self) -> str:
        base = self.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        return base.rstrip("/") + "/chat/completions"

    def _headers(self) -> dict[str, str]:
        # None falls back to the environment; "" means "send no key" (local servers).
        key = os.environ.get("OPENAI_API_KEY") if self.api_key is None else self.api_key
        headers = dict(self.headers)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _payload(self, request: ChatRequest) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }

    def _decode(self, body: Any) -> tuple[str, int, int]:
        try:
            content = body["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise InvalidJudgeReplyError(
                f"the reply has no choices[0].message.content: {str(body)[:200]}; is base_url "
                "an OpenAI-compatible chat-completions endpoint?"
            ) from exc
        tokens_in, tokens_out = _usage_ints(body.get("usage"), "prompt_tokens", "completion_tokens")
        return content if isinstance(content, str) else "", tokens_in, tokens_out


@attrs.frozen(kw_only=True)
class AnthropicJudge(_HttpJudge):
    """A judge model behind the Anthropic Messages API (``POST /v1/messages``).

    The key comes from ``api_key`` or ``ANTHROPIC_API_KEY``; the base URL from ``base_url``
    or ``ANTHROPIC_BASE_URL`` (default ``https://api.anthropic.com``). The other arguments
    (``timeout``, ``retry``, rate limits, ``prices``, ``headers``, ``limiter``,
    ``transport``, ``ssl_context``) are those of :class:`OpenAICompatibleJudge`.

    Example:
        >>> AnthropicJudge(model="claude-3-5-haiku-latest", api_key="k").identity
        'anthropic:claude-3-5-haiku-latest'

    .. versionadded:: 0.1.0
    """

    base_url: str | None = None
    version: str = "2023-06-01"
    provider: str = "anthropic"

    @property
    def identity(self) -> str:
        """``provider:model``; goes into every cache key."""
        return f"{self.provider}:{self.model}"

    def _endpoint(self) -> str:
        base = (
            self.base_url or os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com"
        ).rstrip("/")
        return base + ("/messages" if base.endswith("/v1") else "/v1/messages")

    def _headers(self) -> dict[str, str]:
        key = os.environ.get("ANTHROPIC_API_KEY") if self.api_key is None else self.api_key
        if not key:
            raise ConfigError(
                "AnthropicJudge needs an API key; pass api_key=... or set ANTHROPIC_API_KEY",
                field="api_key",
            )
        return {**self.headers, "x-api-key": key, "anthropic-version": self.version}

    def _payload(self, request: ChatRequest) -> dict[str, Any]:
        return {
            "model": self.model,
            "system": request.system,
            "messages": [{"role": "user", "content": request.user}],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }

    def _decode(self, body: Any) -> tuple[str, int, int]:
        try:
            parts = body["content"]
            text = "".join(
                p.get("text", "") for p in parts if isinstance(p, dict) and p.get("type") == "text"
            )
        except (KeyError, TypeError) as exc:
            raise InvalidJudgeReplyError(
                f"the reply has no content[] text blocks: {str(body)[:200]}"
            ) from exc
        tokens_in, tokens_out = _usage_ints(body.get("usage"), "input_tokens", "output_tokens")
        return text, tokens_in, tokens_out
