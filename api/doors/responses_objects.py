"""Responses API objects: a run as a ``response`` (``resp_<run id>``), its streamed events
(``response.created`` ... ``response.output_text.delta`` ... ``response.completed``), and a
thread's messages as conversation items."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sessiongraph.api.coordination import RunRecord
from sessiongraph.api.doors.openai_errors import OpenAIError
from sessiongraph.api.doors.run_text import RunEnd, TextDelta, message_text, usage

# A pause (plan approval) is a finished response whose text asks the question; the next input answers.
_STATUS = {"completed": "completed", "paused": "completed", "failed": "failed", "cancelled": "cancelled"}


def response_id(run_id: str) -> str:
    """The response id of a run."""
    return f"resp_{uuid.UUID(run_id).hex}"


def run_id_of(response: str) -> str:
    """The run id inside a response id, or 404 for an id this server did not make."""
    try:
        return str(uuid.UUID(response.removeprefix("resp_")))
    except ValueError:
        raise OpenAIError(404, f"Response with id '{response}' not found.", param="response_id") from None


@dataclass
class ResponseView:
    """A run seen as a Responses API ``response``."""

    run: RunRecord

    @property
    def id(self) -> str:
        """``resp_<run id>``."""
        return response_id(self.run.run_id)

    @property
    def item_id(self) -> str:
        """The id of the response's output message."""
        return f"msg_{uuid.UUID(self.run.run_id).hex}"

    def text_part(self, text: str) -> dict[str, Any]:
        """An ``output_text`` content part."""
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}

    def item(self, text: str, status: str) -> dict[str, Any]:
        """The output message."""
        content = [self.text_part(text)] if status != "in_progress" else []
        return {
            "id": self.item_id,
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        }

    def body(self, end: RunEnd | None) -> dict[str, Any]:
        """The ``response`` object; ``end`` is ``None`` while the run is going."""
        meta = self.run.metadata
        status = _STATUS[end.outcome] if end else "in_progress"
        prompt, completion = usage(end.values) if end else (0, 0)
        return {
            "id": self.id,
            "object": "response",
            "created_at": int(self.run.created_at),
            "status": status,
            "model": meta.get("model", meta.get("graph_id")),
            "output": [self.item(end.text, "completed")] if end and end.outcome != "failed" else [],
            "conversation": {"id": self.run.thread_id} if not self.run.temporary else None,
            "previous_response_id": meta.get("previous_response_id"),
            "error": {"code": "server_error", "message": end.text}
            if end and end.outcome == "failed"
            else None,
            "incomplete_details": None,
            "metadata": meta.get("openai_metadata") or {},
            "instructions": None,
            "parallel_tool_calls": False,
            "tool_choice": "auto",
            "tools": [],
            "temperature": None,
            "top_p": None,
            "text": {"format": {"type": "text"}},
            "usage": {
                "input_tokens": prompt,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": completion,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": prompt + completion,
            },
        }

    async def events(self, source: AsyncIterator[TextDelta | RunEnd]) -> AsyncIterator[dict[str, Any]]:
        """The streamed response, each event with its ``type`` and ``sequence_number``."""
        seq = 0

        def event(kind: str, **fields: Any) -> dict[str, Any]:
            nonlocal seq
            seq += 1
            return {"type": kind, "sequence_number": seq - 1, **fields}

        where = {"item_id": self.item_id, "output_index": 0, "content_index": 0}
        yield event("response.created", response=self.body(None))
        yield event("response.in_progress", response=self.body(None))
        yield event("response.output_item.added", output_index=0, item=self.item("", "in_progress"))
        yield event("response.content_part.added", **where, part=self.text_part(""))
        text = ""
        async for item in source:
            if isinstance(item, TextDelta):
                text += item.text
                yield event("response.output_text.delta", **where, delta=item.text, logprobs=[])
                continue
            if item.outcome == "failed":
                yield event("response.failed", response=self.body(item))
                return
            if item.text != text:  # nothing streamed, or a pause's question
                yield event("response.output_text.delta", **where, delta=item.text, logprobs=[])
            yield event("response.output_text.done", **where, text=item.text, logprobs=[])
            yield event("response.content_part.done", **where, part=self.text_part(item.text))
            yield event("response.output_item.done", output_index=0, item=self.item(item.text, "completed"))
            yield event(f"response.{_STATUS[item.outcome]}", response=self.body(item))


def conversation_items(messages: list[Any]) -> list[dict[str, Any]]:
    """A thread's user and assistant messages with text, as conversation ``message`` items."""
    items: list[dict[str, Any]] = []
    for message in messages:
        role = {"human": "user", "ai": "assistant"}.get(
            message.get("type", "") if isinstance(message, dict) else ""
        )
        text = message_text(message)
        if role is None or not text:
            continue
        part = "input_text" if role == "user" else "output_text"
        items.append(
            {
                "id": f"msg_{message.get('id') or len(items)}",
                "type": "message",
                "status": "completed",
                "role": role,
                "content": [
                    {"type": part, "text": text, **({"annotations": []} if role == "assistant" else {})}
                ],
            }
        )
    return items
