"""Open a session backend from its URL: the only place that maps URL schemes to backends.

======================  ==================================================================
URL                     backend
======================  ==================================================================
``memory://``           :class:`~sessiongraph.checkpoints.memory.MemoryBackend`
``sqlite:///rel.db``    :class:`~sessiongraph.checkpoints.sqlite.SqliteBackend` (relative to the
``sqlite:////abs.db``   working directory, or absolute)
``redis://h:p/db``      :class:`~sessiongraph.checkpoints.redis.RedisBackend` (``rediss://`` too)
``postgresql://u@h/db`` :class:`~sessiongraph.checkpoints.postgres.PostgresBackend`
                        (``postgres://`` too)
======================  ==================================================================

Example::

    async with open_backend("sqlite:///data/sessions.db") as backend:
        graph = build_graph(checkpointer=backend.checkpointer, store=backend.store)
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator
from urllib.parse import urlparse

from sessiongraph.checkpoints.base import Backend, BackendOptions, BackendURLError

BACKENDS: dict[str, str] = {
    "memory": "sessiongraph.checkpoints.memory:MemoryBackend",
    "sqlite": "sessiongraph.checkpoints.sqlite:SqliteBackend",
    "redis": "sessiongraph.checkpoints.redis:RedisBackend",
    "rediss": "sessiongraph.checkpoints.redis:RedisBackend",
    "postgresql": "sessiongraph.checkpoints.postgres:PostgresBackend",
    "postgres": "sessiongraph.checkpoints.postgres:PostgresBackend",
}
"""URL scheme -> ``module:Class`` of its backend (imported on first use, so an unused backend's
client library is never loaded)."""


def register_backend(scheme: str, target: str) -> None:
    """Serve URLs with ``scheme`` by the backend class at ``target`` (``"package.module:Class"``)."""
    BACKENDS[scheme] = target


def backend_class(url: str) -> type[Backend]:
    """The backend class that serves ``url``; :class:`BackendURLError` for an unknown scheme."""
    scheme = urlparse(url).scheme
    target = BACKENDS.get(scheme)
    if target is None:
        known = ", ".join(f"{name}://" for name in BACKENDS)
        raise BackendURLError(
            f"checkpoint URL {url!r} has an unknown scheme; use one of {known} "
            "(e.g. memory://, sqlite:///path/to/file.db, redis://host:port/db)"
        )
    module, _, name = target.partition(":")
    cls: type[Backend] = getattr(importlib.import_module(module), name)
    return cls


@contextlib.asynccontextmanager
async def open_backend(url: str, options: BackendOptions | None = None) -> AsyncIterator[Backend]:
    """Open the backend named by ``url`` for the duration of the ``async with`` block."""
    async with backend_class(url).open(url, options or BackendOptions()) as backend:
        await backend.registry.setup()
        await backend.runs.setup()
        try:
            yield backend
        finally:
            await backend.registry.aclose()
