"""A deterministic chat model that needs no network and no key.

It supports ``bind_tools``, ``with_structured_output`` (through forced tool calls, as most chat
models do) and token streaming, and it drives every path of the agent graph from what the user
wrote (see :mod:`sessiongraph.nodes.offline.logic`). Each reply says where it came from:
``response_metadata["model_provider"] == "offline"``.

Example::

    from sessiongraph.nodes.offline import OfflineChatModel

    OfflineChatModel().invoke("what is 6*7?").content
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from sessiongraph.nodes.offline import logic

OFFLINE_METADATA = {"model_name": logic.OFFLINE_MODEL_NAME, "model_provider": "offline", "offline": True}


class OfflineChatModel(BaseChatModel):
    """Deterministic offline chat model (labelled ``model_provider: offline`` in metadata)."""

    model_name: str = logic.OFFLINE_MODEL_NAME
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "sessiongraph-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools as OpenAI tool schemas; ``tool_choice`` forces a call as OpenAI does."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        return super().bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Approximate count (about 4 characters a token plus 3 a message)."""
        return count_tokens_approximately(messages)

    # --- generation ----------------------------------------------------------------------

    def _reply(
        self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None, tool_choice: Any
    ) -> AIMessage:
        tools = tools or []
        forced = _forced_tool(tools, tool_choice)
        if forced is not None:
            function = forced["function"]
            args = logic.structured_reply(function["name"], function.get("parameters", {}), messages)
            call = {
                "name": function["name"],
                "args": args,
                "id": f"call_{function['name']}",
                "type": "tool_call",
            }
            return AIMessage(content="", tool_calls=[call], response_metadata=dict(OFFLINE_METADATA))
        if tools:
            pending = logic.pending_tool_calls(messages, tools)
            if pending:
                return AIMessage(content="", tool_calls=pending, response_metadata=dict(OFFLINE_METADATA))
            return AIMessage(content=logic.execution_note(messages), response_metadata=dict(OFFLINE_METADATA))
        return AIMessage(content=logic.compose_answer(messages), response_metadata=dict(OFFLINE_METADATA))

    def _with_usage(self, messages: list[BaseMessage], reply: AIMessage) -> AIMessage:
        prompt = count_tokens_approximately(messages)
        completion = count_tokens_approximately([reply])
        reply.usage_metadata = {
            "input_tokens": prompt,
            "output_tokens": completion,
            "total_tokens": prompt + completion,
        }
        return reply

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._full_reply(messages, **kwargs))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # In a worker thread, so a long conversation never holds the event loop.
        return await asyncio.to_thread(self._generate, messages, stop, None, **kwargs)

    def _full_reply(self, messages: list[BaseMessage], **kwargs: Any) -> AIMessage:
        return self._with_usage(
            messages, self._reply(messages, kwargs.get("tools"), kwargs.get("tool_choice"))
        )

    def _chunks(
        self, messages: list[BaseMessage], reply: AIMessage | None = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        reply = reply or self._full_reply(messages, **kwargs)
        if reply.tool_calls:
            chunk = AIMessageChunk(
                content="",
                tool_call_chunks=[
                    {
                        "name": c["name"],
                        "args": _json(c["args"]),
                        "id": c["id"],
                        "index": i,
                        "type": "tool_call_chunk",
                    }
                    for i, c in enumerate(reply.tool_calls)
                ],
            )
            yield ChatGenerationChunk(message=chunk)
        else:
            for token in logic.tokens_of(str(reply.content)):
                yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                response_metadata=dict(OFFLINE_METADATA),
                usage_metadata=reply.usage_metadata,
                chunk_position="last",
            )
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages, **kwargs):
            if run_manager and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        reply = await asyncio.to_thread(self._full_reply, messages, **kwargs)
        for chunk in self._chunks(messages, reply, **kwargs):
            if run_manager and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def _forced_tool(tools: list[dict[str, Any]], tool_choice: Any) -> dict[str, Any] | None:
    """The tool a ``tool_choice`` forces, if any (``any``/``required``/True with one tool, or by name)."""
    if not tools or tool_choice in (None, "auto", "none", False):
        return None
    if isinstance(tool_choice, dict):
        name = tool_choice.get("function", {}).get("name") or tool_choice.get("name")
        return next((t for t in tools if t["function"]["name"] == name), None)
    if isinstance(tool_choice, str) and tool_choice not in ("any", "required"):
        return next((t for t in tools if t["function"]["name"] == tool_choice), None)
    return tools[0] if len(tools) == 1 else None


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
