"""Trusted constructors: build frozen records from values a decoder has already checked.

An attrs ``__init__`` costs about a microsecond per record (keyword handling, one
``object.__setattr__`` per field, validators). Streaming a million traces builds four to
five records per trace, so the JSON decoder uses these constructors instead: they set the
slots directly and run no validators, which is only correct because the decoder checks
every value first (types, roles, timezone-aware timestamps) and falls back to the
validating path for anything unusual.

The records built here are indistinguishable from ones built through ``__init__``: same
class, same slot values, equal and hashing equal (a test checks this for each class).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["trusted_constructor"]

_T = TypeVar("_T")


def trusted_constructor(cls: type[_T]) -> Callable[..., _T]:
    """Return ``build(*values)`` that makes a ``cls`` from every field's value, in order.

    Args:
        cls: A slotted attrs class whose fields have no converters.

    Returns:
        A function taking one positional value per field (all of them, in the order
        ``attrs.fields(cls)`` lists them) and returning the instance, without calling
        ``__init__``: no defaults, no validators.

    Raises:
        TypeError: ``cls`` is not a slotted attrs class, or a field has a converter.

    Example:
        >>> from livingeval.records import Message
        >>> build = trusted_constructor(Message)
        >>> build("user", "hi", (), None, None) == Message(role="user", content="hi")
        True
    """
    if not attrs.has(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a slotted attrs class")
    fields = attrs.fields(cls)
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    names = []
    lines = []
    for i, field in enumerate(fields):
        if field.converter is not None:
            raise TypeError(f"{cls.__name__}.{field.name} has a converter; build it normally")
        namespace[f"_set{i}"] = cls.__dict__[field.name].__set__
        names.append(f"v{i}")
        lines.append(f"    _set{i}(obj, v{i})")
    source = (
        f"def build({', '.join(names)}):\n    obj = _new(_cls)\n"
        + "\n".join(lines)
        + "\n    return obj\n"
    )
    exec(compile(source, f"<trusted constructor of {cls.__qualname__}>", "exec"), namespace)
    build: Callable[..., _T] = namespace["build"]
    return build
