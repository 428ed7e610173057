"""The long-term store (memory shared across threads): items by namespace and key, search and
namespaces, through the backend's LangGraph store (the same one nodes read as ``runtime.store``).

Namespaces starting with ``__sessiongraph__`` hold the server's own documents and are hidden.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from sessiongraph.api.deps import ApiDep
from sessiongraph.api.errors import Unprocessable
from sessiongraph.api.resource_schemas import StoreDelete, StoreNamespaces, StorePut, StoreSearch
from sessiongraph.api.response_models import ERRORS
from sessiongraph.api.responses import JSON
from sessiongraph.checkpoints.documents import RESERVED_NAMESPACE

router = APIRouter(prefix="/store", tags=["store"], responses=ERRORS)


def _namespace(labels: list[str] | tuple[str, ...], *, allow_empty: bool = True) -> tuple[str, ...]:
    """Labels are non-empty strings without periods; the reserved root is off limits."""
    if not labels and not allow_empty:
        raise Unprocessable("namespace must have at least one label")
    for label in labels:
        if not label or "." in label:
            raise Unprocessable(f"Namespace label {label!r} must be a non-empty string without periods")
    if labels and labels[0] == RESERVED_NAMESPACE:
        raise Unprocessable(f"the namespace {RESERVED_NAMESPACE!r} is reserved for the server")
    return tuple(labels)


def _item(item: Any) -> dict[str, Any]:
    return dict(item.dict())


@router.put("/items", status_code=204, summary="Store or update an item")
async def put_item(api: ApiDep, body: StorePut) -> Response:
    """Write ``value`` at ``namespace``/``key`` (``ttl`` in minutes, where the store supports it)."""
    namespace = _namespace(body.namespace, allow_empty=False)
    kwargs: dict[str, Any] = {"ttl": body.ttl} if body.ttl is not None else {}
    if body.index is not None:
        kwargs["index"] = body.index
    await api.sessions.store.aput(namespace, body.key, body.value, **kwargs)
    return Response(status_code=204)


@router.get("/items", summary="Get an item")
async def get_item(
    api: ApiDep,
    key: str,
    namespace: Annotated[str, Query(description="Labels joined by periods.")] = "",
    refresh_ttl: bool | None = None,
) -> Response:
    """The item, or ``null`` when there is none."""
    labels = _namespace(tuple(namespace.split(".")) if namespace else ())
    item = await api.sessions.store.aget(labels, key, refresh_ttl=refresh_ttl)
    return JSON(_item(item) if item is not None else None)


@router.delete("/items", status_code=204, summary="Delete an item")
async def delete_item(api: ApiDep, body: StoreDelete) -> Response:
    """Remove the item (nothing happens when there is none)."""
    await api.sessions.store.adelete(_namespace(body.namespace), body.key)
    return Response(status_code=204)


@router.post("/items/search", summary="Search items")
async def search_items(api: ApiDep, body: Annotated[StoreSearch | None, Body()] = None) -> Response:
    """Items under ``namespace_prefix`` matching ``filter`` (and ``query`` where the store has an index)."""
    body = body or StoreSearch()
    prefix = _namespace(body.namespace_prefix)
    items = await api.sessions.store.asearch(
        prefix,
        query=body.query,
        filter=body.filter,
        limit=body.limit + (0 if prefix else body.limit),
        offset=body.offset,
        refresh_ttl=body.refresh_ttl,
    )
    visible = [i for i in items if not i.namespace or i.namespace[0] != RESERVED_NAMESPACE]
    return JSON({"items": [_item(i) for i in visible[: body.limit]]})


@router.post("/namespaces", summary="List namespaces")
async def list_namespaces(api: ApiDep, body: Annotated[StoreNamespaces | None, Body()] = None) -> Response:
    """Namespaces matching ``prefix``/``suffix``, truncated to ``max_depth`` labels."""
    body = body or StoreNamespaces()
    prefix = _namespace(body.prefix) if body.prefix else None
    suffix = _namespace(body.suffix) if body.suffix else None
    found = await api.sessions.store.alist_namespaces(
        prefix=prefix, suffix=suffix, max_depth=body.max_depth, limit=body.limit + 8, offset=body.offset
    )
    visible = [list(ns) for ns in found if not ns or ns[0] != RESERVED_NAMESPACE]
    return JSON({"namespaces": visible[: body.limit]})
