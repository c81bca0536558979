"""``StructuredJudge``: the structured path as a :class:`~livingeval.protocols.Judge`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import orjson

from livingeval._sync import run_sync
from livingeval.errors import ConfigError
from livingeval.judge._argjudge import ArgumentJudge, resolve_pending
from livingeval.judge._structured import (
    CompareOptions,
    GoldCall,
    StructuredComparison,
    compare_json,
    compare_tool_calls,
)
from livingeval.records import JudgeInput, Response, Verdict

__all__ = ["StructuredJudge"]

_OUTCOMES = {1.0: "match", 0.5: "needs_judgement", 0.0: "fail"}


def _gold_from(value: Any) -> tuple[GoldCall, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ConfigError(
            f"metadata gold calls must be a list of GoldCall or BFCL entries "
            f"({{name: {{arg: [values]}}}}); got {type(value).__name__}.",
            field="metadata.gold_calls",
        )
    out = []
    for entry in value:
        if isinstance(entry, GoldCall):
            out.append(entry)
        elif isinstance(entry, Mapping):
            out.append(GoldCall.from_bfcl(entry))
        else:
            raise ConfigError(
                f"a gold call must be a GoldCall or {{name: {{arg: [values]}}}}; got {entry!r}",
                field="metadata.gold_calls",
            )
    return tuple(out)


def _json_answer(response: Response) -> bool:
    if response.tool_calls or not response.content:
        return False
    text = response.content.strip()
    return bool(text) and text[0] in "{["


@attrs.frozen(kw_only=True)
class StructuredJudge:
    """Judge tool calls and JSON answers by rules, with an optional argument judge.

    Against gold calls (``item.metadata[gold_key]``: a list of :class:`GoldCall` or BFCL
    ``{name: {arg: [values]}}`` entries), both the candidate and the baseline are scored
    against the gold. Without gold, the production baseline is the reference: the
    candidate scores against it and the baseline scores 1.0. Answers without tool calls
    whose texts are JSON are compared field by field (:func:`compare_json`).

    The verdict's ``failure_kinds`` are the candidate's; ``details`` holds every failure,
    how many values needed the argument judge, and the baseline's failure kinds.

    Example:
        >>> import anyio
        >>> from livingeval.records import JudgeInput, Message, Response, ToolCall
        >>> call = lambda a: Response(tool_calls=(ToolCall(name="f", arguments=a),))
        >>> item = JudgeInput(item_id="t1", messages=(Message(role="user", content="hi"),),
        ...                   candidate=call('{"x": 1'), baseline=call('{"x": 1}'))
        >>> v = anyio.run(StructuredJudge().judge, item)
        >>> v.candidate_score, v.failure_kinds
        (0.0, ('malformed_arguments',))

    .. versionadded:: 0.1.0
    """

    options: CompareOptions = attrs.field(factory=CompareOptions)
    """Normalisation, order and judgement settings."""
    argument_judge: ArgumentJudge | None = None
    """Decides pending free-text values; without one they score 0.5."""
    gold_key: str = "gold_calls"
    """The metadata key holding gold calls, when items have them."""

    def applies_to(self, item: JudgeInput) -> bool:
        """True when the structured path should judge ``item``: either answer calls a tool,
        gold calls are given, or both answers are JSON. Route the rest (free text) to the
        pairwise or rubric path; here differing texts would only score 0.5 (pending).

        Example:
            >>> from livingeval.records import JudgeInput, Message, Response
            >>> item = JudgeInput(item_id="t", messages=(Message(role="user", content="hi"),),
            ...                   candidate=Response(content="Hello!"), baseline=Response(content="Hi!"))
            >>> StructuredJudge().applies_to(item)
            False
        """
        if item.candidate.tool_calls or item.baseline.tool_calls:
            return True
        if item.metadata.get(self.gold_key) is not None:
            return True
        return _json_answer(item.candidate) and _json_answer(item.baseline)

    def compare(self, candidate: Response, item: JudgeInput) -> StructuredComparison:
        """The rule-based comparison of ``candidate`` with the item's reference."""
        gold_raw = item.metadata.get(self.gold_key)
        if gold_raw is not None:
            return compare_tool_calls(
                candidate, _gold_from(gold_raw), tools=item.tools, options=self.options
            )
        reference = item.baseline
        if _json_answer(candidate) and _json_answer(reference):
            try:
                ref_value = orjson.loads(reference.text)
            except orjson.JSONDecodeError:
                ref_value = None
            if ref_value is not None:
                return compare_json(candidate.text, ref_value, options=self.options)
        return compare_tool_calls(candidate, reference, tools=item.tools, options=self.options)

    async def _final(self, result: StructuredComparison, item: JudgeInput) -> StructuredComparison:
        if self.argument_judge is None or not result.needs_judgement:
            return result
        return await resolve_pending(result, self.argument_judge, intent=item.prompt_text)

    def judge_sync(self, item: JudgeInput) -> Verdict:
        """Synchronous twin of :meth:`judge` (works inside a running loop, e.g. Jupyter)."""
        return run_sync(self.judge, item)

    async def judge(self, item: JudgeInput) -> Verdict:
        """Return the structured verdict on one item (``kind="structured"``)."""
        candidate = await self._final(self.compare(item.candidate, item), item)
        if item.metadata.get(self.gold_key) is not None:
            baseline: StructuredComparison | None = await self._final(
                self.compare(item.baseline, item), item
            )
        else:
            baseline = None
        baseline_score = 1.0 if baseline is None else baseline.score
        judged = candidate.judged + (0 if baseline is None else baseline.judged)
        return Verdict(
            item_id=item.item_id,
            kind="structured",
            candidate_score=candidate.score,
            baseline_score=baseline_score,
            outcome=_OUTCOMES.get(candidate.score, "fail"),
            failure_kinds=candidate.failure_kinds,
            judge_calls=judged,
            details={
                "reference": "baseline" if baseline is None else "gold",
                "failures": [
                    {
                        "kind": f.kind,
                        "message": f.message,
                        "call_index": f.call_index,
                        "tool": f.tool,
                        "argument": f.argument,
                    }
                    for f in candidate.failures
                ],
                "pending": len(candidate.pending),
                "judged_arguments": judged,
                "baseline_failure_kinds": () if baseline is None else baseline.failure_kinds,
            },
        )
