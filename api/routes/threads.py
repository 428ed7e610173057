"""Threads: create, read, update, delete, search, count, prune and stats (scoped to the caller's owner)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from sessiongraph.api.deps import Api, ApiDep
from sessiongraph.api.errors import thread_exists
from sessiongraph.api.response_models import ERRORS, PruneResult, SelectedThread, Thread
from sessiongraph.api.responses import JSON
from sessiongraph.api.schemas import ThreadCount, ThreadCreate, ThreadPatch, ThreadPrune, ThreadSearch
from sessiongraph.api.serialize import dumps, thread_json, ttl_json
from sessiongraph.checkpoints import ThreadInfo, ThreadQuery, ThreadStats

router = APIRouter(prefix="/threads", tags=["threads"], responses=ERRORS)


async def thread_view(api: Api, info: ThreadInfo, *, with_values: bool = True) -> dict[str, Any]:
    """The Thread object: registry record + latest values, pending interrupts and last error."""
    values = None
    interrupts: dict[str, list[Any]] = {}
    if info.status == "interrupted":
        state = await api.sessions.get_state(info.thread_id)
        values = state.values
        interrupts = {t.id: list(t.interrupts) for t in state.tasks if t.interrupts}
    elif with_values:
        values = await api.sessions.latest_values(info.thread_id)
    error = await api.manager.last_error(info.thread_id) if info.status == "error" else None
    return thread_json(info, values=values, interrupts=interrupts, error=error)


@router.post("", summary="Create a thread", response_model=Thread)
async def create(api: ApiDep, body: Annotated[ThreadCreate | None, Body()] = None) -> Response:
    """A new thread owned by the caller (``if_exists='do_nothing'`` returns the caller's existing one).

    A taken id answers 409 with the same detail whoever owns the thread, as the reference server
    does: the answer never says whose it is (ids are random UUIDs, so existence is all it shows).
    """
    body = body or ThreadCreate()
    thread_id = str(body.thread_id or uuid.uuid4())
    existing = await api.sessions.find_thread(thread_id)
    if existing is not None:
        if body.if_exists == "raise" or not api.visible(existing):
            raise thread_exists(thread_id)
        return JSON(await thread_view(api, existing))
    info = await api.sessions.create_thread(
        thread_id,
        metadata=body.metadata,
        owner=api.caller.owner,
        ttl_minutes=body.ttl.ttl if body.ttl else None,
        if_exists="do_nothing",
    )
    if not api.visible(info):  # another owner created it in the meantime
        raise thread_exists(thread_id)
    return JSON(thread_json(info))


@router.post("/search", summary="Search threads", response_model=list[SelectedThread])
async def search(api: ApiDep, body: Annotated[ThreadSearch | None, Body()] = None) -> Response:
    """The caller's threads matching metadata, status and ids, sorted and paged."""
    body = body or ThreadSearch()
    sort_by = "updated_at" if body.sort_by == "state_updated_at" else body.sort_by
    query = ThreadQuery(
        metadata=body.metadata,
        status=body.status,
        owner=api.caller.owner,
        thread_ids=[str(i) for i in body.ids] if body.ids is not None else None,
        sort_by=sort_by,
        sort_order=body.sort_order,
        limit=body.limit if not body.values else 2**31,
        offset=body.offset if not body.values else 0,
    )
    infos = await api.sessions.search_threads(query)
    views = [await thread_view(api, info) for info in infos]
    if body.values:
        views = [v for v in views if _contains(v["values"] or {}, body.values)]
        total = len(views)
        views = views[body.offset : body.offset + body.limit]
    else:
        total = await api.sessions.count_threads(query)
    if body.select:
        views = [{k: v[k] for k in body.select if k in v} for v in views]
    headers = {"X-Pagination-Total": str(total)}
    if body.offset + len(views) < total:
        headers["X-Pagination-Next"] = str(body.offset + len(views))
    return JSON(views, headers=headers)


@router.post("/count", summary="Count threads", response_model=int)
async def count(api: ApiDep, body: Annotated[ThreadCount | None, Body()] = None) -> Response:
    """How many of the caller's threads match."""
    body = body or ThreadCount()
    query = ThreadQuery(metadata=body.metadata, status=body.status, owner=api.caller.owner)
    return JSON(await api.sessions.count_threads(query))


@router.post("/prune", summary="Prune threads", response_model=PruneResult)
async def prune(api: ApiDep, body: ThreadPrune) -> Response:
    """``delete`` removes the threads; ``keep_latest`` keeps only their newest checkpoint(s).

    ``keep_latest`` keeps ``Settings.checkpoint_keep_latest`` checkpoints (1 when unset): the
    state, the summary and a pending interrupt stay, older history goes. Ids the caller may not
    see (unknown, or another owner's) are skipped, as are threads with a pending or running run
    (no 409: the prune of the others still happens). ``pruned_count`` counts the pruned threads.
    """
    keep = api.services.settings.checkpoint_keep_latest or 1
    ids = [str(i) for i in body.thread_ids]
    visible = [t for t in dict.fromkeys(ids) if api.visible(await api.sessions.find_thread(t))]
    return JSON({"pruned_count": await api.manager.prune_threads(visible, body.strategy, keep)})


@router.get("/{thread_id}", summary="Get a thread", response_model=Thread)
async def get(
    api: ApiDep,
    thread_id: UUID,
    include: Annotated[str | None, Query(description="Extra fields, comma-separated: ttl.")] = None,
) -> Response:
    """The thread with its latest values (and its ``ttl`` with ``?include=ttl``)."""
    info = await api.thread(str(thread_id))
    view = await thread_view(api, info)
    if "ttl" in {part.strip() for part in (include or "").split(",")} and info.ttl_minutes is not None:
        view["ttl"] = ttl_json(info)
    return JSON(view)


@router.get("/{thread_id}/stats", summary="Size of a thread", response_model=ThreadStats)
async def stats(api: ApiDep, thread_id: UUID) -> Response:
    """Messages and prompt tokens against the summarization budget, checkpoints and bytes stored."""
    info = await api.thread(str(thread_id))
    return JSON((await api.sessions.thread_stats(info.thread_id)).to_dict())


@router.patch("/{thread_id}", summary="Update a thread's metadata or TTL", response_model=Thread)
async def patch(api: ApiDep, thread_id: UUID, body: Annotated[ThreadPatch | None, Body()] = None) -> Response:
    """Merge ``metadata`` into the thread's metadata; ``ttl`` sets its TTL (``null`` removes it)."""
    info = await api.thread(str(thread_id))
    body = body or ThreadPatch()
    if body.metadata:
        info = await api.sessions.update_thread(info.thread_id, body.metadata)
    if "ttl" in body.model_fields_set:
        info = await api.sessions.set_thread_ttl(info.thread_id, body.ttl.ttl if body.ttl else None)
    return JSON(await thread_view(api, info))


@router.delete("/{thread_id}", status_code=204, summary="Delete a thread")
async def delete(api: ApiDep, thread_id: UUID) -> Response:
    """Cancel its runs, then delete the thread and all its checkpoints."""
    info = await api.thread(str(thread_id))
    await api.manager.delete_thread(info.thread_id)
    return Response(status_code=204)


def _contains(values: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(k in values and dumps(values[k]) == dumps(v) for k, v in wanted.items())
