"""Start a run from a run-create body on a thread the caller may use: the one path every door takes
(Agent Server runs, OpenAI chat and Responses, A2A, WebSocket) into :class:`RunManager`."""

from __future__ import annotations

from sessiongraph.api.coordination import RunRecord
from sessiongraph.api.deps import Api
from sessiongraph.api.run_plan import build_plan, run_kwargs
from sessiongraph.api.schemas import RunCreate
from sessiongraph.checkpoints import ThreadInfo


async def start_run(api: Api, info: ThreadInfo, body: RunCreate, *, temporary: bool = False) -> RunRecord:
    """Validate ``body`` into a plan and admit the run on ``info`` (``temporary``: the thread is
    deleted once the run is over)."""
    assistant_id = api.services.assistant.resolve(body.assistant_id)
    plan = build_plan(body, api.sessions.context)
    metadata = {
        **(body.metadata or {}),
        "assistant_id": assistant_id,
        "graph_id": api.services.assistant.graph_id,
    }
    return await api.manager.start(
        info,
        plan,
        assistant_id=assistant_id,
        metadata=metadata,
        kwargs=run_kwargs(body),
        multitask_strategy=body.multitask_strategy,
        temporary=temporary,
    )
