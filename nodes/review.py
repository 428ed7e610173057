"""review_plan: optional human approval of the plan, through ``interrupt()``.

The interrupt's value is ``{"plan": [...], "goal": ..., "instructions": ...}``. Resume with
``Command(resume=...)`` where the value is one of:

- ``True``, ``"approve"`` or ``{"action": "approve"}``: execute the plan as is;
- ``{"action": "edit", "plan": ["step", ...]}``: execute the edited plan;
- ``False``, ``"reject"`` or ``{"action": "reject", "reason": "..."}``: skip execution and answer.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from sessiongraph.graphs.context import Context, context_from_runtime
from sessiongraph.graphs.state import AgentState

REVIEW_INSTRUCTIONS = (
    "Resume with 'approve', {'action': 'edit', 'plan': [...]} or {'action': 'reject', 'reason': '...'}."
)


class InvalidReview(ValueError):
    """The resume value is not an approval, an edit or a rejection."""


def parse_review(value: Any) -> tuple[Literal["approved", "edited", "rejected"], list[str] | None, str]:
    """Interpret a resume value as (decision, edited plan or None, reason)."""
    if value is True or value in ("approve", "approved", "yes"):
        return "approved", None, ""
    if value is False or value in ("reject", "rejected", "no"):
        return "rejected", None, ""
    if isinstance(value, dict):
        action = value.get("action", "approve")
        if action in ("approve", "approved"):
            return "approved", None, ""
        if action in ("reject", "rejected"):
            return "rejected", None, str(value.get("reason", ""))
        if action in ("edit", "edited"):
            plan = value.get("plan")
            if isinstance(plan, list) and plan and all(isinstance(s, str) and s.strip() for s in plan):
                return "edited", [s.strip() for s in plan], ""
            raise InvalidReview("an edit needs 'plan': a non-empty list of non-empty strings")
    raise InvalidReview(f"unrecognised review {value!r}. {REVIEW_INSTRUCTIONS}")


async def review_plan(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Pause for a human decision on the plan when the context asks for plan approval."""
    if state.get("plan_review") != "pending" and not context_from_runtime(runtime).require_plan_approval:
        return {"plan_review": None}
    understanding = state.get("understanding")
    request: dict[str, Any] = {
        "plan": state.get("plan", []),
        "goal": understanding.get("goal", "") if understanding else "",
        "instructions": REVIEW_INSTRUCTIONS,
    }
    while True:
        try:
            decision, edited, reason = parse_review(interrupt(request))
            break
        except InvalidReview as exc:
            # Ask again instead of failing the turn: the thread stays paused at the review.
            request = {**request, "error": str(exc)}
    update: dict[str, Any] = {"plan_review": decision}
    if edited is not None:
        update["plan"] = edited
    if decision == "rejected":
        update["reflection"] = {"verdict": "answer", "reason": reason or "the reviewer rejected the plan"}
    return update
