"""Chat Completions objects: the ``chat.completion`` of a finished run and the
``chat.completion.chunk`` frames of a streamed one (OpenAI's shapes)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sessiongraph.api.doors.openai_errors import openai_error
from sessiongraph.api.doors.run_text import RunEnd, TextDelta, usage


def usage_json(values: dict[str, Any]) -> dict[str, int]:
    """OpenAI ``usage`` from the answer's token counts."""
    prompt, completion = usage(values)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _finish_reason(end: RunEnd) -> str:
    return "length" if end.outcome == "cancelled" else "stop"


@dataclass
class Completion:
    """The identity shared by a completion and its chunks."""

    run_id: str
    model: str
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def id(self) -> str:
        """``chatcmpl-<run id>``."""
        return f"chatcmpl-{self.run_id}"

    def final(self, end: RunEnd) -> dict[str, Any]:
        """The ``chat.completion`` of a run that ended."""
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": end.text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": _finish_reason(end),
                }
            ],
            "usage": usage_json(end.values),
        }

    def chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        """One ``chat.completion.chunk``."""
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            **extra,
        }

    async def chunks(
        self, events: AsyncIterator[TextDelta | RunEnd], *, include_usage: bool
    ) -> AsyncIterator[dict[str, Any]]:
        """The streamed completion: a role chunk, content chunks, a finish chunk, the usage chunk
        when asked; a failed run ends with OpenAI's ``{"error": ...}`` instead."""
        extra: dict[str, Any] = {"usage": None} if include_usage else {}
        yield self.chunk({"role": "assistant", "content": ""}, **extra)
        streamed = False
        async for event in events:
            if isinstance(event, TextDelta):
                streamed = True
                yield self.chunk({"content": event.text}, **extra)
                continue
            if event.outcome == "failed":
                yield openai_error(500, f"the run failed: {event.text}")[1]
                return
            if not streamed or event.outcome == "paused":
                # Nothing streamed (a model without token streaming), or the pause's question.
                yield self.chunk({"content": event.text}, **extra)
            yield self.chunk({}, _finish_reason(event), **extra)
            if include_usage:
                body = self.chunk({}, **extra)
                body["choices"], body["usage"] = [], usage_json(event.values)
                yield body
