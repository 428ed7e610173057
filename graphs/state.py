"""The agent's state schema.

``messages`` and ``summary`` persist across turns. The remaining fields are the working memory of
one turn; the ``understand`` node resets them when a new turn starts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

# typing_extensions.TypedDict: LangGraph derives the JSON schemas Studio shows from it on Python < 3.12.
from typing_extensions import NotRequired, TypedDict  # noqa: UP035


class StepResult(TypedDict):
    """What one tool call produced during ``execute``."""

    tool: str
    args: dict[str, Any]
    output: str
    ok: bool


class Understanding(TypedDict):
    """The ``understand`` node's reading of the request."""

    goal: str
    needs_tools: bool


class Reflection(TypedDict):
    """The ``reflect`` node's verdict on the step results."""

    verdict: Literal["answer", "replan"]
    reason: str


class InputState(TypedDict):
    """What a caller sends for one turn: new messages (usually one human message)."""

    messages: Annotated[list[AnyMessage], add_messages]


class AgentState(InputState):
    """The full state of a session thread."""

    summary: NotRequired[str]
    """Running summary of the turns that were folded out of ``messages``."""
    summarized_messages: NotRequired[int]
    """How many messages have been folded into the summary so far (a counter, not a list of ids)."""
    understanding: NotRequired[Understanding | None]
    plan: NotRequired[list[str]]
    plan_review: NotRequired[Literal["pending", "approved", "edited", "rejected"] | None]
    """``pending`` while the plan waits for a reviewer (set by ``plan`` when approval is required)."""
    step_results: NotRequired[list[StepResult]]
    reflection: NotRequired[Reflection | None]
    iteration: NotRequired[int]
    """Replans done in this turn; bounded by the context's ``max_replans``."""


def turn_reset() -> dict[str, Any]:
    """The update that clears the per-turn working fields at the start of a turn."""
    return {
        "understanding": None,
        "plan": [],
        "plan_review": None,
        "step_results": [],
        "reflection": None,
        "iteration": 0,
    }
