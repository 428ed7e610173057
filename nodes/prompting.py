"""How the nodes build their prompts: the system message (with the running summary), the
conversation as the model sees it, and step results and plans as prompt lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from langchain_core.messages import BaseMessage, SystemMessage

from sessiongraph.graphs.state import AgentState, StepResult
from sessiongraph.nodes import prompts


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
