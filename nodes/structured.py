"""Calls that need more than ``model.ainvoke``: a structured reply (retried once when malformed,
else a fallback) and a model with tools bound; both are built once per model and cached."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.constants import TAG_NOSTREAM
from pydantic import BaseModel

from sessiongraph.nodes import prompts

log = logging.getLogger("sessiongraph.nodes")

SchemaT = TypeVar("SchemaT", bound=BaseModel)


@overload
async def structured_call(
    model: BaseChatModel,
    schema: type[SchemaT],
    messages: list[BaseMessage],
    fallback: SchemaT,
    config: RunnableConfig | None = None,
) -> SchemaT: ...


@overload
async def structured_call(
    model: BaseChatModel,
    schema: type[SchemaT],
    messages: list[BaseMessage],
    fallback: None,
    config: RunnableConfig | None = None,
) -> SchemaT | None: ...


async def structured_call(
    model: BaseChatModel,
    schema: type[SchemaT],
    messages: list[BaseMessage],
    fallback: SchemaT | None,
    config: RunnableConfig | None = None,
) -> SchemaT | None:
    """Ask for ``schema``; on a malformed reply retry once with the error, then return ``fallback``
    (so the result is ``None`` only when the fallback is).

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
