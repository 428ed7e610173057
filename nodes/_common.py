"""Helpers shared by the node modules: model resolution, prompts with the summary, structured calls."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.constants import TAG_NOSTREAM
from langgraph.types import RetryPolicy, default_retry_on
from pydantic import BaseModel

from sessiongraph.graphs.context import Context
from sessiongraph.graphs.state import AgentState, StepResult
from sessiongraph.nodes import prompts
from sessiongraph.nodes.models import create_chat_model
from sessiongraph.settings import Settings

log = logging.getLogger("sessiongraph.nodes")

SchemaT = TypeVar("SchemaT", bound=BaseModel)


def is_transient(error: Exception) -> bool:
    """Worth retrying: rate limits, server errors and connection problems, not a rejected request."""
    status = getattr(error, "status_code", None)  # openai.APIStatusError and similar clients
    if isinstance(status, int):
        return status in (408, 409, 429) or status >= 500
    return default_retry_on(error)


LLM_RETRY = RetryPolicy(
    max_attempts=3, initial_interval=0.5, backoff_factor=2.0, max_interval=8.0, retry_on=is_transient
)
"""Retry policy of the LLM nodes: transient model errors are retried twice with backoff."""


@dataclass(frozen=True)
class NodeDeps:
    """What the nodes need besides state and context: an optional fixed model and the tools."""

    model: BaseChatModel | None = None
    tools: Sequence[BaseTool] = field(default_factory=tuple)
    settings: Settings | None = None
    """Where the default model, temperature and endpoint come from (``None``: the process settings)."""

    def chat_model(self, context: Context) -> BaseChatModel:
        """The fixed model if one was given to ``build_graph``, else the context's model spec
        (empty: the settings' model)."""
        if self.model is not None:
            return self.model
        return create_chat_model(context.model, context.temperature, self.settings)

    def enabled_tools(self, context: Context) -> list[BaseTool]:
        """The tools the context enables, in registration order."""
        if context.enabled_tools is None:
            return list(self.tools)
        enabled = set(context.enabled_tools)
        return [t for t in self.tools if t.name in enabled]


def system_message(state: AgentState, instructions: str) -> SystemMessage:
    """The system prompt of a node: the base prompt, the running summary (if any), the instructions."""
    parts = [prompts.SYSTEM_BASE.format(now=datetime.now(UTC).isoformat(timespec="minutes"))]
    if state.get("summary"):
        parts.append(prompts.SUMMARY_CONTEXT.format(summary=state["summary"]))
    parts.append(instructions)
    return SystemMessage("\n\n".join(parts))


def conversation(state: AgentState) -> list[BaseMessage]:
    """The persisted conversation, as the nodes show it to the model."""
    return list(state.get("messages", []))


def format_results(results: Sequence[StepResult]) -> str:
    """Step results as prompt lines."""
    if not results:
        return prompts.NO_RESULTS
    return "\n".join(
        f"- {r['tool']}({r['args']}) -> {'' if r['ok'] else 'ERROR: '}{r['output']}" for r in results
    )


def format_plan(plan: Sequence[str]) -> str:
    """A plan as numbered prompt lines."""
    return "\n".join(f"{i}. {step}" for i, step in enumerate(plan, 1)) or "(no plan)"


async def structured_call(
    model: BaseChatModel,
    schema: type[SchemaT],
    messages: list[BaseMessage],
    fallback: SchemaT | None,
    config: RunnableConfig | None = None,
) -> SchemaT | None:
    """Ask for ``schema``; on a malformed reply retry once with the error, then return ``fallback``.

    Errors raised by the model itself (network, server) propagate, so the node's RetryPolicy
    handles them.
    """
    runnable = _structured_runnable(model, schema)
    attempt_messages = list(messages)
    for attempt in range(2):
        result: dict[str, Any] = await runnable.ainvoke(attempt_messages, config)
        parsed = result.get("parsed")
        if isinstance(parsed, schema):
            return parsed
        error = result.get("parsing_error") or "the reply did not contain the structured output"
        log.warning("malformed %s reply (attempt %d): %s", schema.__name__, attempt + 1, error)
        attempt_messages = [
            *messages,
            HumanMessage(
                f"Your previous reply could not be parsed as {schema.__name__}: {error}. "
                f"Reply again by calling the {schema.__name__} function with valid arguments.",
                name=prompts.STRUCTURED_RETRY_NAME,
            ),
        ]
    log.warning("using the fallback %s after two malformed replies", schema.__name__)
    return fallback


_RUNNABLES: dict[tuple[int, Any], tuple[BaseChatModel, Runnable]] = {}
_RUNNABLES_MAX = 128


def _memo(model: BaseChatModel, key: Any, build: Callable[[], Runnable]) -> Runnable:
    """Cache runnables derived from a model: building tool schemas costs more than an offline reply."""
    entry = _RUNNABLES.get((id(model), key))
    if entry is not None and entry[0] is model:
        return entry[1]
    if len(_RUNNABLES) >= _RUNNABLES_MAX:
        _RUNNABLES.clear()
    runnable = build()
    _RUNNABLES[(id(model), key)] = (model, runnable)
    return runnable


def _structured_runnable(model: BaseChatModel, schema: type[BaseModel]) -> Runnable:
    def build() -> Runnable:
        if _takes_method(model):
            structured = model.with_structured_output(schema, include_raw=True, method="function_calling")
        else:
            structured = model.with_structured_output(schema, include_raw=True)
        return structured.with_config(tags=[TAG_NOSTREAM], run_name=f"structured:{schema.__name__}")

    return _memo(model, ("structured", schema), build)


def tool_model(model: BaseChatModel, tools: Sequence[BaseTool]) -> Runnable:
    """``model.bind_tools(tools)``, tagged not to stream, cached per model and tool set."""
    key = ("tools", tuple((t.name, id(t)) for t in tools))
    return _memo(model, key, lambda: model.bind_tools(list(tools)).with_config(tags=[TAG_NOSTREAM]))


def _takes_method(model: BaseChatModel) -> bool:
    # OpenAI-compatible servers (vLLM, Ollama) support tool calling far more widely than json_schema.
    return type(model).__module__.startswith("langchain_openai")
