"""Cron schedules: runs started on a cron expression, persisted by the backend.

A cron is one document in the backend's ``crons`` table; its ``next_run_date`` is computed with
``croniter`` (in the cron's IANA timezone, UTC by default). Firing is claimed per tick: the
first replica to insert ``<cron_id>:<next_run_date>`` into the ``cron_ticks`` table (an atomic
insert-if-absent on every backend) starts the run and advances the schedule, so several
replicas on one backend fire each tick once, and a restart resumes from the stored schedule.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from sessiongraph.checkpoints.documents import DocumentTable

Cron = dict[str, Any]
SORT_FIELDS = (
    "cron_id",
    "assistant_id",
    "thread_id",
    "next_run_date",
    "end_time",
    "created_at",
    "updated_at",
)


class CronNotFound(KeyError):
    """No cron with that id (or not one the caller may see)."""

    def __init__(self, cron_id: str) -> None:
        super().__init__(cron_id)
        self.cron_id = cron_id

    def __str__(self) -> str:
        return f"Cron {self.cron_id} not found; list them with POST /runs/crons/search"


class InvalidSchedule(ValueError):
    """A cron expression or timezone that cannot be used."""


def validate_schedule(schedule: str, timezone: str | None = None) -> None:
    """Raise :class:`InvalidSchedule` unless ``schedule`` and ``timezone`` are usable."""
    if not croniter.is_valid(schedule):
        raise InvalidSchedule(f"invalid cron schedule {schedule!r}; use five fields, e.g. '*/5 * * * *'")
    _zone(timezone)


def _zone(timezone: str | None) -> dt.tzinfo:
    if not timezone:
        return dt.UTC
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSchedule(
            f"unknown timezone {timezone!r}; use an IANA name such as 'Europe/Paris'"
        ) from None


def next_run(schedule: str, after: float, timezone: str | None = None) -> float:
    """The first time strictly after ``after`` (UNIX seconds) that ``schedule`` fires."""
    start = dt.datetime.fromtimestamp(after, _zone(timezone))
    return float(croniter(schedule, start).get_next(float))


@dataclass(frozen=True)
class CronQuery:
    """A search over crons: every given criterion must hold."""

    assistant_id: str | None = None
    thread_id: str | None = None
    enabled: bool | None = None
    metadata: Mapping[str, Any] | None = None
    owner: str | None = None
    limit: int = 10
    offset: int = 0
    sort_by: str | None = None
    sort_order: Literal["asc", "desc"] | None = None

    def matches(self, cron: Cron) -> bool:
        """Whether ``cron`` satisfies the filters."""
        checks = (
            (self.assistant_id, cron["assistant_id"]),
            (self.thread_id, cron["thread_id"]),
            (self.enabled, cron["enabled"]),
            (self.owner, cron.get("user_id")),
        )
        if any(wanted is not None and wanted != value for wanted, value in checks):
            return False
        metadata = cron.get("metadata") or {}
        return all(k in metadata and metadata[k] == v for k, v in (self.metadata or {}).items())

    def page(self, crons: list[Cron]) -> list[Cron]:
        """Filter, sort (default: newest first) and slice."""
        chosen = [c for c in crons if self.matches(c)]
        field = self.sort_by if self.sort_by in SORT_FIELDS else "created_at"
        reverse = (self.sort_order or "desc") == "desc"
        chosen.sort(
            key=lambda c: (c.get(field) is not None, c.get(field) or 0, c["cron_id"]), reverse=reverse
        )
        return chosen[self.offset : self.offset + self.limit]


class CronRegistry:
    """Store, search and claim cron schedules (see the module docstring)."""

    def __init__(self, crons: DocumentTable, ticks: DocumentTable) -> None:
        self.crons = crons
        self.ticks = ticks

    async def create(
        self,
        cron_id: str,
        *,
        assistant_id: str,
        schedule: str,
        payload: Mapping[str, Any],
        thread_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        end_time: float | None = None,
        enabled: bool = True,
        timezone: str | None = None,
        on_run_completed: str | None = None,
        owner: str | None = None,
        now: float | None = None,
    ) -> Cron:
        """Store a new cron; its first run is the schedule's next time after ``now``."""
        validate_schedule(schedule, timezone)
        stamp = time.time() if now is None else now
        cron: Cron = {
            "cron_id": cron_id,
            "assistant_id": assistant_id,
            "thread_id": thread_id,
            "schedule": schedule,
            "timezone": timezone,
            "payload": dict(payload),
            "metadata": dict(metadata or {}),
            "end_time": end_time,
            "enabled": enabled,
            "on_run_completed": on_run_completed,
            "user_id": owner,
            "created_at": stamp,
            "updated_at": stamp,
            "next_run_date": next_run(schedule, stamp, timezone),
        }
        await self.crons.put(cron_id, cron)
        return cron

    async def get(self, cron_id: str) -> Cron | None:
        """The cron, or ``None``."""
        return await self.crons.get(cron_id)

    async def require(self, cron_id: str) -> Cron:
        """The cron, or :class:`CronNotFound`."""
        cron = await self.crons.get(cron_id)
        if cron is None:
            raise CronNotFound(cron_id)
        return cron

    async def update(self, cron_id: str, changes: Mapping[str, Any], now: float | None = None) -> Cron:
        """Apply ``changes`` (top-level cron fields; ``payload`` is merged); a new schedule or
        timezone recomputes ``next_run_date``."""
        cron = await self.require(cron_id)
        stamp = time.time() if now is None else now
        for key, value in changes.items():
            if key == "payload":
                cron["payload"] = {**cron["payload"], **value}
            elif key == "metadata":
                cron["metadata"] = {**cron["metadata"], **(value or {})}
            else:
                cron[key] = value
        if "schedule" in changes or "timezone" in changes:
            validate_schedule(cron["schedule"], cron["timezone"])
            cron["next_run_date"] = next_run(cron["schedule"], stamp, cron["timezone"])
        cron["updated_at"] = stamp
        await self.crons.put(cron_id, cron)
        return cron

    async def delete(self, cron_id: str) -> None:
        """Delete the cron; :class:`CronNotFound` if unknown."""
        cron = await self.crons.get(cron_id)
        if cron is None or not await self.crons.delete(cron_id):
            raise CronNotFound(cron_id)
        await self.ticks.delete(_tick_key(cron))

    async def search(self, query: CronQuery) -> list[Cron]:
        """Crons matching ``query``, sorted and paged."""
        return query.page(await self.crons.all())

    async def count(self, query: CronQuery) -> int:
        """How many crons match ``query``'s filters."""
        return sum(1 for c in await self.crons.all() if query.matches(c))

    async def due(self, now: float) -> list[Cron]:
        """Enabled crons whose next run is at or before ``now``, oldest first."""
        crons = [c for c in await self.crons.all() if c["enabled"] and c["next_run_date"] <= now]
        return sorted(crons, key=lambda c: c["next_run_date"])

    async def claim(self, cron: Cron, now: float) -> bool:
        """Claim ``cron``'s due tick for this replica and advance its schedule; ``False`` when
        another replica claimed it first. A cron past its ``end_time`` is disabled instead."""
        if not await self.ticks.insert_if_absent(_tick_key(cron), {"at": now}):
            return False
        await self.ticks.delete(f"{cron['cron_id']}:{cron.get('previous_run_date')}")
        current = await self.crons.get(cron["cron_id"])
        if current is None or current["next_run_date"] != cron["next_run_date"]:
            return False  # deleted or rescheduled meanwhile
        expired = current["end_time"] is not None and current["next_run_date"] > current["end_time"]
        current["previous_run_date"] = current["next_run_date"]
        current["next_run_date"] = next_run(
            current["schedule"], max(now, current["next_run_date"]), current["timezone"]
        )
        if expired:
            current["enabled"] = False
        await self.crons.put(current["cron_id"], current)
        return not expired


def _tick_key(cron: Cron) -> str:
    return f"{cron['cron_id']}:{cron['next_run_date']}"
