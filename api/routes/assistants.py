"""Assistants: persisted, versioned (the system assistant of the graph, declared ones, and those
created over the API)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from starlette.responses import Response

from sessiongraph.api.assistant import assistant_json, require_uuid
from sessiongraph.api.deps import Api, ApiDep
from sessiongraph.api.errors import BadRequest, Unprocessable
from sessiongraph.api.resource_schemas import (
    AssistantCreate,
    AssistantLatest,
    AssistantPatch,
    AssistantSearch,
    AssistantVersions,
)
from sessiongraph.api.response_models import ERRORS, Assistant
from sessiongraph.api.responses import JSON
from sessiongraph.checkpoints import ThreadQuery
from sessiongraph.checkpoints.assistants import AssistantQuery

router = APIRouter(prefix="/assistants", tags=["assistants"], responses=ERRORS)

AssistantId = Annotated[
    str, Path(min_length=1, max_length=200, description="An assistant UUID or the graph id ('agent').")
]


def _config_and_context(
    config: dict[str, Any] | None, context: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The reference's rule: ``configurable`` and ``context`` mirror each other; not both."""
    configurable = (config or {}).get("configurable")
    if configurable and context:
        raise BadRequest("Cannot specify both configurable and context. Prefer setting context alone.")
    if configurable:
        context = dict(configurable)
    elif context and config is not None:
        config = {**config, "configurable": dict(context)}
    return config, context


def _check_context(api: Api, context: dict[str, Any] | None) -> None:
    """A wrong type of a known context key is a 422 now, not a failed run later."""
    if context:
        try:
            api.sessions.context(context, strict=False)
        except (ValueError, TypeError) as exc:
            raise Unprocessable(f"context: {exc}") from None


@router.post("", summary="Create an assistant", response_model=Assistant)
async def create(api: ApiDep, body: AssistantCreate) -> Response:
    """A new assistant of ``graph_id`` (``if_exists='do_nothing'`` returns an existing one)."""
    directory = api.services.assistants
    directory.check_graph(body.graph_id)
    config, context = _config_and_context(body.config, body.context)
    _check_context(api, context)
    created = await api.sessions.assistants.create(
        str(body.assistant_id or uuid.uuid4()),
        graph_id=body.graph_id,
        config=config,
        context=context,
        metadata=body.metadata,
        name=body.name,
        description=body.description,
        if_exists=body.if_exists,
    )
    return JSON(assistant_json(created))


def _query(body: AssistantSearch) -> AssistantQuery:
    return AssistantQuery(
        graph_id=body.graph_id,
        name=body.name,
        metadata=body.metadata,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by,
        sort_order=body.sort_order,
    )


@router.post("/search", summary="Search assistants", response_model=list[Assistant])
async def search(api: ApiDep, body: Annotated[AssistantSearch | None, Body()] = None) -> Response:
    """The assistants matching ``metadata``, ``graph_id`` and ``name``, sorted and paged."""
    body = body or AssistantSearch()
    api.services.assistants.check_graph(body.graph_id)
    query = _query(body)
    found = [assistant_json(a) for a in await api.sessions.assistants.search(query)]
    total = await api.sessions.assistants.count(query)
    if body.select:
        found = [{k: a[k] for k in body.select if k in a} for a in found]
    headers = {"X-Pagination-Total": str(total)}
    if body.offset + len(found) < total:
        headers["X-Pagination-Next"] = str(body.offset + len(found))
    return JSON(found, headers=headers)


@router.post("/count", summary="Count assistants", response_model=int)
async def count(api: ApiDep, body: Annotated[AssistantSearch | None, Body()] = None) -> Response:
    """How many assistants match."""
    body = body or AssistantSearch()
    api.services.assistants.check_graph(body.graph_id)
    return JSON(await api.sessions.assistants.count(_query(body)))


@router.get("/{assistant_id}", summary="Get an assistant", response_model=Assistant)
async def get(api: ApiDep, assistant_id: AssistantId) -> Response:
    """The assistant (its UUID, or the graph id for the system assistant)."""
    return JSON(assistant_json(await api.services.assistants.get(assistant_id)))


