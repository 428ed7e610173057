"""How the nodes build their prompts: the system message (with the running summary), the
conversation as the model sees it, and step results and plans as prompt lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from langchain_core.messages import BaseMessage, SystemMessage

from sessiongraph.graphs.state import AgentState, Passage, RecalledMemory, StepResult
from sessiongraph.nodes import prompts


def system_message(state: AgentState, instructions: str) -> SystemMessage:
    """The system prompt of a node: the base prompt, the running summary (if any), the instructions."""
    parts = [prompts.SYSTEM_BASE.format(now=datetime.now(UTC).isoformat(timespec="minutes"))]
    if state.get("summary"):
        parts.append(prompts.SUMMARY_CONTEXT.format(summary=state["summary"]))
    parts.extend(memory_sections(state.get("memory")))
    parts.append(instructions)
    return SystemMessage("\n\n".join(parts))


def memory_sections(memory: RecalledMemory | None) -> list[str]:
    """Pinned facts and recalled passages as system-prompt sections (none when there are none).

    They go in the system prompt, clearly headed, and never as messages: the conversation (and its
    tool-call pairing) stays exactly as stored.
    """
    if not memory:
        return []
    sections = []
    if memory["pinned"]:
        sections.append("\n".join([prompts.PINNED_HEADING, *map(render_line, memory["pinned"])]))
    if memory["recalled"]:
        lines = [prompts.RECALLED_HEADING, *map(render_line, memory["recalled"]), prompts.MEMORY_END]
        sections.append("\n".join(lines))
    return sections


def render_line(passage: Passage) -> str:
    """A remembered message as one prompt line: ``- [turn 3, user] text``."""
    return f"- [turn {passage['turn']}, {passage['role']}] {passage['text']}"


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
