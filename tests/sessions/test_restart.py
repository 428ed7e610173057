"""Multi-turn memory and plan approval survive a process restart (a second process sees the first's turns)."""

from __future__ import annotations

import uuid

from session_helpers import RunTurns


def test_memory_survives_a_restart(durable_url: str, run_turns: RunTurns) -> None:
    thread = str(uuid.uuid4())
    first = run_turns(durable_url, [{"op": "invoke", "thread": thread, "message": "My name is Ada"}])
    assert first[0]["status"] == "idle" and first[0]["messages"] == 2

    second = run_turns(durable_url, [{"op": "invoke", "thread": thread, "message": "What is my name?"}])
    assert second[0]["last"] == "Your name is Ada."
    assert second[0]["messages"] == 4 and second[0]["status"] == "idle"


def test_interrupt_in_one_process_resume_in_another(durable_url: str, run_turns: RunTurns) -> None:
    approve, edit, reject = (str(uuid.uuid4()) for _ in range(3))
    approval = {"require_plan_approval": True}
    paused = run_turns(
        durable_url,
        [
            {"op": "invoke", "thread": t, "message": "compute 12*7", "context": approval}
            for t in (approve, edit, reject)
        ],
    )
    for outcome in paused:
        assert outcome["status"] == "interrupted"
        assert outcome["next"] == ["review_plan"]
        (request,) = outcome["interrupts"]
        assert request["plan"] == ["Compute 12*7 with the calculator", "Compose the answer from the results"]
        assert "approve" in request["instructions"]

    plan = ["Multiply twelve by seven", "Say the product"]
    resumed = run_turns(
        durable_url,
        [
            {"op": "resume", "thread": approve, "value": "approve", "context": approval},
            {
                "op": "resume",
                "thread": edit,
                "value": {"action": "edit", "plan": plan},
                "context": approval,
            },
            {
                "op": "resume",
                "thread": reject,
                "value": {"action": "reject", "reason": "no maths today"},
                "context": approval,
            },
        ],
    )
    approved, edited, rejected = resumed
    assert approved["last"] == "Here is what I found: 12*7 = 84."
    assert edited["last"] == "Here is what I found: 12*7 = 84."
    assert edited["plan"] == plan
    assert rejected["last"].startswith("Understood: the plan was rejected (no maths today)")
    for outcome in resumed:
        assert outcome["status"] == "idle" and outcome["interrupts"] == [] and outcome["next"] == []
