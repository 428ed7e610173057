"""The cron scheduler: every ``tick_s`` it starts the runs of the crons that are due.

Schedules live in the backend (:class:`~sessiongraph.checkpoints.crons.CronRegistry`), so they
survive restarts; each due tick is claimed in the backend before its run starts, so with several
replicas on one backend exactly one fires it. The clock is injectable (tests move it forward
instead of waiting for the wall clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from sessiongraph.api.run_create import RunStarter
from sessiongraph.api.schemas import RunCreate
from sessiongraph.checkpoints.crons import Cron, CronQuery, CronRegistry

log = logging.getLogger("sessiongraph.api.crons")

Clock = Callable[[], float]


class CronScheduler:
    """Fires due crons through the :class:`RunStarter` (see the module docstring)."""

    def __init__(
        self, crons: CronRegistry, runs: RunStarter, *, tick_s: float, clock: Clock | None = None
    ) -> None:
        self.crons = crons
        self.runs = runs
        self.tick_s = tick_s
        self.clock: Clock = clock or time.time
        self._task: asyncio.Task[None] | None = None

    def now(self) -> float:
        """The scheduler's current time (UNIX seconds)."""
        return self.clock()

    async def tick(self) -> int:
        """Start the runs of every due cron this replica claims; how many it started."""
        now = self.clock()
        fired = 0
        for cron in await self.crons.due(now):
            try:
                if await self.crons.claim(cron, now):
                    await self._fire(cron)
                    fired += 1
            except Exception:
                log.exception("cron %s failed to start its run", cron["cron_id"])
        return fired

    async def _fire(self, cron: Cron) -> None:
        payload: dict[str, Any] = dict(cron["payload"])
        if cron["thread_id"] is None:
            payload["on_completion"] = cron.get("on_run_completed") or "delete"
        body = RunCreate.model_validate(payload)
        if cron["thread_id"] is not None and await self.runs.sessions.find_thread(cron["thread_id"]) is None:
            log.info("cron %s: its thread %s is gone; deleting the cron", cron["cron_id"], cron["thread_id"])
            with contextlib.suppress(KeyError):
                await self.crons.delete(cron["cron_id"])
            return
        await self.runs.start(
            cron.get("user_id"), cron["thread_id"], body, extra_metadata={"cron_id": cron["cron_id"]}
        )

    async def forget_assistant(self, assistant_id: str) -> None:
        """Delete the crons of a deleted assistant."""
        for cron in await self.crons.search(CronQuery(assistant_id=assistant_id, limit=2**31)):
            with contextlib.suppress(KeyError):
                await self.crons.delete(cron["cron_id"])

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("cron tick failed")
            await asyncio.sleep(self.tick_s)

    def start(self) -> None:
        """Run :meth:`tick` in the background every ``tick_s`` seconds."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="cron-scheduler")

    async def stop(self) -> None:
        """Stop the background ticks."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
