"""Assistants: the one system assistant per configured graph (read-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query
from starlette.responses import Response

from sessiongraph.api.deps import ApiDep
from sessiongraph.api.errors import NotFound, Unprocessable
from sessiongraph.api.response_models import ERRORS, Assistant, SelectedAssistant
from sessiongraph.api.responses import JSON
from sessiongraph.api.schemas import AssistantSearch

router = APIRouter(prefix="/assistants", tags=["assistants"], responses=ERRORS)

AssistantId = Annotated[
    str, Path(min_length=1, max_length=200, description="An assistant UUID or the graph id ('agent').")
]


@router.post("/search", summary="Search assistants", response_model=list[SelectedAssistant])
async def search(api: ApiDep, body: Annotated[AssistantSearch | None, Body()] = None) -> Response:
    """The assistants matching ``metadata``, ``graph_id`` and ``name``."""
    query = body or AssistantSearch()
    assistant = api.services.assistant
    if query.graph_id is not None and query.graph_id != assistant.graph_id:
        raise NotFound(f"graph {query.graph_id!r} not found; this server serves {assistant.graph_id!r}")
    found = [assistant.to_json()] if assistant.matches(query.metadata, query.graph_id, query.name) else []
    page = found[query.offset : query.offset + query.limit]
    if query.select:
        page = [{k: a[k] for k in query.select if k in a} for a in page]
    return JSON(page, headers={"X-Pagination-Total": str(len(found))})


@router.post("/count", summary="Count assistants", response_model=int)
async def count(api: ApiDep, body: Annotated[AssistantSearch | None, Body()] = None) -> Response:
    """How many assistants match."""
    query = body or AssistantSearch()
    assistant = api.services.assistant
    return JSON(int(assistant.matches(query.metadata, query.graph_id, query.name)))


@router.get("/{assistant_id}", summary="Get an assistant", response_model=Assistant)
async def get(api: ApiDep, assistant_id: AssistantId) -> Response:
    """The assistant (its UUID or the graph id)."""
    api.services.assistant.resolve(assistant_id)
    return JSON(api.services.assistant.to_json())


@router.get("/{assistant_id}/graph", summary="Get the assistant's graph")
async def graph(api: ApiDep, assistant_id: AssistantId, xray: str = Query(default="false")) -> Response:
    """Nodes and edges; ``xray`` (``true`` or a depth) includes subgraphs."""
    api.services.assistant.resolve(assistant_id)
    depth: bool | int
    if xray.lower() in ("true", "false"):
        depth = xray.lower() == "true"
    elif xray.isascii() and xray.isdigit() and len(xray) <= 3 and int(xray) > 0:
        depth = int(xray)
    else:
        raise Unprocessable("xray must be true, false or a positive integer")
    return JSON(api.services.assistant.drawing(depth))


@router.get("/{assistant_id}/schemas", summary="Get the assistant's schemas")
async def schemas(api: ApiDep, assistant_id: AssistantId) -> Response:
    """Input, output, state, config and context JSON schemas."""
    api.services.assistant.resolve(assistant_id)
    return JSON(api.services.assistant.schemas)


@router.get("/{assistant_id}/subgraphs", summary="Get the assistant's subgraphs")
async def subgraphs(api: ApiDep, assistant_id: AssistantId) -> Response:
    """The agent graph has no subgraphs: ``{}``."""
    api.services.assistant.resolve(assistant_id)
    return JSON({})
