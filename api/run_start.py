"""Start a run from a run-create body on a thread the caller may use: the one path every door takes
(Agent Server runs, OpenAI chat and Responses, A2A, WebSocket) into :class:`RunManager`.

The body is validated into a plan (:func:`plan_run`) against the server's per-run maximums
(:class:`~sessiongraph.api.run_options.RunLimits`) before anything is written, so a caller that
must create a thread first can plan, then create, then start.
"""

from __future__ import annotations

from sessiongraph.api.coordination import RunRecord
from sessiongraph.api.deps import Api
from sessiongraph.api.executor import RunPlan
from sessiongraph.api.run_options import RunLimits
from sessiongraph.api.run_plan import build_plan, run_kwargs
from sessiongraph.api.schemas import RunCreate
from sessiongraph.checkpoints import ThreadInfo


def plan_run(api: Api, body: RunCreate) -> RunPlan:
    """``body`` validated into a plan (4xx for anything it gets wrong); nothing is written."""
    api.services.assistant.resolve(body.assistant_id)
    limits = RunLimits.from_settings(api.services.settings)
    return build_plan(body, api.sessions.context, limits, api.sessions.node_names)


async def start_run(
    api: Api, info: ThreadInfo, body: RunCreate, *, temporary: bool = False, plan: RunPlan | None = None
) -> RunRecord:
    """Validate ``body`` into a plan (unless ``plan`` is given, from :func:`plan_run`) and admit the
    run on ``info`` (``temporary``: the thread is deleted once the run is over)."""
    assistant_id = api.services.assistant.resolve(body.assistant_id)
    plan = plan or plan_run(api, body)
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
