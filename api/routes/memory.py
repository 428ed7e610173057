"""A thread's long-term memory: what recall would bring back, and pinning (scoped to the caller)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from sessiongraph.api.deps import ApiDep
from sessiongraph.api.response_models import ERRORS, MemoryPinModel, MemoryView
from sessiongraph.api.responses import JSON
from sessiongraph.api.schemas import MemoryPin

router = APIRouter(prefix="/threads", tags=["memory"], responses=ERRORS)


@router.get("/{thread_id}/memory", summary="What recall would bring back", response_model=MemoryView)
async def recall(
    api: ApiDep,
    thread_id: UUID,
    query: Annotated[str, Query(min_length=1, description="The new message recall would answer.")],
    limit: Annotated[int | None, Query(ge=0, le=50, description="Passages (default: the context's).")] = None,
) -> Response:
    """The pinned facts and the archived passages the next turn's prompt would get for ``query``,
    with the mode (``semantic``: by meaning; ``recency``: newest first, the store has no index)."""
    info = await api.thread(str(thread_id))
    memory = await api.sessions.recall(info.thread_id, query, limit=limit)
    return JSON({"thread_id": info.thread_id, "query": query, **memory})


@router.post(
    "/{thread_id}/memory/pins",
    status_code=201,
    summary="Pin a message or a fact",
    response_model=MemoryPinModel,
)
async def pin(api: ApiDep, thread_id: UUID, body: Annotated[MemoryPin, Body()]) -> Response:
    """Keep a message (by ``message_id``, in the conversation or already summarized away) or a fact
    (``text``) verbatim in every later prompt of the thread; summarization never drops it."""
    info = await api.thread(str(thread_id))
    pinned = await api.sessions.pin(info.thread_id, message_id=body.message_id, text=body.text)
    return JSON(pinned, status_code=201)
