"""Runs: on a thread (wait, stream, background, list, get, join, join-stream, cancel, delete)
and stateless (``/runs/wait``, ``/runs/stream``, ``/runs``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from uuid import UUID

import anyio
from fastapi import APIRouter, Header, Query
from starlette.responses import Response, StreamingResponse

from sessiongraph.api.coordination import RunRecord
from sessiongraph.api.deps import Api, ApiDep
from sessiongraph.api.errors import Unprocessable
from sessiongraph.api.response_models import ERRORS, SSE, Run
from sessiongraph.api.responses import JSON
from sessiongraph.api.run_errors import RunNotActive, RunNotFound
from sessiongraph.api.schemas import MAX_OFFSET, RunCreate
from sessiongraph.api.serialize import iso, loads
from sessiongraph.api.sse import error_response, sse_response

router = APIRouter(tags=["runs"], responses=ERRORS)


def run_json(run: RunRecord) -> dict[str, Any]:
    """The Run object."""
    return {
        "run_id": run.run_id,
        "thread_id": run.thread_id,
        "assistant_id": run.assistant_id,
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
        "status": run.status,
        "metadata": run.metadata,
        "kwargs": run.kwargs,
        "multitask_strategy": run.multitask_strategy,
    }


# --- creation ------------------------------------------------------------------------------------


async def _create(api: Api, thread_id: str | None, body: RunCreate) -> RunRecord:
    return await api.services.runs.start(api.caller.owner, thread_id, body, caller_key=api.caller.key)


def _locations(run: RunRecord, stateless: bool, tail: str) -> dict[str, str]:
    base = f"/threads/{run.thread_id}/runs/{run.run_id}"
    if stateless and tail == "stream":
        base = f"/runs/{run.run_id}"
    return {"Location": f"{base}/{tail}", "Content-Location": base}


def _canceller(api: Api, run: RunRecord, wanted: bool) -> Any:
    if not wanted:
        return None

    async def cancel() -> None:
        await api.manager.cancel(run, "interrupt")

    return cancel


async def _wait_response(
    api: Api, run: RunRecord, headers: dict[str, str], cancel_on_disconnect: bool
) -> Response:
    """The run's result; while it runs, a newline every ``heartbeat_s`` keeps the connection alive."""
    manager = api.manager
    heartbeat = api.services.settings.heartbeat_s
    if not cancel_on_disconnect and await manager.wait(run.run_id, heartbeat):
        return JSON(await manager.result(run), headers=headers)

    async def body() -> AsyncIterator[bytes]:
        done = False
        try:
            while not await manager.wait(run.run_id, heartbeat):
                yield b"\n"
            done = True
            yield await manager.result(run)
        finally:
            if not done and cancel_on_disconnect:
                with anyio.CancelScope(shield=True):
                    await manager.cancel(run, "interrupt")

    return StreamingResponse(body(), media_type="application/json", headers=headers)


async def _stream_response(api: Api, run: RunRecord, body: RunCreate, stateless: bool) -> Response:
    subscription = await api.manager.subscribe(run.run_id, 0)
    return sse_response(
        subscription,
        heartbeat_s=api.services.settings.heartbeat_s,
        with_ids=body.stream_resumable,
        on_disconnect=_canceller(api, run, body.on_disconnect == "cancel"),
        headers=_locations(run, stateless, "stream"),
    )


@router.post("/threads/{thread_id}/runs/wait", summary="Run and wait for the final state")
async def wait_run(api: ApiDep, thread_id: UUID, body: RunCreate) -> Response:
    """Invoke: the final state values (``__interrupt__`` on a pause, ``__error__`` on failure)."""
    run = await _create(api, str(thread_id), body)
    return await _wait_response(api, run, _locations(run, False, "join"), body.on_disconnect == "cancel")


@router.post("/threads/{thread_id}/runs/stream", summary="Run and stream its events (SSE)", responses=SSE)
async def stream_run(api: ApiDep, thread_id: UUID, body: RunCreate) -> Response:
    """Stream the run: ``metadata`` first, then the requested modes, then ``end`` (or ``error``)."""
    run = await _create(api, str(thread_id), body)
    return await _stream_response(api, run, body, stateless=False)


@router.post("/threads/{thread_id}/runs", summary="Start a background run", response_model=Run)
async def background_run(api: ApiDep, thread_id: UUID, body: RunCreate) -> Response:
    """The pending Run; join it or stream it later."""
    run = await _create(api, str(thread_id), body)
    return JSON(run_json(run), headers={"Content-Location": f"/threads/{run.thread_id}/runs/{run.run_id}"})


@router.post("/runs/wait", summary="Stateless run, wait for the result")
async def stateless_wait(api: ApiDep, body: RunCreate) -> Response:
    """A run on a temporary thread (deleted afterwards unless ``on_completion='keep'``)."""
    run = await _create(api, None, body)
    return await _wait_response(api, run, _locations(run, True, "join"), body.on_disconnect == "cancel")


