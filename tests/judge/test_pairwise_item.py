"""PairwiseItem refuses non-text answers with an error naming the item and field."""

from __future__ import annotations

import pytest

from livingeval.errors import ConfigError
from livingeval.judge import PairwiseItem


@pytest.mark.parametrize("field", ["id", "prompt", "candidate", "baseline"])
@pytest.mark.parametrize("value", [True, None, 3, {"a": 1}])
def test_non_text_fields_are_refused(field: str, value: object) -> None:
    fields: dict[str, object] = {"id": "i-7", "prompt": "p", "candidate": "c", "baseline": "b"}
    fields[field] = value
    with pytest.raises(ConfigError) as info:
        PairwiseItem(**fields)  # type: ignore[arg-type]
    assert info.value.field == field
    assert "must be a string" in str(info.value)


def test_text_fields_are_kept() -> None:
    item = PairwiseItem(id="i", prompt="p", candidate="", baseline="b", stratum=3)
    assert (item.candidate, item.stratum) == ("", 3)
