"""A text's *shape*: one byte per character, so candidate scans run on literal bytes.

CPython's regex engine scans fast only to a *literal* first character (a C loop comparing
one code unit); a pattern that starts with a class such as ``\\d`` or ``[A-Za-z]`` is
tested position by position, about ten times slower. The shape maps every ASCII digit to
``0``, upper-case ASCII letters to ``A`` and lower-case ones to ``a``, and keeps every
other ASCII character; a non-ASCII character becomes ``?`` (one byte per code point, so
offsets in the shape are offsets in the text). Candidate patterns written for the shape
start with a literal (``0`` for "a digit"), and each detector then validates its
candidates on the real text with its own rules.

A ``?`` may stand for any non-ASCII character (a letter such as ``é``, a space such as
U+00A0, punctuation such as ``’``), so candidate patterns for non-ASCII text accept
``?`` wherever a letter or a separator could stand (the ``wild`` variant of
:func:`pattern_pair`). Text with a non-ASCII *digit* (``٣``, ``３``) has no shape
(:func:`shape` returns ``None``) and detectors use their full scans: ``\\d`` matches
such digits, and the shape could not show them.
"""

from __future__ import annotations

import re

__all__ = ["SHAPE_TABLE", "pattern_pair", "shape"]


def _table() -> bytes:
    table = bytearray(range(256))
    for i in range(256):
        if 48 <= i <= 57:
            table[i] = ord("0")
        elif 65 <= i <= 90:
            table[i] = ord("A")
        elif 97 <= i <= 122:
            table[i] = ord("a")
    return bytes(table)


_SHAPE = SHAPE_TABLE = _table()
"""``bytes.translate`` table from ASCII (or ``?``-replaced) text to its shape."""
NON_ASCII_DIGIT = re.compile(r"[^\D0-9]")


def shape(text: str) -> bytes | None:
    """The shape of ``text`` (see the module docstring), or ``None`` with non-ASCII digits.

    Example:
        >>> shape("Call 555-0100, José")
        b'Aaaa 000-0000, Aaa?'
    """
    if text.isascii():
        return text.encode("ascii").translate(_SHAPE)
    if NON_ASCII_DIGIT.search(text) is not None:
        return None
    return text.encode("ascii", "replace").translate(_SHAPE)


def pattern_pair(template: str) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """Compile a shape pattern for ASCII text and for text with ``?`` wildcards.

    In ``template``, ``{U}`` stands for "an upper-case letter", ``{L}`` for "a letter"
    and ``{W}`` for "nothing, or a wildcard ``?``" (to append inside a character class).
    The first pattern is for ASCII shapes (``{U}`` is the literal ``A``, so a pattern
    starting with it scans fast); the second accepts ``?`` there too.
    """
    ascii_ = template.replace("{U}", "A").replace("{L}", "[Aa]").replace("{W}", "")
    wild = template.replace("{U}", "[A?]").replace("{L}", "[Aa?]").replace("{W}", "?")
    return re.compile(ascii_.encode()), re.compile(wild.encode())


def word_trie(words: list[str] | tuple[str, ...]) -> str:
    """A regex alternation of literal ``words`` written as a trie (shared prefixes once).

    The engine tries an alternation branch by branch; a trie compares each first
    character once, so a search with many words costs less. It matches the same set of
    strings as ``"|".join(map(re.escape, words))``; which word wins at one position may
    differ, so use it where only *whether* (or where) a word occurs matters.

    Example:
        >>> word_trie(["st", "street", "sq"])
        's(?:q|t(?:reet)?)'
    """
    root: dict[str, dict[str, object]] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})  # type: ignore[assignment]
        node[""] = {}
    return _emit(root)


def _emit(node: dict[str, dict[str, object]]) -> str:
    branches = []
    for ch in sorted(k for k in node if k):
        child = node[ch]
        branches.append(re.escape(ch) + _emit(child))  # type: ignore[arg-type]
    if not branches:
        return ""
    optional = "" in node
    if len(branches) == 1 and not optional:
        return branches[0]
    body = "|".join(branches)
    if len(branches) == 1 and len(branches[0]) == 1:
        return body + "?"
    return f"(?:{body})" + ("?" if optional else "")
