"""The Conversations API, backed by threads: ``/v1/conversations`` create, get, update, delete,
and ``/v1/conversations/{id}/items`` (the thread's user and assistant messages)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from sessiongraph.api.deps import Api, ApiDep
from sessiongraph.api.doors.openai_errors import OpenAIError
from sessiongraph.api.doors.openai_schemas import ConversationCreate, ConversationUpdate
from sessiongraph.api.doors.responses_objects import conversation_items
from sessiongraph.api.doors.turns import caller_thread, new_thread, thread_uuid
from sessiongraph.api.responses import JSON
from sessiongraph.api.serialize import dumps, loads
from sessiongraph.checkpoints import ThreadInfo

router = APIRouter(prefix="/v1/conversations", tags=["openai"])


def _conversation(info: ThreadInfo) -> dict[str, Any]:
    metadata = {k: v for k, v in info.metadata.items() if isinstance(v, str)}
    return {
        "id": info.thread_id,
        "object": "conversation",
        "created_at": int(info.created_at),
        "metadata": metadata,
    }


async def _thread(api: Api, conversation_id: str) -> ThreadInfo:
    return await caller_thread(api, thread_uuid(conversation_id, "conversation"))


@router.post("", summary="Create a conversation (a thread)")
async def create(api: ApiDep, body: Annotated[ConversationCreate | None, Body()] = None) -> Response:
    """A new thread owned by the caller; its id is the conversation id (and the thread id)."""
    body = body or ConversationCreate()
    if body.items:
        raise OpenAIError(
            400,
            "items are not accepted on create: send them as the input of the first response",
            param="items",
        )
    return JSON(_conversation(await new_thread(api, body.metadata)))


@router.get("/{conversation_id}", summary="Get a conversation")
async def get(api: ApiDep, conversation_id: str) -> Response:
    """The conversation."""
    return JSON(_conversation(await _thread(api, conversation_id)))


@router.post("/{conversation_id}", summary="Update a conversation's metadata")
async def update(api: ApiDep, conversation_id: str, body: ConversationUpdate) -> Response:
    """Merge ``metadata`` into the thread's metadata."""
    info = await _thread(api, conversation_id)
    return JSON(_conversation(await api.sessions.update_thread(info.thread_id, body.metadata)))


@router.delete("/{conversation_id}", summary="Delete a conversation")
async def delete(api: ApiDep, conversation_id: str) -> Response:
    """Delete the thread (its runs are cancelled first)."""
    info = await _thread(api, conversation_id)
    await api.manager.delete_thread(info.thread_id)
    return JSON({"id": info.thread_id, "object": "conversation.deleted", "deleted": True})


@router.get("/{conversation_id}/items", summary="List a conversation's items")
async def items(
    api: ApiDep,
    conversation_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
) -> Response:
    """The thread's messages as ``message`` items, newest first unless ``order=asc``."""
    info = await _thread(api, conversation_id)
    values = loads(dumps(await api.sessions.latest_values(info.thread_id) or {}))
    found = conversation_items(values.get("messages") or [])
    if order == "desc":
        found.reverse()
    if after is not None:
        ids = [item["id"] for item in found]
        found = found[ids.index(after) + 1 :] if after in ids else []
    page = found[:limit]
    return JSON(
        {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(found) > limit,
        }
    )
