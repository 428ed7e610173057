"""Starting runs from request bodies: the one path for run endpoints, batches and crons.

Resolves the assistant (its context and config become the run's defaults), the thread (created
for stateless runs and for ``if_not_exists='create'``), checks the per-assistant rate limit, and
hands a :class:`RunPlan` to the run manager.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sessiongraph.api.assistant import AssistantDirectory
from sessiongraph.api.coordination import RunRecord
from sessiongraph.api.errors import thread_not_found
from sessiongraph.api.executor import RunPlan
from sessiongraph.api.ratelimit import RateLimiter
from sessiongraph.api.run_manager import RunManager
from sessiongraph.api.run_options import RunLimits
from sessiongraph.api.run_plan import build_plan, reject_stateless_resume, run_kwargs
from sessiongraph.api.schemas import RunCreate
from sessiongraph.checkpoints import ThreadInfo
from sessiongraph.sessions import Sessions


class RunStarter:
    """Creates runs for a caller (``owner``; ``None`` when auth is off)."""

    def __init__(
        self,
        sessions: Sessions,
        manager: RunManager,
        assistants: AssistantDirectory,
        assistant_limits: dict[str, RateLimiter] | None = None,
    ) -> None:
        self.sessions = sessions
        self.manager = manager
        self.assistants = assistants
        self.assistant_limits = assistant_limits or {}

    async def _thread(self, owner: str | None, thread_id: str, body: RunCreate) -> ThreadInfo:
        info = await self.sessions.find_thread(thread_id)
        if info is None and body.if_not_exists == "create":
            info = await self.sessions.create_thread(thread_id, owner=owner, if_exists="do_nothing")
        if info is None or (owner is not None and info.owner != owner):
            raise thread_not_found(thread_id)
        return info

    async def start(
        self,
        owner: str | None,
        thread_id: str | None,
        body: RunCreate,
        *,
        caller_key: str | None = None,
        extra_metadata: dict[str, Any] | None = None,
    ) -> RunRecord:
        """Admit a run of ``body`` on ``thread_id`` (``None``: a new temporary thread, deleted
        again when the run is refused)."""
        if thread_id is None:
            reject_stateless_resume(body)
        prepared = await self._prepare(body, owner, caller_key, extra_metadata)
        if thread_id is not None:
            return await self._admit(await self._thread(owner, thread_id, body), body, prepared)
        info = await self.sessions.create_thread(str(uuid.uuid4()), owner=owner)
        try:
            return await self._admit(info, body, prepared, temporary=body.on_completion == "delete")
        except Exception:
            await self.sessions.delete_thread(info.thread_id)
            raise

    async def start_on(
        self,
        info: ThreadInfo,
        body: RunCreate,
        *,
        temporary: bool = False,
        caller_key: str | None = None,
        extra_metadata: dict[str, Any] | None = None,
    ) -> RunRecord:
        """Admit a run of ``body`` on a thread the caller may use (``temporary``: the thread is
        deleted once the run is over). Every door (Agent Server runs, batches, crons, OpenAI, A2A,
        WebSocket) starts its runs here or in :meth:`start`."""
        prepared = await self._prepare(body, info.owner, caller_key, extra_metadata)
        return await self._admit(info, body, prepared, temporary=temporary)

    async def _prepare(
        self,
        body: RunCreate,
        owner: str | None,
        caller_key: str | None,
        extra_metadata: dict[str, Any] | None,
    ) -> _Prepared:
        """Everything that can refuse the body, checked before anything is written."""
        assistant = await self.assistants.get(body.assistant_id)
        assistant_id = assistant["assistant_id"]
        limiter = self.assistant_limits.get(assistant_id)
        if limiter is not None:
            await limiter.hit(f"{assistant_id}:{caller_key or owner}")
        plan = build_plan(
            body,
            lambda ctx: self.sessions.context(ctx, strict=False),
            RunLimits.from_settings(self.sessions.settings),
            self.sessions.node_names,
            assistant_config=assistant.get("config") or {},
            assistant_context=assistant.get("context") or {},
        )
        graph_id = assistant["graph_id"]
        metadata = {
            **(body.metadata or {}),
            **(extra_metadata or {}),
            "assistant_id": assistant_id,
            "graph_id": graph_id,
        }
        plan.config.setdefault("metadata", {}).update(graph_id=graph_id, user_id=owner)
        return _Prepared(assistant_id, plan, metadata)

    async def _admit(
        self, info: ThreadInfo, body: RunCreate, prepared: _Prepared, *, temporary: bool = False
    ) -> RunRecord:
        return await self.manager.start(
            info,
            prepared.plan,
            assistant_id=prepared.assistant_id,
            metadata=prepared.metadata,
            kwargs=run_kwargs(body, prepared.plan),
            multitask_strategy=body.multitask_strategy,
            temporary=temporary,
        )


@dataclass
class _Prepared:
    assistant_id: str
    plan: RunPlan
    metadata: dict[str, Any]
