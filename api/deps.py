"""What handlers receive through ``Depends``: the app's services and the authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from sessiongraph.api.assistant import AssistantDirectory
from sessiongraph.api.auth import Caller, authenticate
from sessiongraph.api.coordination import Coordination
from sessiongraph.api.cron_scheduler import CronScheduler
from sessiongraph.api.errors import Unauthorized, thread_not_found
from sessiongraph.api.metrics import Metrics
from sessiongraph.api.ratelimit import RateLimiter
from sessiongraph.api.run_create import RunStarter
from sessiongraph.api.run_manager import RunManager
from sessiongraph.api.thread_events import ThreadEventHub
from sessiongraph.checkpoints import ThreadInfo
from sessiongraph.sessions import Sessions
from sessiongraph.settings import Settings


@dataclass
class Services:
    """Everything the app opened at start-up (``app.state.services``)."""

    settings: Settings
    sessions: Sessions
    manager: RunManager
    metrics: Metrics
    limiter: RateLimiter
    coordination: Coordination
    assistants: AssistantDirectory
    runs: RunStarter
    crons: CronScheduler
    thread_events: ThreadEventHub
    auth_failures: RateLimiter
    """Failed authentications per client address (``Settings.auth_failure_limit``)."""


@dataclass
class Api:
    """One request's view: the services plus who is calling."""

    services: Services
    caller: Caller

    @property
    def sessions(self) -> Sessions:
        """The session facade."""
        return self.services.sessions

    @property
    def manager(self) -> RunManager:
        """The run manager."""
        return self.services.manager

    def visible(self, info: ThreadInfo | None) -> bool:
        """Whether the caller may see ``info`` (always, when auth is off)."""
        return info is not None and (self.caller.owner is None or info.owner == self.caller.owner)

    async def thread(self, thread_id: str) -> ThreadInfo:
        """The caller's thread, or 404 (also for other owners' threads)."""
        info = await self.sessions.find_thread(thread_id)
        if info is None or not self.visible(info):
            raise thread_not_found(thread_id)
        return info


def services(request: Request) -> Services:
    """The app's services."""
    return request.app.state.services


async def api(request: Request) -> Api:
    """Authenticate the caller and count the request against their rate limit."""
    svc: Services = request.app.state.services
    caller = await authenticated(request, svc)
    if svc.settings.api_keys or "rate_limit" in svc.settings.model_fields_set:
        # Without keys (loopback only) nobody is limited unless a limit was configured explicitly.
        await svc.limiter.hit(caller.key)
    return Api(svc, caller)


async def authenticated(request: HTTPConnection, svc: Services) -> Caller:
    """The caller; failed attempts count against the client address's limit, and once it is
    spent every attempt from there answers 429 (a right key too, or guessing could go on).
    ``request`` may be a WebSocket handshake."""
    if not svc.settings.api_keys:
        return authenticate(request, svc.settings.api_keys)
    client = f"ip:{request.client.host if request.client else 'local'}"
    await svc.auth_failures.check(client)
    try:
        return authenticate(request, svc.settings.api_keys)
    except Unauthorized:
        await svc.auth_failures.count(client)
        raise


ApiDep = Annotated[Api, Depends(api)]
