"""Which vendor family a model name belongs to, shared by judge routing and trust checks.

Self-preference is the reason this exists: a judge tends to favour answers from its own
family, so the judge warns when judge and candidate share one and the trust module measures
the effect. Both read the one table here.
"""

from __future__ import annotations

import re

__all__ = ["known_family"]

_FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), family)
    for pattern, family in (
        (r"^(gpt|o[1-9]|chatgpt|text-davinci|davinci|openai)", "openai"),
        (r"^(claude|anthropic)", "anthropic"),
        (r"^(gemini|gemma|palm|bard|bison|google)", "google"),
        (r"^(llama|meta-llama|codellama|meta)", "meta"),
        (r"^(mistral|mixtral|codestral|ministral|magistral|pixtral)", "mistral"),
        (r"^(qwen|qwq)", "qwen"),
        (r"^deepseek", "deepseek"),
        (r"^phi", "microsoft"),
        (r"^(command|c4ai|cohere|aya)", "cohere"),
        (r"^grok", "xai"),
        (r"^pandalm", "pandalm"),
    )
)


def known_family(model: str) -> str | None:
    """The vendor family of a model name, or ``None`` when it is not a known one.

    The whole name is tried first, then without a provider prefix (``openai/``,
    ``anthropic:``, ``bedrock.``), so ``meta-llama/Llama-3.1-8B`` and ``openai/gpt-4o``
    both resolve.

    Example:
        >>> known_family("openai/gpt-4o-mini"), known_family("claude-3-5-haiku")
        ('openai', 'anthropic')
        >>> known_family("acme-7b") is None
        True
    """
    name = model.strip().lower()
    candidates = (name, re.split(r"[/:]", name)[-1], name.split(".", 1)[-1])
    for candidate in candidates:
        for pattern, family in _FAMILIES:
            if pattern.match(candidate):
                return family
    return None
