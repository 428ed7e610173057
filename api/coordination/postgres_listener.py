"""One ``LISTEN`` connection per process, shared by every Postgres coordination part.

The thread lock, the stream broker and the cancel bus each register a callback for their
channel; the listener holds one dedicated autocommit connection (not a pooled one), listens on
every registered channel and hands each notification's payload to the channel's callbacks, on
the event loop. So a process has one listening connection however many runs wait or stream.

Notifications sent while the connection is down are lost, so after every reconnect the
``on_reconnect`` callbacks run: the parts wake everyone who waits, and they re-read the
tables. A lost connection (Postgres restarted, a network cut) is noticed by a ``SELECT 1``
every ``ping_s`` seconds at the latest, logged in one line (no traceback), and retried every
``retry_s`` seconds until Postgres answers again.

Example::

    listener = PostgresListener(url)
    listener.on("sessiongraph_cancel", print)
    async with listener.running():
        ...  # every NOTIFY on sessiongraph_cancel is printed
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg
from psycopg import sql

from sessiongraph.api.background import in_background

log = logging.getLogger("sessiongraph.api.coordination.postgres_listener")

CONNECT_TIMEOUT_S = 5
PING_TIMEOUT_S = 5.0

Callback = Callable[[str], None]
"""Called with a notification's payload (it must not block: set an event, start a task)."""


class PostgresListener:
    """The process's ``LISTEN`` connection (see the module docstring)."""

    def __init__(self, url: str, *, ping_s: float = 5.0, retry_s: float = 1.0) -> None:
        self._url = url
        self._ping_s = ping_s
        self._retry_s = retry_s
        self._callbacks: dict[str, list[Callback]] = {}
        self._resyncs: list[Callable[[], None]] = []
        self.connected = asyncio.Event()
        """Set while the connection listens (cleared while it reconnects)."""

    def on(self, channel: str, callback: Callback) -> None:
        """Pass every notification on ``channel`` to ``callback`` (register before :meth:`running`)."""
        self._callbacks.setdefault(channel, []).append(callback)

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every reconnect (notifications may have been missed)."""
        self._resyncs.append(callback)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Listen while inside; the first connection is made before this enters (it raises when
        Postgres cannot be reached)."""
        conn = await self._connect()
        try:
            async with in_background(self._listen(conn), "postgres-listener"):
                yield
        finally:
            self.connected.clear()

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(
            self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
        )
        try:
            for channel in self._callbacks:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        except BaseException:
            await conn.close()
            raise
        self.connected.set()
        return conn

    async def _listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        try:
            while True:
                try:
                    await self._receive(conn)
                except (psycopg.Error, OSError, TimeoutError) as exc:
                    self.connected.clear()
                    log.warning("lost the PostgreSQL LISTEN connection (%s); reconnecting", _brief(exc))
                await _close(conn)
                conn = await self._reconnect()
                for resync in self._resyncs:
                    resync()
        finally:
            await _close(conn)

    async def _receive(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Dispatch notifications until the connection fails (checked every ``ping_s``)."""
        while True:
            async for notify in conn.notifies(timeout=self._ping_s):
                for callback in self._callbacks.get(notify.channel, ()):
                    try:
                        callback(notify.payload)
                    except Exception:
                        log.exception("callback of %s failed on %r", notify.channel, notify.payload)
            async with asyncio.timeout(PING_TIMEOUT_S):
                await conn.execute("SELECT 1")

    async def _reconnect(self) -> psycopg.AsyncConnection[Any]:
        failures = 0
        while True:
            try:
                conn = await self._connect()
            except (psycopg.Error, OSError) as exc:
                failures += 1
                if failures == 1:
                    log.warning(
                        "PostgreSQL unreachable for LISTEN (%s); retrying every %ss",
                        _brief(exc),
                        self._retry_s,
                    )
                await asyncio.sleep(self._retry_s)
                continue
            log.warning("PostgreSQL LISTEN connection restored")
            return conn


async def _close(conn: psycopg.AsyncConnection[Any]) -> None:
    with contextlib.suppress(Exception):
        await conn.close()


def _brief(exc: BaseException) -> str:
    """One line of an exception (libpq messages span several)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
