"""Judging: the structured path (tool calls, JSON) and the pairwise/rubric path (free text).

Two helpers own this package: the judge core (fan-out, pairwise, rubric, LLM judges,
cache, cost, routing) and the structured path (tool-call and JSON comparison). Each edits
only its own block below.
"""

from __future__ import annotations

from livingeval._public import publish

# --- end judge core imports -------------------------------------------------------------
# --- structured path (issue #7): imports ------------------------------------------------
from livingeval.judge._argjudge import (
    ArgumentJudge as ArgumentJudge,
)
from livingeval.judge._argjudge import (
    ArgumentJudgeStatistics as ArgumentJudgeStatistics,
)
from livingeval.judge._argjudge import (
    ArgumentQuestion as ArgumentQuestion,
)
from livingeval.judge._argjudge import (
    CallableArgumentJudge as CallableArgumentJudge,
)
from livingeval.judge._argjudge import (
    LLMArgumentJudge as LLMArgumentJudge,
)
from livingeval.judge._argjudge import (
    resolve_pending as resolve_pending,
)
from livingeval.judge._argjudge import (
    resolve_pending_sync as resolve_pending_sync,
)

# --- judge core (issue #6): imports -----------------------------------------------------
from livingeval.judge._cache import (
    CachedVote as CachedVote,
)
from livingeval.judge._cache import (
    CacheStatistics as CacheStatistics,
)
from livingeval.judge._cache import (
    JudgmentCache as JudgmentCache,
)
from livingeval.judge._cache import (
    vote_key as vote_key,
)
from livingeval.judge._cost import (
    DEFAULT_PRICES as DEFAULT_PRICES,
)
from livingeval.judge._cost import (
    BudgetPlan as BudgetPlan,
)
from livingeval.judge._cost import (
    Price as Price,
)
from livingeval.judge._cost import (
    PriceTable as PriceTable,
)
from livingeval.judge._cost import (
    fit_to_budget as fit_to_budget,
)
from livingeval.judge._fanout import (
    Progress as Progress,
)
from livingeval.judge._fanout import (
    judge_all as judge_all,
)
from livingeval.judge._fanout import (
    judge_all_sync as judge_all_sync,
)
from livingeval.judge._fanout import (
    stream_judgments as stream_judgments,
)
from livingeval.judge._fanout import (
    stream_judgments_sync as stream_judgments_sync,
)
from livingeval.judge._llm import (
    AnthropicJudge as AnthropicJudge,
)
from livingeval.judge._llm import (
    ChatModel as ChatModel,
)
from livingeval.judge._llm import (
    ChatRequest as ChatRequest,
)
from livingeval.judge._llm import (
    ChatSession as ChatSession,
)
from livingeval.judge._llm import (
    Completion as Completion,
)
from livingeval.judge._llm import (
    OpenAICompatibleJudge as OpenAICompatibleJudge,
)
from livingeval.judge._pairwise import (
    PairwiseItem as PairwiseItem,
)
from livingeval.judge._pairwise import (
    PairwiseJudge as PairwiseJudge,
)
from livingeval.judge._pairwise import (
    PairwiseResult as PairwiseResult,
)
from livingeval.judge._pairwise import (
    PairwiseSummary as PairwiseSummary,
)
from livingeval.judge._pairwise import (
    Vote as Vote,
)
from livingeval.judge._pairwise import (
    aggregate as aggregate,
)
from livingeval.judge._pairwise import (
    run_outcome as run_outcome,
)
from livingeval.judge._pairwise import (
    settle as settle,
)
from livingeval.judge._pairwise import (
    summarize as summarize,
)
from livingeval.judge._prompt import (
    DEFAULT_PAIRWISE_TEMPLATE as DEFAULT_PAIRWISE_TEMPLATE,
)
from livingeval.judge._prompt import (
    PromptTemplate as PromptTemplate,
)
from livingeval.judge._prompt import (
    parse_choice as parse_choice,
)
from livingeval.judge._routing import (
    Route as Route,
)
from livingeval.judge._routing import (
    RoutedJudge as RoutedJudge,
)
from livingeval.judge._routing import (
    model_family as model_family,
)
from livingeval.judge._routing import (
    same_family as same_family,
)
from livingeval.judge._rubric import (
    DEFAULT_RUBRIC as DEFAULT_RUBRIC,
)
from livingeval.judge._rubric import (
    Dimension as Dimension,
)
from livingeval.judge._rubric import (
    Rubric as Rubric,
)
from livingeval.judge._rubric import (
    RubricJudge as RubricJudge,
)
from livingeval.judge._rubric import (
    RubricScores as RubricScores,
)
from livingeval.judge._rubric import (
    parse_rubric_reply as parse_rubric_reply,
)
from livingeval.judge._structured import (
    FAILURE_KINDS as FAILURE_KINDS,
)
from livingeval.judge._structured import (
    CompareOptions as CompareOptions,
)
from livingeval.judge._structured import (
    FailureKind as FailureKind,
)
from livingeval.judge._structured import (
    GoldCall as GoldCall,
)
from livingeval.judge._structured import (
    PendingArgument as PendingArgument,
)
from livingeval.judge._structured import (
    StructuredComparison as StructuredComparison,
)
from livingeval.judge._structured import (
    StructuredFailure as StructuredFailure,
)
from livingeval.judge._structured import (
    compare_json as compare_json,
)
from livingeval.judge._structured import (
    compare_tool_calls as compare_tool_calls,
)
from livingeval.judge._structured import (
    count_failure_kinds as count_failure_kinds,
)
from livingeval.judge._structured_judge import StructuredJudge as StructuredJudge
from livingeval.judge._toolparse import (
    parse_openai_tool_calls as parse_openai_tool_calls,
)
from livingeval.judge._toolparse import (
    parse_text_tool_calls as parse_text_tool_calls,
)
from livingeval.judge._toolparse import (
    response_from_anthropic as response_from_anthropic,
)
from livingeval.judge._toolparse import (
    response_from_openai as response_from_openai,
)
from livingeval.judge._toolparse import (
    response_from_text as response_from_text,
)

