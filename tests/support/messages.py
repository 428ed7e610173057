"""Messages as the HTTP API and the langgraph-sdk carry them: a turn's input, and the texts of a result."""

from __future__ import annotations

from typing import Any


def say(text: str) -> dict[str, Any]:
    """A turn's input: one user message.

    Example::

        await client.runs.wait(thread_id, "agent", input=say("My name is Ada"))
    """
    return {"messages": [{"role": "user", "content": text}]}


def contents(values: dict[str, Any]) -> list[str]:
    """The conversation's message texts, oldest first, from state values or a run's result."""
    return [m["content"] for m in values["messages"]]
