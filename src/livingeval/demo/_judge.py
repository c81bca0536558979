"""The demo's offline judge: a labelled heuristic, not an LLM.

It is served by :class:`livingeval.testing.LoopbackServer` on 127.0.0.1 and asked through
the real judge path (HTTP engine, pairwise protocol with both orders and 3 votes, cache),
so the demo exercises exactly what a real judge would, without keys or network. It
prefers substantive, specific answers and calls answers of similar substance a tie; like
a real judge at temperature 0.3 it is a little noisy and a little position-biased.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

__all__ = ["OFFLINE_JUDGE_LABEL", "offline_judge_rule", "substance"]

OFFLINE_JUDGE_LABEL = (
    "offline heuristic judge (no LLM; prefers substantive, specific answers). "
    "Set LIVINGEVAL_JUDGE_BASE_URL or OPENAI_API_KEY to use a real judge."
)
"""How reports label the offline judge."""

_ANSWER = {
    letter: re.compile(rf"\[Answer {letter}\]\n(.*?)\n\[End of Answer {letter}\]", re.DOTALL)
    for letter in "AB"
}
_SPECIFIC = re.compile(r"\d|%|>|\bapp\b|\bSettings\b|\bATM", re.IGNORECASE)


def substance(answer: str) -> float:
    """A 0-1 score: words (up to 30) plus a bonus for specifics (numbers, where to tap)."""
    words = min(len(answer.split()), 30) / 30
    specifics = min(len(_SPECIFIC.findall(answer)), 4) / 4
    return 0.7 * words + 0.3 * specifics


def offline_judge_rule(
    *, seed: int = 0, noise: float = 0.06, tie_margin: float = 0.15
) -> Callable[[str], str]:
    """A loopback-server rule: reads the two answers in a pairwise prompt and picks one.

    Args:
        seed: Seed of the judge's noise.
        noise: Share of prompts (each order of each comparison, drawn from the prompt's
            hash) answered ``A`` (the first shown) whatever the answers: the position bias
            real judges show, reproducible whatever order requests arrive in.
        tie_margin: Substance differences below this are a tie.
    """

    def rule(text: str) -> str:
        a = _ANSWER["A"].search(text)
        b = _ANSWER["B"].search(text)
        if a is None or b is None:
            return "I can only compare two answers."
        # The draw is a function of the seed and the prompt alone: the same in every run,
        # whatever order requests arrive in and whichever process sends them.
        digest = hashlib.blake2b(text.encode(), key=str(seed).encode(), digest_size=8)
        biased = int.from_bytes(digest.digest(), "big") / 2**64 < noise
        if biased:
            return "A"
        sa, sb = substance(a.group(1)), substance(b.group(1))
        if abs(sa - sb) < tie_margin:
            return '{"winner": "tie"}'
        return '{"winner": "A"}' if sa > sb else '{"winner": "B"}'

    return rule
