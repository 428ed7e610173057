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


Role = Literal["user", "assistant", "tool"]


class Passage(TypedDict):
    """One archived (or pinned) message as memory keeps it."""

    text: str
    role: Role
    turn: int
    """The thread's turn the message belongs to (1 = the first human message)."""
    message_id: str
    thread_id: str
    score: float | None
    """Similarity to the query (``None``: not ranked by meaning)."""


class Pin(Passage):
    """A pinned message: why it was pinned and when."""

    reason: str
    """``rule: <pattern>`` or ``api``."""
    pinned_at: float


class RecalledMemory(TypedDict):
    """What recall put in this turn's prompt (a per-turn working field of the state)."""

    mode: Literal["semantic", "recency"]
    pinned: list[Pin]
    recalled: list[Passage]


class InputState(TypedDict):
    """What a caller sends for one turn: new messages (usually one human message)."""

    messages: Annotated[list[AnyMessage], add_messages]


class AgentState(InputState):
    """The full state of a session thread."""

    summary: NotRequired[str]
    """Running summary of the turns that were folded out of ``messages``."""
    summarized_messages: NotRequired[int]
    """How many messages have been folded into the summary so far (a counter, not a list of ids)."""
    archived_turns: NotRequired[int]
    """Turns whose messages were folded (and archived to the memory store) so far; the newest turn is
    this plus the human messages still in ``messages``."""
    memory: NotRequired[RecalledMemory | None]
    """What recall put in this turn's prompt: pinned facts and recalled passages (per turn)."""
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
