"""``POST /threads/{id}/copy`` and ``GET /threads/{id}/stream`` (join whatever runs on the thread)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from sessiongraph.api.coordination import StreamEvent, Subscription
from sessiongraph.api.deps import ApiDep
from sessiongraph.api.response_models import ERRORS, SSE, Thread
from sessiongraph.api.responses import JSON
from sessiongraph.api.routes.runs import last_event_id
from sessiongraph.api.routes.threads import thread_view
from sessiongraph.api.run_manager import RunManager
from sessiongraph.api.sse import sse_response

router = APIRouter(prefix="/threads", tags=["threads"], responses=ERRORS)


@router.post("/{thread_id}/copy", summary="Copy a thread", response_model=Thread)
async def copy(api: ApiDep, thread_id: UUID) -> Response:
    """A new thread with the same metadata and a copy of every checkpoint."""
    info = await api.thread(str(thread_id))
    copied = await api.sessions.copy_thread(info.thread_id, owner=api.caller.owner)
    return JSON(await thread_view(api, copied))


class _ThreadRuns(Subscription):
    """The events of the thread's active runs, one run after the other, until none is left."""

    def __init__(self, manager: RunManager, thread_id: str, last: int | None) -> None:
        self.manager = manager
        self.thread_id = thread_id
        self.last = last
        self._current: Subscription | None = None

    async def __aiter__(self) -> AsyncIterator[StreamEvent | None]:
        seen: set[str] = set()
        while True:
            pending = [r for r in await self.manager.active_runs(self.thread_id) if r.run_id not in seen]
            if not pending:
                return
            run = pending[0]
            seen.add(run.run_id)
            self._current = await self.manager.subscribe(run.run_id, self.last if len(seen) == 1 else 0)
            async for item in self._current:
                yield item
            self._current = None

    async def aclose(self) -> None:
        if self._current is not None:
            await self._current.aclose()


@router.get("/{thread_id}/stream", summary="Join the thread's runs (SSE)", responses=SSE)
async def join_thread_stream(
    api: ApiDep,
    thread_id: UUID,
    stream_mode: Annotated[list[str] | None, Query()] = None,
    last_event_id_header: str | None = Header(default=None, alias="last-event-id"),
) -> Response:
    """Events of the runs pending or running on the thread, in order, until none is left."""
    info = await api.thread(str(thread_id))
    modes = frozenset(m for m in (stream_mode or []) if m != "run_modes") or None
    subscription = _ThreadRuns(api.manager, info.thread_id, last_event_id(last_event_id_header))
    return sse_response(subscription, heartbeat_s=api.services.settings.heartbeat_s, modes=modes)