@router.patch("/{assistant_id}", summary="Update an assistant (a new version)", response_model=Assistant)
async def patch(api: ApiDep, assistant_id: AssistantId, body: AssistantPatch) -> Response:
    """Given fields replace the current ones, ``metadata`` is merged; the result is a new version."""
    current = await api.services.assistants.get(assistant_id)
    api.services.assistants.check_graph(body.graph_id)
    config, context = _config_and_context(body.config, body.context)
    _check_context(api, context)
    updated = await api.sessions.assistants.update(
        current["assistant_id"],
        graph_id=body.graph_id,
        config=config,
        context=context,
        metadata=body.metadata,
        name=body.name,
        description=body.description,
    )
    return JSON(assistant_json(updated))


@router.delete("/{assistant_id}", status_code=204, summary="Delete an assistant")
async def delete(api: ApiDep, assistant_id: AssistantId, delete_threads: bool = False) -> Response:
    """Interrupt its runs, delete it with its versions and crons (``delete_threads``: and its threads)."""
    aid = (await api.services.assistants.get(assistant_id))["assistant_id"]
    busy = ThreadQuery(status="busy", owner=api.caller.owner, limit=2**31)
    for info in await api.sessions.search_threads(busy):
        for run in await api.manager.active_runs(info.thread_id):
            if run.assistant_id == aid:
                await api.manager.cancel(run, "interrupt")
    await api.sessions.assistants.delete(aid)
    await api.services.crons.forget_assistant(aid)
    if delete_threads:
        query = ThreadQuery(metadata={"assistant_id": aid}, owner=api.caller.owner, limit=2**31)
        for info in await api.sessions.search_threads(query):
            await api.manager.delete_thread(info.thread_id)
    return Response(status_code=204)


@router.post(
    "/{assistant_id}/versions", summary="List an assistant's versions", response_model=list[Assistant]
)
async def versions(
    api: ApiDep, assistant_id: AssistantId, body: Annotated[AssistantVersions | None, Body()] = None
) -> Response:
    """Every version, newest first."""
    body = body or AssistantVersions()
    aid = (
        require_uuid(assistant_id)
        if assistant_id != api.services.assistants.graph_id
        else (api.services.assistants.assistant_id)
    )
    found = await api.sessions.assistants.versions(
        aid, metadata=body.metadata, limit=body.limit, offset=body.offset
    )
    return JSON([assistant_json(v) for v in found])


@router.post("/{assistant_id}/latest", summary="Make a version current", response_model=Assistant)
async def latest(api: ApiDep, assistant_id: AssistantId, body: AssistantLatest) -> Response:
    """Roll the assistant to ``version``."""
    current = await api.services.assistants.get(assistant_id)
    return JSON(
        assistant_json(await api.sessions.assistants.set_latest(current["assistant_id"], body.version))
    )


@router.get("/{assistant_id}/graph", summary="Get the assistant's graph")
async def graph(api: ApiDep, assistant_id: AssistantId, xray: str = Query(default="false")) -> Response:
    """Nodes and edges; ``xray`` (``true`` or a depth) includes subgraphs."""
    await api.services.assistants.get(assistant_id)
    depth: bool | int
    if xray.lower() in ("true", "false"):
        depth = xray.lower() == "true"
    elif xray.isascii() and xray.isdigit() and len(xray) <= 3 and int(xray) > 0:
        depth = int(xray)
    else:
        raise Unprocessable("xray must be true, false or a positive integer")
    return JSON(api.services.assistants.drawing(depth))


@router.get("/{assistant_id}/schemas", summary="Get the assistant's schemas")
async def schemas(api: ApiDep, assistant_id: AssistantId) -> Response:
    """Input, output, state, config and context JSON schemas."""
    found = await api.services.assistants.get(assistant_id)
    return JSON({"graph_id": found["graph_id"], **api.services.assistants.schemas})


@router.get("/{assistant_id}/subgraphs", summary="Get the assistant's subgraphs")
async def subgraphs(api: ApiDep, assistant_id: AssistantId, recurse: bool = False) -> Response:
    """Schemas of the graph's subgraphs by namespace (``{}`` for the agent graph)."""
    await api.services.assistants.get(assistant_id)
    return JSON(await api.sessions.subgraph_schemas(None, recurse))


@router.get("/{assistant_id}/subgraphs/{namespace}", summary="Get one subgraph of the assistant")
async def subgraph(api: ApiDep, assistant_id: AssistantId, namespace: str, recurse: bool = False) -> Response:
    """The subgraph at ``namespace`` (``{}`` when there is none)."""
    await api.services.assistants.get(assistant_id)
    return JSON(await api.sessions.subgraph_schemas(namespace, recurse))
