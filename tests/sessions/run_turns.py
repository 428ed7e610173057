"""Run session operations in a fresh process and print their outcome as JSON (used by the tests).

Usage: ``python run_turns.py <checkpoint url> '<json list of operations>'``. Each operation is
``{"op": "invoke", "thread": id, "message": text, "context": {...}}``,
``{"op": "resume", "thread": id, "value": ..., "context": {...}}`` or ``{"op": "state", "thread": id}``.
The output is one JSON list with, per operation, the thread's status, last message, plan,
pending interrupt values and number of messages after it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from sessiongraph import Sessions, Settings


async def run(url: str, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply ``operations`` on the backend at ``url``; one outcome dict per operation."""
    settings = Settings(checkpoint_url=url, model="offline")
    outcomes = []
    async with Sessions.open(settings=settings) as sessions:
        for operation in operations:
            thread_id = operation["thread"]
            context = operation.get("context")
            if operation["op"] == "invoke":
                await sessions.invoke(thread_id, operation["message"], context=context)
            elif operation["op"] == "resume":
                await sessions.resume(thread_id, operation["value"], context=context)
            state = await sessions.get_state(thread_id)
            messages = state.values.get("messages", [])
            outcomes.append(
                {
                    "status": (await sessions.get_thread(thread_id)).status,
                    "last": messages[-1].content if messages else None,
                    "messages": len(messages),
                    "plan": state.values.get("plan"),
                    "interrupts": [i.value for i in state.interrupts],
                    "next": list(state.next),
                }
            )
    return outcomes


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(sys.argv[1], json.loads(sys.argv[2])))))