# --- end structured path imports --------------------------------------------------------

__all__ = [
    "AnthropicJudge",
    "ArgumentJudge",
    "ArgumentJudgeStatistics",
    "ArgumentQuestion",
    "BudgetPlan",
    "CacheStatistics",
    "CachedVote",
    "CallableArgumentJudge",
    "ChatModel",
    "ChatRequest",
    "ChatSession",
    "CompareOptions",
    "Completion",
    "DEFAULT_PAIRWISE_TEMPLATE",
    "DEFAULT_PRICES",
    "DEFAULT_RUBRIC",
    "Dimension",
    "FAILURE_KINDS",
    "FailureKind",
    "GoldCall",
    "JudgmentCache",
    "LLMArgumentJudge",
    "OpenAICompatibleJudge",
    "PairwiseItem",
    "PairwiseJudge",
    "PairwiseResult",
    "PairwiseSummary",
    "PendingArgument",
    "Price",
    "PriceTable",
    "Progress",
    "PromptTemplate",
    "Route",
    "RoutedJudge",
    "Rubric",
    "RubricJudge",
    "RubricScores",
    "StructuredComparison",
    "StructuredFailure",
    "StructuredJudge",
    "Vote",
    "aggregate",
    "compare_json",
    "compare_tool_calls",
    "count_failure_kinds",
    "fit_to_budget",
    "judge_all",
    "judge_all_sync",
    "model_family",
    "parse_choice",
    "parse_openai_tool_calls",
    "parse_rubric_reply",
    "parse_text_tool_calls",
    "resolve_pending",
    "resolve_pending_sync",
    "response_from_anthropic",
    "response_from_openai",
    "response_from_text",
    "run_outcome",
    "same_family",
    "settle",
    "stream_judgments",
    "stream_judgments_sync",
    "summarize",
    "vote_key",
]

publish(globals(), __all__)
