"""A run as text: its answer, its pause, its token usage, and its event stream as text deltas.

The doors speak text (OpenAI chat and Responses, A2A); the run manager speaks protocol events
(``messages`` tuples of AI message chunks, ``values``, ``error``, ``end``). This is the one
conversion between the two.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from sessiongraph.api.coordination import Subscription
from sessiongraph.api.serialize import dumps, loads

_AI_TYPES = frozenset({"ai", "AIMessageChunk", "AIMessage"})


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer as the model streams it."""

    text: str


@dataclass
class RunEnd:
    """How the run ended: ``completed`` (``values`` hold the final state), ``paused`` at an
    ``interrupt()``, ``failed`` (``error``) or ``cancelled``."""

    outcome: Literal["completed", "paused", "failed", "cancelled"]
    values: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        """The answer, the question a pause asks, or the error message ('' when cancelled: the
        state's last answer would be an earlier turn's)."""
        if self.outcome == "cancelled":
            return ""
        if self.outcome == "paused":
            return interrupt_text(self.values)
        if self.outcome == "failed":
            return str((self.error or {}).get("message", "the run failed"))
        return answer_text(self.values)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p if isinstance(p, str) else str(p.get("text", "")) for p in content if isinstance(p, str | dict)
        )
    return ""


def message_text(message: Any) -> str:
    """The text of a serialized message (string or content blocks)."""
    return _content_text(message.get("content")) if isinstance(message, dict) else ""


def answer_text(values: dict[str, Any]) -> str:
    """The last AI message's text in final state values ('' if there is none)."""
    for message in reversed(values.get("messages") or []):
        if isinstance(message, dict) and message.get("type") in _AI_TYPES:
            return message_text(message)
    return ""


def interrupt_value(values: dict[str, Any]) -> Any:
    """The value the run's ``interrupt()`` asked with (``None`` if it did not pause)."""
    pending = values.get("__interrupt__") or []
    first = pending[0] if pending else None
    return first.get("value") if isinstance(first, dict) else first


def interrupt_text(values: dict[str, Any]) -> str:
    """A pause as a question for a person: the plan to approve and what to answer."""
    value = interrupt_value(values)
    if isinstance(value, dict) and "plan" in value:
        steps = "\n".join(f"{i}. {step}" for i, step in enumerate(value.get("plan") or [], 1))
        lines = ["Approve this plan?", steps, str(value.get("instructions", "")), str(value.get("error", ""))]
        return "\n".join(line for line in lines if line)
    return value if isinstance(value, str) else dumps(value).decode()


def usage(values: dict[str, Any]) -> tuple[int, int]:
    """(input tokens, output tokens) of the turn's answer, as the model reported them (0 if not)."""
    for message in reversed(values.get("messages") or []):
        if isinstance(message, dict) and message.get("type") in _AI_TYPES:
            meta = message.get("usage_metadata") or {}
            return int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))
    return 0, 0


def end_of(values: dict[str, Any]) -> RunEnd:
    """A finished run's result (``RunManager.result``) as a :class:`RunEnd`."""
    if "__error__" in values:
        return RunEnd("failed", error=values["__error__"])
    if values.get("__interrupt__"):
        return RunEnd("paused", values)
    return RunEnd("completed", values)


def _delta(data: Any) -> str:
    """The answer text in a ``messages`` event: AI chunks only (tool-call chunks carry none)."""
    if not (isinstance(data, list) and data and isinstance(data[0], dict)):
        return ""
    chunk = data[0]
    if chunk.get("type") not in _AI_TYPES or chunk.get("tool_call_chunks") or chunk.get("tool_calls"):
        return ""
    return message_text(chunk)


async def text_events(subscription: Subscription) -> AsyncIterator[TextDelta | RunEnd]:
    """The run's answer as :class:`TextDelta` items, then one :class:`RunEnd`.

    A run whose stream closes without ``end`` or ``error`` was cancelled.
    """
    values: dict[str, Any] = {}
    end: RunEnd | None = None
    try:
        async for item in subscription:
            if item is None:
                continue
            if item.event == "messages":
                text = _delta(loads(item.data))
                if text:
                    yield TextDelta(text)
            elif item.event == "values":
                data = loads(item.data)
                values = {**values, **data} if isinstance(data, dict) and "__interrupt__" in data else data
            elif item.event == "error":
                end = RunEnd("failed", values, error=loads(item.data))
            elif item.event == "end":
                end = RunEnd("paused" if values.get("__interrupt__") else "completed", values)
    finally:
        await subscription.aclose()
    yield end or RunEnd("cancelled", values)
