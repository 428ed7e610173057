"""The session store: one backend class per URL scheme behind one interface.

- :mod:`.base`: :class:`Backend` (checkpointer + store + thread registry, pruning, storage
  stats, expiry) and :class:`BackendOptions`.
- :mod:`.factory`: :func:`open_backend` maps a URL scheme to its backend.
- :mod:`.memory`, :mod:`.sqlite`, :mod:`.redis`: the backends; nothing outside them knows their
  tables or keys.
- :mod:`.registry`: the thread registry interface and its records; :mod:`.expiry`: the TTL
  sweeper; :mod:`.stats`: the statistics records.
- :mod:`.documents`: the document tables a backend gives through ``Backend.documents(kind)``
  (native per backend; by default items of its LangGraph store), on which :mod:`.assistants`
  (versioned assistants) and :mod:`.crons` (cron schedules and their per-tick claims) are built.
"""

from sessiongraph.checkpoints.base import Backend, BackendOptions, BackendURLError, PruneStrategy
from sessiongraph.checkpoints.factory import open_backend, register_backend
from sessiongraph.checkpoints.registry import (
    ThreadExists,
    ThreadInfo,
    ThreadNotFound,
    ThreadQuery,
    ThreadStatus,
)
from sessiongraph.checkpoints.stats import StorageStats, ThreadStats

__all__ = [
    "Backend",
    "BackendOptions",
    "BackendURLError",
    "PruneStrategy",
    "StorageStats",
    "ThreadExists",
    "ThreadInfo",
    "ThreadNotFound",
    "ThreadQuery",
    "ThreadStats",
    "ThreadStatus",
    "open_backend",
    "register_backend",
]
