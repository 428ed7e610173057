"""Calls that need more than ``model.ainvoke``: a structured reply (retried once when malformed,
else a fallback) and a model with tools bound; both are built once per model and cached."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.constants import TAG_NOSTREAM
from pydantic import BaseModel, ValidationError

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
        reply = await runnable.ainvoke(attempt_messages, config)
        parsed, error = _parse_reply(reply, schema)
        if parsed is not None:
            return parsed
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
    """The model bound to one tool, ``schema``, that it must call: what
    ``with_structured_output(method="function_calling")`` binds, without the parser chain around
    it (a map, an assign and fallbacks: a third of the CPU of a structured call). The reply is
    parsed by :func:`_parse_reply`. Models without tool calling use ``with_structured_output``."""

    def build() -> Runnable:
        if type(model).bind_tools is BaseChatModel.bind_tools:
            structured: Runnable = model.with_structured_output(schema, include_raw=True)
        else:
            extra = {"parallel_tool_calls": False} if _takes_method(model) else {}
            structured = model.bind_tools([schema], tool_choice=schema.__name__, **extra)
        return structured.with_config(tags=[TAG_NOSTREAM], run_name=f"structured:{schema.__name__}")

    return _memo(model, ("structured", schema), build)


def _parse_reply(reply: Any, schema: type[SchemaT]) -> tuple[SchemaT | None, str]:
    """The ``schema`` instance in a reply (an ``AIMessage`` calling it, or the ``include_raw`` dict
    of ``with_structured_output``), else ``None`` and what was wrong."""
    if isinstance(reply, dict):
        parsed = reply.get("parsed")
        if isinstance(parsed, schema):
            return parsed, ""
        return None, str(reply.get("parsing_error") or "the reply did not contain the structured output")
    if not isinstance(reply, AIMessage):
        return None, f"the reply was a {type(reply).__name__}, not a message"
    call = next((c for c in reply.tool_calls if c["name"] == schema.__name__), None)
    if call is not None:
        try:
            return schema.model_validate(call["args"]), ""
        except ValidationError as exc:
            return None, str(exc)
    invalid = next((c for c in reply.invalid_tool_calls if c.get("name") == schema.__name__), None)
    if invalid is not None:
        return None, str(invalid.get("error") or "its arguments were not valid JSON")
    return None, f"the reply did not call the {schema.__name__} function"


def tool_model(model: BaseChatModel, tools: Sequence[BaseTool]) -> Runnable:
    """``model.bind_tools(tools)``, tagged not to stream, cached per model and tool set."""
    key = ("tools", tuple((t.name, id(t)) for t in tools))
    return _memo(model, key, lambda: model.bind_tools(list(tools)).with_config(tags=[TAG_NOSTREAM]))


def _takes_method(model: BaseChatModel) -> bool:
    # OpenAI-compatible servers (vLLM, Ollama) support tool calling far more widely than json_schema.
    return any(cls.__module__.startswith("langchain_openai") for cls in type(model).__mro__)
