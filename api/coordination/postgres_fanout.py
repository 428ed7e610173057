"""How the PostgreSQL stream broker's notifications reach the subscribers of one process.

Every publish sends ``NOTIFY sessiongraph_stream``. An event small enough for a notification
(:data:`INLINE_MAX_BYTES`) travels in it (``e <run_id> <seq> <event>`` then a newline and the
data); a larger one sends ``e <run_id>`` alone, and a close ``c <run_id>``. :class:`Fanout`
hands what its process's listener hears to the :class:`Inbox` of each local subscriber of that
run, so a subscriber usually reads nothing from the table: it takes the events from its inbox
while their sequence numbers follow on from its position, and reads the table only when they
do not (a large event, a gap, a full inbox, a close, a reconnect, a heartbeat).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from sessiongraph.api.coordination.interfaces import StreamEvent, Subscription

STREAM_CHANNEL = "sessiongraph_stream"
INLINE_MAX_BYTES = 7000
"""Largest notification payload carrying its event (Postgres allows less than 8000 bytes)."""
READ_BATCH = 100
"""Events a subscriber reads from the table per query."""
INBOX_EVENTS = 100
"""Events an inbox holds for a subscriber that reads slowly; beyond, it reads the table instead."""

ReadEvents = Callable[[str, int], Awaitable[tuple[list[StreamEvent], bool]]]
"""``read(run_id, after)``: the next events from the table, and whether the stream ended there."""


def event_payload(run_id: str, event: StreamEvent, inline: bool) -> str:
    """The notification of a published event: the event itself when ``inline`` and small."""
    if inline and len(event.data) + len(event.event) + len(run_id) + 32 <= INLINE_MAX_BYTES:
        try:
            return f"e {run_id} {event.seq} {event.event}\n{event.data.decode()}"
        except UnicodeDecodeError:
            pass
    return f"e {run_id}"


def close_payload(run_id: str) -> str:
    """The notification of a close."""
    return f"c {run_id}"


@dataclass(eq=False)
class Inbox:
    """What one subscriber was told: events in order, or ``missed`` (read the table)."""

    woken: asyncio.Event = field(default_factory=asyncio.Event)
    events: deque[StreamEvent] = field(default_factory=deque)
    missed: bool = False

    def deliver(self, event: StreamEvent | None) -> None:
        """Add ``event``; ``None`` (or a full inbox) means: something happened, read the table."""
        if event is None or len(self.events) >= INBOX_EVENTS:
            self.events.clear()
            self.missed = True
        else:
            self.events.append(event)
        self.woken.set()


class Fanout:
    """The subscribers and close waiters of one process, by run (see the module docstring)."""

    def __init__(self) -> None:
        self._readers: dict[str, set[Inbox]] = {}
        self._closers: dict[str, set[Inbox]] = {}

    @contextlib.contextmanager
    def reading(self, run_id: str) -> Iterator[Inbox]:
        """An inbox of ``run_id``'s events, while inside."""
        with _registered(self._readers, run_id) as inbox:
            yield inbox

    @contextlib.contextmanager
    def awaiting_close(self, run_id: str) -> Iterator[Inbox]:
        """An inbox woken when ``run_id`` closes, while inside."""
        with _registered(self._closers, run_id) as inbox:
            yield inbox

    def notified(self, payload: str) -> None:
        """Hand a notification to the inboxes of its run."""
        header, newline, data = payload.partition("\n")
        kind, run_id, *rest = header.split(" ", 3)
        event = StreamEvent(int(rest[0]), rest[1], data.encode()) if newline and len(rest) == 2 else None
        for inbox in self._readers.get(run_id, ()):
            inbox.deliver(event)
        if kind == "c":
            for inbox in self._closers.get(run_id, ()):
                inbox.deliver(None)

    def wake_all(self) -> None:
        """Notifications may have been lost (the listener reconnected): everyone reads again."""
        for table in (self._readers, self._closers):
            for inboxes in table.values():
                for inbox in inboxes:
                    inbox.deliver(None)


@contextlib.contextmanager
def _registered(table: dict[str, set[Inbox]], run_id: str) -> Iterator[Inbox]:
    inbox = Inbox()
    table.setdefault(run_id, set()).add(inbox)
    try:
        yield inbox
    finally:
        inboxes = table.get(run_id)
        if inboxes is not None:
            inboxes.discard(inbox)
            if not inboxes:
                del table[run_id]


class PostgresSubscription(Subscription):
    """A run's events from ``position`` on (``None``: none), from the inbox or the table, until
    the stream ends; a heartbeat (``None``) after ``heartbeat`` seconds without events, after
    which it reads the table in case a notification was lost."""

    def __init__(
        self, read: ReadEvents, fanout: Fanout, run_id: str, position: int | None, heartbeat: float
    ) -> None:
        self._read = read
        self._fanout = fanout
        self._run_id = run_id
        self._position = position
        self._heartbeat = heartbeat

    async def __aiter__(self) -> AsyncIterator[StreamEvent | None]:
        if self._position is None:
            return
        with self._fanout.reading(self._run_id) as inbox:
            from_table = True
            while True:
                if from_table or inbox.missed:
                    # Whatever the inbox holds now is in the table too, or older than this read.
                    inbox.events.clear()
                    inbox.missed = False
                    events, ended = await self._read(self._run_id, self._position)
                    for event in events:
                        self._position = event.seq
                        yield event
                    if ended:
                        return
                    from_table = len(events) == READ_BATCH  # more to read
                    continue
                while inbox.events and not inbox.missed:
                    event = inbox.events.popleft()
                    if event.seq <= self._position:
                        continue
                    if event.seq != self._position + 1:
                        from_table = True  # a gap: published out of order, or too large to inline
                        break
                    self._position = event.seq
                    yield event
                if from_table or inbox.events or inbox.missed:
                    continue
                inbox.woken.clear()
                try:
                    async with asyncio.timeout(self._heartbeat):
                        await inbox.woken.wait()
                except TimeoutError:
                    from_table = True
                    yield None
