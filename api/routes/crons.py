"""Crons: runs started on a schedule, on a thread or on a new thread each time."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body
from starlette.responses import Response

from sessiongraph.api.deps import Api, ApiDep
from sessiongraph.api.errors import BadRequest, Unprocessable
from sessiongraph.api.resource_schemas import CronCreate, CronPatch, CronSearch
from sessiongraph.api.response_models import ERRORS
from sessiongraph.api.responses import JSON
from sessiongraph.api.serialize import iso
from sessiongraph.checkpoints.crons import Cron, CronNotFound, CronQuery

router = APIRouter(tags=["crons"], responses=ERRORS)

_SCHEDULE_FIELDS = ("schedule", "timezone", "end_time", "enabled", "on_run_completed")
_PUBLIC = (
    "cron_id",
    "assistant_id",
    "thread_id",
    "on_run_completed",
    "end_time",
    "schedule",
    "timezone",
    "created_at",
    "updated_at",
    "payload",
    "user_id",
    "next_run_date",
    "metadata",
    "enabled",
)


def cron_json(cron: Cron) -> dict[str, Any]:
    """The Cron object (times as ISO 8601)."""
    out = {k: cron.get(k) for k in _PUBLIC}
    for key in ("end_time", "created_at", "updated_at", "next_run_date"):
        if isinstance(out[key], int | float):
            out[key] = iso(out[key])
    return out


def _timestamp(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Unprocessable(f"end_time {value!r} is not an ISO 8601 date-time") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()


async def _create(api: Api, thread_id: str | None, body: CronCreate) -> Response:
    assistant = await api.services.assistants.get(body.assistant_id)
    if thread_id is not None:
        await api.thread(thread_id)
    payload = body.model_dump(exclude_unset=True, exclude=set(_SCHEDULE_FIELDS), mode="json")
    payload["assistant_id"] = assistant["assistant_id"]
    cron = await api.sessions.crons.create(
        str(uuid.uuid4()),
        assistant_id=assistant["assistant_id"],
        schedule=body.schedule,
        payload=payload,
        thread_id=thread_id,
        metadata=body.metadata,
        end_time=_timestamp(body.end_time),
        enabled=body.enabled,
        timezone=body.timezone,
        on_run_completed=None if thread_id else (body.on_run_completed or "delete"),
        owner=api.caller.owner,
        now=api.services.crons.now(),
    )
    return JSON(cron_json(cron))


@router.post("/runs/crons", summary="Create a cron (a new thread per run)")
async def create(api: ApiDep, body: CronCreate) -> Response:
    """A schedule whose every run starts on a new thread."""
    return await _create(api, None, body)


@router.post("/threads/{thread_id}/runs/crons", summary="Create a cron on a thread")
async def create_for_thread(api: ApiDep, thread_id: UUID, body: CronCreate) -> Response:
    """A schedule whose runs continue the thread."""
    return await _create(api, str(thread_id), body)


async def _cron(api: Api, cron_id: UUID) -> Cron:
    cron = await api.sessions.crons.get(str(cron_id))
    if cron is None or (api.caller.owner is not None and cron.get("user_id") != api.caller.owner):
        raise CronNotFound(str(cron_id))
    return cron


@router.get("/runs/crons/{cron_id}", summary="Get a cron")
async def get(api: ApiDep, cron_id: UUID) -> Response:
    """The cron."""
    return JSON(cron_json(await _cron(api, cron_id)))


@router.patch("/runs/crons/{cron_id}", summary="Update a cron")
async def patch(api: ApiDep, cron_id: UUID, body: CronPatch) -> Response:
    """Schedule fields replace the cron's; run fields replace those of its run payload."""
    cron = await _cron(api, cron_id)
    given = body.model_dump(exclude_unset=True, mode="json")
    if not given:
        raise BadRequest("Request body cannot be empty")
    changes: dict[str, Any] = {k: given[k] for k in _SCHEDULE_FIELDS if k in given}
    if "end_time" in changes:
        changes["end_time"] = _timestamp(changes["end_time"])
    run_fields = {k: v for k, v in given.items() if k not in _SCHEDULE_FIELDS}
    if run_fields:
        changes["payload"] = run_fields
    if "metadata" in given:
        changes["metadata"] = given["metadata"]
    updated = await api.sessions.crons.update(cron["cron_id"], changes, now=api.services.crons.now())
    return JSON(cron_json(updated))


@router.delete("/runs/crons/{cron_id}", status_code=204, summary="Delete a cron")
async def delete(api: ApiDep, cron_id: UUID) -> Response:
    """Stop and forget the schedule."""
    cron = await _cron(api, cron_id)
    await api.sessions.crons.delete(cron["cron_id"])
    return Response(status_code=204)


def _query(api: Api, body: CronSearch) -> CronQuery:
    assistant_id = body.assistant_id
    if assistant_id == api.services.assistants.graph_id:
        assistant_id = api.services.assistants.assistant_id
    return CronQuery(
        assistant_id=assistant_id,
        thread_id=str(body.thread_id) if body.thread_id else None,
        enabled=body.enabled,
        metadata=body.metadata,
        owner=api.caller.owner,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by,
        sort_order=body.sort_order,
    )


@router.post("/runs/crons/search", summary="Search crons")
async def search(api: ApiDep, body: Annotated[CronSearch | None, Body()] = None) -> Response:
    """Crons matching the filters, sorted and paged."""
    body = body or CronSearch()
    found = [cron_json(c) for c in await api.sessions.crons.search(_query(api, body))]
    if body.select:
        found = [{k: c[k] for k in body.select if k in c} for c in found]
    return JSON(found)


@router.post("/runs/crons/count", summary="Count crons")
async def count(api: ApiDep, body: Annotated[CronSearch | None, Body()] = None) -> Response:
    """How many crons match."""
    return JSON(await api.sessions.crons.count(_query(api, body or CronSearch())))
