"""Thread state: read (latest or at a checkpoint), update (``as_node``), and history."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Query
from langchain_core.runnables import RunnableConfig
from starlette.responses import Response

from sessiongraph.api.deps import Api, ApiDep
from sessiongraph.api.errors import Conflict, NotFound, Unprocessable
from sessiongraph.api.schemas import CheckpointRef, HistoryQuery, StateAtCheckpoint, StateUpdate
from sessiongraph.api.serialize import EMPTY_STATE, checkpoint_of, dumps, snapshot_json
from sessiongraph.sessions import thread_config

router = APIRouter(prefix="/threads/{thread_id}", tags=["state"])


def _json(value: object) -> Response:
    return Response(dumps(value), media_type="application/json")


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
    snapshot = await api.sessions.graph.aget_state(config, subgraphs=subgraphs)
    if snapshot.created_at is None:
        if config["configurable"].get("checkpoint_id"):
            raise NotFound(
                f"checkpoint {config['configurable']['checkpoint_id']} not found in thread {thread_id}"
            )
        return {**EMPTY_STATE, "checkpoint": checkpoint_of(config)}
    return snapshot_json(snapshot)


@router.get("/state", summary="Get the thread's current state")
async def get_state(api: ApiDep, thread_id: UUID, subgraphs: bool = Query(default=False)) -> Response:
    """The latest ThreadState."""
    tid = str(thread_id)
    return _json(await _state(api, tid, thread_config(tid), subgraphs))


@router.get("/state/{checkpoint_id}", summary="Get the thread's state at a checkpoint")
async def get_state_at(
    api: ApiDep, thread_id: UUID, checkpoint_id: str, subgraphs: bool = Query(default=False)
) -> Response:
    """The ThreadState at ``checkpoint_id``."""
    tid = str(thread_id)
    return _json(await _state(api, tid, _config(tid, checkpoint_id=checkpoint_id), subgraphs))


@router.post("/state/checkpoint", summary="Get the thread's state at a checkpoint (body)")
async def post_state_at(
    api: ApiDep, thread_id: UUID, body: Annotated[StateAtCheckpoint | None, Body()] = None
) -> Response:
    """The ThreadState at ``checkpoint`` (the latest without a ``checkpoint_id``)."""
    body = body or StateAtCheckpoint()
    tid = str(thread_id)
    return _json(await _state(api, tid, _config(tid, body.checkpoint), body.subgraphs))


@router.post("/state", summary="Update the thread's state")
async def update_state(
    api: ApiDep, thread_id: UUID, body: Annotated[StateUpdate | None, Body()] = None
) -> Response:
    """Write ``values`` as if node ``as_node`` returned them; answers the new checkpoint."""
    body = body or StateUpdate()
    tid = str(thread_id)
    await api.thread(tid)
    if await api.manager.runs.active(tid):
        raise Conflict(f"thread {tid} has a run in progress; update its state once the run is over")
    config = _config(tid, body.checkpoint, body.checkpoint_id)
    new_config = await api.sessions.graph.aupdate_state(config, body.values, as_node=body.as_node)
    snapshot = await api.sessions.graph.aget_state(thread_config(tid))
    await api.sessions.backend.registry.set_status(tid, "interrupted" if snapshot.next else "idle")
    checkpoint = checkpoint_of(new_config)
    return _json(
        {"checkpoint": checkpoint, "configurable": checkpoint, "checkpoint_id": checkpoint["checkpoint_id"]}
    )  # type: ignore[index]


async def _history(api: Api, tid: str, query: HistoryQuery) -> list[dict[str, Any]]:
    await api.thread(tid)
    config = thread_config(tid)
    if query.checkpoint:
        config["configurable"].update({k: v for k, v in query.checkpoint.items() if v is not None})
        config["configurable"]["thread_id"] = tid
    before_id = _checkpoint_id(query.before)
    graph = api.sessions.graph
    if before_id and api.sessions.backend.kind == "redis":
        # AsyncRedisSaver ignores ``before`` for langgraph's uuid6 ids; checkpoint ids sort by
        # time, so filter here instead.
        out: list[dict[str, Any]] = []
        async for snap in graph.aget_state_history(config, filter=query.metadata):
            if snap.config["configurable"]["checkpoint_id"] < before_id:
                out.append(snapshot_json(snap))
                if len(out) >= query.limit:
                    break
        return out
    before = thread_config(tid, before_id) if before_id else None
    return [
        snapshot_json(s)
        async for s in graph.aget_state_history(
            config, filter=query.metadata, before=before, limit=query.limit
        )
    ]


@router.post("/history", summary="List the thread's checkpoints")
async def post_history(
    api: ApiDep, thread_id: UUID, body: Annotated[HistoryQuery | None, Body()] = None
) -> Response:
    """ThreadStates, newest first."""
    return _json(await _history(api, str(thread_id), body or HistoryQuery()))


@router.get("/history", summary="List the thread's checkpoints")
async def get_history(
    api: ApiDep, thread_id: UUID, limit: int = Query(default=10, ge=1, le=1000), before: str | None = None
) -> Response:
    """ThreadStates, newest first."""
    return _json(await _history(api, str(thread_id), HistoryQuery(limit=limit, before=before)))
