"""Runs in bulk: ``POST /runs/batch`` (several stateless background runs) and ``POST /runs/cancel``
(cancel the given runs of a thread, or every run with a status)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from starlette.responses import Response

from sessiongraph.api.coordination import RunRecord
from sessiongraph.api.deps import Api, ApiDep
from sessiongraph.api.errors import Unprocessable
from sessiongraph.api.resource_schemas import RunsCancel
from sessiongraph.api.response_models import ERRORS, Run
from sessiongraph.api.responses import JSON
from sessiongraph.api.routes.runs import run_json
from sessiongraph.api.schemas import RunCreate
from sessiongraph.checkpoints import ThreadQuery

router = APIRouter(tags=["runs"], responses=ERRORS)


@router.post("/runs/batch", summary="Start several stateless background runs", response_model=list[Run])
async def batch(api: ApiDep, body: list[RunCreate]) -> Response:
    """One pending Run per body, in order (each on its own temporary thread)."""
    if not body:
        raise Unprocessable("send a non-empty list of run bodies")
    runs = [await api.services.runs.start(api.caller.owner, None, b, caller_key=api.caller.key) for b in body]
    return JSON([run_json(r) for r in runs])


async def _selected(api: Api, body: RunsCancel) -> list[RunRecord]:
    if body.status is not None:
        if body.thread_id is not None or body.run_ids:
            raise Unprocessable(
                "with 'status', omit 'thread_id' and 'run_ids': status selects runs on every thread"
            )
        query = ThreadQuery(status="busy", owner=api.caller.owner, limit=2**31)
        runs = [
            r
            for info in await api.sessions.search_threads(query)
            for r in await api.manager.active_runs(info.thread_id)
        ]
        return [r for r in runs if body.status == "all" or r.status == body.status]
    if body.thread_id is None or not body.run_ids:
        raise Unprocessable("send 'thread_id' and 'run_ids', or a 'status' ('pending', 'running' or 'all')")
    thread_id = str(body.thread_id)
    await api.thread(thread_id)
    return [await api.manager.get_run(thread_id, str(run_id)) for run_id in body.run_ids]


@router.post("/runs/cancel", status_code=204, summary="Cancel several runs")
async def cancel_many(
    api: ApiDep, body: RunsCancel, action: Literal["interrupt", "rollback"] = "interrupt"
) -> Response:
    """Cancel the selected runs that are still pending or running (finished ones are skipped)."""
    for run in await _selected(api, body):
        await api.manager.cancel(run, action)
    return Response(status_code=204)