@router.post("/runs/stream", summary="Stateless run, streamed", responses=SSE)
async def stateless_stream(api: ApiDep, body: RunCreate) -> Response:
    """A streamed run on a temporary thread."""
    run = await _create(api, None, body)
    return await _stream_response(api, run, body, stateless=True)


@router.post("/runs", summary="Stateless background run", response_model=Run)
async def stateless_background(api: ApiDep, body: RunCreate) -> Response:
    """A background run on a temporary thread."""
    run = await _create(api, None, body)
    return JSON(run_json(run), headers={"Content-Location": f"/runs/{run.run_id}"})


# --- existing runs -------------------------------------------------------------------------------


async def _run(api: Api, thread_id: UUID, run_id: UUID) -> RunRecord:
    tid = str(thread_id)
    await api.thread(tid)
    return await api.manager.get_run(tid, str(run_id))


@router.get("/threads/{thread_id}/runs", summary="List a thread's runs", response_model=list[Run])
async def list_runs(
    api: ApiDep,
    thread_id: UUID,
    limit: int = Query(default=10, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
    status: str | None = None,
) -> Response:
    """Runs, newest first."""
    tid = str(thread_id)
    await api.thread(tid)
    runs = await api.manager.list_runs(tid, limit=limit, offset=offset, status=status or None)
    return JSON([run_json(r) for r in runs])


@router.get("/threads/{thread_id}/runs/{run_id}", summary="Get a run", response_model=Run)
async def get_run(api: ApiDep, thread_id: UUID, run_id: UUID) -> Response:
    """The Run."""
    return JSON(run_json(await _run(api, thread_id, run_id)))


@router.delete("/threads/{thread_id}/runs/{run_id}", status_code=204, summary="Delete a finished run")
async def delete_run(api: ApiDep, thread_id: UUID, run_id: UUID) -> Response:
    """Forget a run that is over (cancel it first if it is not)."""
    await api.manager.delete_run(await _run(api, thread_id, run_id))
    return Response(status_code=204)


@router.get("/threads/{thread_id}/runs/{run_id}/join", summary="Wait for a run's result")
async def join_run(
    api: ApiDep, thread_id: UUID, run_id: UUID, cancel_on_disconnect: bool = False
) -> Response:
    """Like ``/wait``, for a run created earlier."""
    run = await _run(api, thread_id, run_id)
    return await _wait_response(api, run, _locations(run, False, "join"), cancel_on_disconnect)


@router.get("/threads/{thread_id}/runs/{run_id}/stream", summary="Join a run's stream (SSE)", responses=SSE)
async def join_stream(
    api: ApiDep,
    thread_id: UUID,
    run_id: UUID,
    stream_mode: Annotated[list[str] | None, Query()] = None,
    cancel_on_disconnect: bool = False,
    last_event_id_header: str | None = Header(default=None, alias="last-event-id"),
) -> Response:
    """Live events of a run (after ``Last-Event-ID`` when given), until it ends."""
    try:
        run = await _run(api, thread_id, run_id)
    except RunNotFound as exc:
        return error_response("HTTPException", f"404: {exc}")
    modes = _join_modes(stream_mode)
    last = last_event_id(last_event_id_header)
    subscription = await api.manager.subscribe(run.run_id, last)
    return sse_response(
        subscription,
        heartbeat_s=api.services.settings.heartbeat_s,
        with_ids=True if last is not None else bool(run.kwargs.get("resumable")),
        modes=modes,
        on_disconnect=_canceller(api, run, cancel_on_disconnect),
        headers=_locations(run, False, "stream"),
    )


def _join_modes(raw: list[str] | None) -> frozenset[str] | None:
    values: list[str] = []
    for item in raw or []:
        item = item.strip()
        if item.startswith("["):
            try:
                parsed = loads(item)
            except ValueError:  # orjson.JSONDecodeError
                raise Unprocessable(f"stream_mode {item!r} is not a JSON list of stream modes") from None
            values += [str(v) for v in parsed]
        elif item:
            values.append(item)
    return frozenset(values) if values else None


def last_event_id(raw: str | None) -> int | None:
    """``Last-Event-ID`` as a sequence number: ``-1`` replays from the start (useStream sends it);
    an id this server never sent replays nothing (``None``: live events only)."""
    if raw is None or raw.strip() in ("", "-"):
        return None
    raw = raw.strip()
    if raw == "-1":
        return 0
    head = raw.split("-", 1)[0]
    return int(head) if head.isdigit() else None


@router.post("/threads/{thread_id}/runs/{run_id}/cancel", summary="Cancel a run")
async def cancel_run(
    api: ApiDep,
    thread_id: UUID,
    run_id: UUID,
    wait: bool = False,
    action: Literal["interrupt", "rollback"] = "interrupt",
) -> Response:
    """Stop a pending or running run: ``interrupt`` keeps its checkpoints, ``rollback`` undoes them."""
    run = await _run(api, thread_id, run_id)
    if not await api.manager.cancel(run, action):
        raise RunNotActive(run.run_id, run.status)
    if not wait:
        return Response(status_code=202)
    return await _wait_response(api, run, _locations(run, False, "join"), False)
