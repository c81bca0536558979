"""Versioned judge prompts and robust verdict parsing."""

from __future__ import annotations

import hashlib
import re
from typing import Literal

import attrs
import orjson

__all__ = ["DEFAULT_PAIRWISE_TEMPLATE", "Choice", "PromptTemplate", "parse_choice"]

Choice = Literal["A", "B", "tie"]
"""What one judge call chose: the first-shown answer ``A``, the second ``B``, or a tie."""


@attrs.frozen(kw_only=True)
class PromptTemplate:
    """A versioned judge prompt; its :attr:`hash` goes into every cache key and result.

    ``user`` is formatted with ``{prompt}``, ``{answer_a}`` (shown first) and ``{answer_b}``.
    Answers are inserted verbatim.

    Example:
        >>> t = PromptTemplate(name="t", version="1", system="Judge.", user="{prompt}|{answer_a}|{answer_b}")
        >>> t.render(prompt="q", answer_a="x", answer_b="y")[1]
        'q|x|y'
        >>> len(t.hash)
        16

    .. versionadded:: 0.1.0
    """

    name: str
    """A short name."""
    version: str
    """A version label; bump it when the wording changes."""
    system: str
    """The system message."""
    user: str
    """The user message template."""

    @property
    def hash(self) -> str:
        """A 16-hex-digit content hash of the whole template (name, version and text)."""
        blob = orjson.dumps([self.name, self.version, self.system, self.user])
        return hashlib.sha256(blob).hexdigest()[:16]

    def render(self, *, prompt: str, answer_a: str, answer_b: str) -> tuple[str, str]:
        """``(system, user)`` messages for one comparison."""
        user = (
            self.user.replace("{prompt}", prompt)
            .replace("{answer_a}", answer_a)
            .replace("{answer_b}", answer_b)
        )
        return self.system, user


DEFAULT_PAIRWISE_TEMPLATE = PromptTemplate(
    name="livingeval-pairwise",
    version="1",
    system=(
        "You are an impartial judge. Compare two answers to the same user request and decide "
        "which one is better: more correct, more helpful and more relevant. Ignore the order "
        "in which the answers are shown and ignore their length unless it matters. Reply with "
        'only a JSON object: {"winner": "A"}, {"winner": "B"} or {"winner": "tie"}.'
    ),
    user=(
        "[User request]\n{prompt}\n[End of user request]\n\n"
        "[Answer A]\n{answer_a}\n[End of Answer A]\n\n"
        "[Answer B]\n{answer_b}\n[End of Answer B]\n\n"
        "Which answer is better? Reply with the JSON object only."
    ),
)
"""The default pairwise prompt: both answers verbatim, the first shown is ``A``."""

_TIE_WORDS = frozenset({"TIE", "C", "EQUAL", "DRAW", "BOTH", "NEITHER", "SAME"})
_BRACKETED = re.compile(r"\[\[\s*(A|B|C|TIE)\s*\]\]", re.IGNORECASE)
_LEADING = re.compile(
    r"^\s*(?:the\s+)?(?:better\s+)?(?:answer|response|winner|verdict|output)?\s*[:\-]?\s*"
    r"\(?\[?\"?'?(A|B)\b",
    re.IGNORECASE,
)
_JSON_KEYS = ("winner", "verdict", "choice", "better", "answer", "preferred")
_EXACT: dict[str, Choice] = {
    "A": "A",
    "B": "B",
    "tie": "tie",
    "Tie": "tie",
    "TIE": "tie",
    '{"winner": "A"}': "A",
    '{"winner": "B"}': "B",
    '{"winner": "tie"}': "tie",
}
"""Replies parsed by a dict lookup (what the default template asks for)."""


def _normalise(value: object) -> Choice | None:
    if not isinstance(value, str):
        return None
    word = value.strip().strip("\"'()[]{}.,:;!* ").upper()
    if word in ("A", "ANSWER A", "RESPONSE A"):
        return "A"
    if word in ("B", "ANSWER B", "RESPONSE B"):
        return "B"
    if word in _TIE_WORDS:
        return "tie"
    return None


def parse_choice(text: str) -> Choice | None:
    """A judge reply's choice: JSON (``{"winner": "B"}``), ``[[A]]``, or a bare letter.

    Returns ``None`` when the reply holds no verdict.

    Example:
        >>> parse_choice('{"winner": "B"}'), parse_choice(" A "), parse_choice("[[C]]")
        ('B', 'A', 'tie')
        >>> parse_choice("I cannot tell.") is None
        True
    """
    exact = _EXACT.get(text)
    if exact is not None:  # the common replies, without any parsing
        return exact
    stripped = text.strip()
    if not stripped:
        return None
    direct = _normalise(stripped)
    if direct is not None:
        return direct
    start, end = stripped.find("{"), stripped.rfind("}")
    if 0 <= start < end:
        try:
            obj = orjson.loads(stripped[start : end + 1])
        except orjson.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            for key in _JSON_KEYS:
                for candidate in (key, key.capitalize(), key.upper()):
                    if candidate in obj:
                        choice = _normalise(obj[candidate])
                        if choice is not None:
                            return choice
    bracketed = _BRACKETED.search(stripped)
    if bracketed is not None:
        return _normalise(bracketed.group(1))
    leading = _LEADING.match(stripped)
    if leading is not None and len(stripped) <= 80:
        return _normalise(leading.group(1))
    return None
