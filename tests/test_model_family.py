"""Judge routing and trust checks read one model-family table and agree on it."""

from __future__ import annotations

import pytest

from livingeval.judge import model_family as judge_family
from livingeval.trust import model_family as trust_family


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gpt-4o-mini", "openai"),
        ("openai/o3-mini", "openai"),
        ("anthropic:claude-sonnet-4", "anthropic"),
        ("bedrock.claude-3-5-haiku", "anthropic"),
        ("meta-llama/Llama-3.1-8B-Instruct", "meta"),
        ("google/gemma-2-9b-it", "google"),
        ("Qwen/Qwen2.5-72B-Instruct", "qwen"),
        ("mistralai/Mixtral-8x7B", "mistral"),
        ("deepseek-chat", "deepseek"),
        ("c4ai-command-r-plus", "cohere"),
        ("pandalm-7b", "pandalm"),
    ],
)
def test_known_families_agree(model: str, family: str) -> None:
    assert judge_family(model) == family
    assert trust_family(model) == family


def test_unknown_names_differ_only_in_the_fallback() -> None:
    # Routing warns only on a known shared family; trust groups unknown names by first token.
    assert judge_family("acme-7b-chat") is None
    assert trust_family("acme-7b-chat") == "acme"
    assert trust_family("acme-13b") == trust_family("acme-7b-chat")
