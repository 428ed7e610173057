"""Thread state: read (latest or at a checkpoint), update (``as_node``), and history."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Query
from langchain_core.runnables import RunnableConfig
from starlette.responses import Response

from sessiongraph.api.deps import Api, ApiDep
from sessiongraph.api.errors import Conflict, Unprocessable
from sessiongraph.api.response_models import ERRORS, StateUpdateResult, ThreadState
from sessiongraph.api.responses import JSON
from sessiongraph.api.run_errors import CheckpointNotFound
from sessiongraph.api.run_options import RunLimits
from sessiongraph.api.schemas import CheckpointRef, HistoryQuery, StateAtCheckpoint, StateUpdate
from sessiongraph.api.serialize import EMPTY_STATE, checkpoint_of, snapshot_json
from sessiongraph.sessions import thread_config

router = APIRouter(prefix="/threads/{thread_id}", tags=["state"], responses=ERRORS)


def _checkpoint_id(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        uuid.UUID(value)
    except ValueError:
        raise Unprocessable(f"checkpoint_id {value!r} is not a valid checkpoint id (a UUID)") from None
    return value


def _config(
    thread_id: str, ref: CheckpointRef | None = None, checkpoint_id: str | None = None
) -> RunnableConfig:
    config = thread_config(thread_id, _checkpoint_id(checkpoint_id or (ref.checkpoint_id if ref else None)))
    if ref is not None:
        config["configurable"]["checkpoint_ns"] = ref.checkpoint_ns
        if ref.checkpoint_map:
            config["configurable"]["checkpoint_map"] = ref.checkpoint_map
    return config


async def _state(api: Api, thread_id: str, config: RunnableConfig, subgraphs: bool) -> dict[str, Any]:
    await api.thread(thread_id)
    snapshot = await api.sessions.state_at(config, subgraphs=subgraphs)
    if snapshot.created_at is None:
        if checkpoint_id := config["configurable"].get("checkpoint_id"):
            raise CheckpointNotFound(checkpoint_id, thread_id)
        return {**EMPTY_STATE, "checkpoint": checkpoint_of(config)}
    return snapshot_json(snapshot)


@router.get("/state", summary="Get the thread's current state", response_model=ThreadState)
async def get_state(api: ApiDep, thread_id: UUID, subgraphs: bool = Query(default=False)) -> Response:
    """The latest ThreadState."""
    tid = str(thread_id)
    return JSON(await _state(api, tid, thread_config(tid), subgraphs))


@router.get(
    "/state/{checkpoint_id}", summary="Get the thread's state at a checkpoint", response_model=ThreadState
)
async def get_state_at(
    api: ApiDep, thread_id: UUID, checkpoint_id: str, subgraphs: bool = Query(default=False)
) -> Response:
    """The ThreadState at ``checkpoint_id``."""
    tid = str(thread_id)
    return JSON(await _state(api, tid, _config(tid, checkpoint_id=checkpoint_id), subgraphs))


@router.post(
    "/state/checkpoint", summary="Get the thread's state at a checkpoint (body)", response_model=ThreadState
)
async def post_state_at(
    api: ApiDep, thread_id: UUID, body: Annotated[StateAtCheckpoint | None, Body()] = None
) -> Response:
    """The ThreadState at ``checkpoint`` (the latest without a ``checkpoint_id``)."""
    body = body or StateAtCheckpoint()
    tid = str(thread_id)
    return JSON(await _state(api, tid, _config(tid, body.checkpoint), body.subgraphs))


@router.post("/state", summary="Update the thread's state", response_model=StateUpdateResult)
async def update_state(
    api: ApiDep, thread_id: UUID, body: Annotated[StateUpdate | None, Body()] = None
) -> Response:
    """Write ``values`` as if node ``as_node`` returned them; answers the new checkpoint."""
    body = body or StateUpdate()
    tid = str(thread_id)
    await api.thread(tid)
    if await api.manager.active_runs(tid):
        raise Conflict(f"thread {tid} has a run in progress; update its state once the run is over")
    RunLimits.from_settings(api.services.settings).check_update(body.values, "values")
    if body.as_node is not None and body.as_node not in api.sessions.node_names:
        raise Unprocessable(
            f"as_node {body.as_node!r} is not a node this update can come from; "
            f"use one of {sorted(api.sessions.node_names)} (or leave it out)"
        )
    config = _config(tid, body.checkpoint, body.checkpoint_id)
    try:
        updated = await api.sessions.update_state(config, body.values, as_node=body.as_node)
    except ValueError as exc:  # e.g. a checkpoint_ns naming no subgraph
        raise Unprocessable(f"the state update was refused: {exc}") from None
    checkpoint = checkpoint_of(updated)
    assert checkpoint is not None
    return JSON(
        {"checkpoint": checkpoint, "configurable": checkpoint, "checkpoint_id": checkpoint["checkpoint_id"]}
    )


async def _history(api: Api, tid: str, query: HistoryQuery) -> list[dict[str, Any]]:
    await api.thread(tid)
    config = thread_config(tid)
    if query.checkpoint:
        ref = query.checkpoint
        config["configurable"]["checkpoint_ns"] = ref.checkpoint_ns
        if ref.checkpoint_id is not None:
            config["configurable"]["checkpoint_id"] = _checkpoint_id(ref.checkpoint_id)
        if ref.checkpoint_map:
            config["configurable"]["checkpoint_map"] = ref.checkpoint_map
    snapshots = await api.sessions.get_history(
        tid,
        limit=query.limit,
        before=_checkpoint_id(query.before if isinstance(query.before, str) else None),
        config=config,
        metadata=query.metadata,
    )
    return [snapshot_json(s) for s in snapshots]


@router.post("/history", summary="List the thread's checkpoints", response_model=list[ThreadState])
async def post_history(
    api: ApiDep, thread_id: UUID, body: Annotated[HistoryQuery | None, Body()] = None
) -> Response:
    """ThreadStates, newest first."""
    return JSON(await _history(api, str(thread_id), body or HistoryQuery()))


@router.get("/history", summary="List the thread's checkpoints", response_model=list[ThreadState])
async def get_history(
    api: ApiDep, thread_id: UUID, limit: int = Query(default=10, ge=1, le=1000), before: str | None = None
) -> Response:
    """ThreadStates, newest first."""
    return JSON(await _history(api, str(thread_id), HistoryQuery(limit=limit, before=before)))
