"""The in-process backend: ``InMemorySaver`` + ``InMemoryStore`` + an LRU-capped registry.

Nothing survives the process. Pruning edits the saver's dicts (it has no pruning of its own):
entries of dropped checkpoints go, and a channel blob goes once no kept checkpoint references
its version. "Bytes stored" is the length of the serialized checkpoints, blobs and writes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from sessiongraph.checkpoints.base import Backend, BackendOptions
from sessiongraph.checkpoints.documents import DocumentTable, MemoryDocumentTable
from sessiongraph.checkpoints.memory.registry import MemoryThreadRegistry
from sessiongraph.checkpoints.stats import StorageStats


class MemoryBackend(Backend):
    """``memory://`` (see the module docstring)."""

    name = "memory"
    checkpointer: InMemorySaver

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, options: BackendOptions) -> AsyncIterator[MemoryBackend]:
        """See :meth:`Backend.open`."""
        saver = InMemorySaver()
        registry = MemoryThreadRegistry(max_threads=options.memory_max_threads, on_evict=saver.adelete_thread)
        yield cls(url, saver, InMemoryStore(), registry)

    def documents(self, kind: str) -> DocumentTable:
        """See :meth:`Backend.documents`: a dict per kind, for the life of the process."""
        tables: dict[str, DocumentTable] = self.__dict__.setdefault("_tables", {})
        return tables.setdefault(kind, MemoryDocumentTable())

    async def _prune(self, thread_ids: list[str], keep_latest: int) -> None:
        for thread_id in thread_ids:
            self._prune_thread(thread_id, keep_latest)

    def _prune_thread(self, thread_id: str, keep: int) -> None:
        saver = self.checkpointer
        for ns, checkpoints in list(saver.storage.get(thread_id, {}).items()):
            ordered = sorted(checkpoints, reverse=True)
            kept, dropped = ordered[:keep], ordered[keep:]
            if not dropped:
                continue
            # Every blob is referenced by the checkpoint that wrote it, so the only blobs that can
            # become unreferenced are those of the dropped checkpoints.
            candidates = {pair for cid in dropped for pair in self._versions(checkpoints[cid][0])}
            for checkpoint_id in dropped:
                del checkpoints[checkpoint_id]
                saver.writes.pop((thread_id, ns, checkpoint_id), None)
            referenced = {pair for cid in kept for pair in self._versions(checkpoints[cid][0])}
            for channel, version in candidates - referenced:
                saver.blobs.pop((thread_id, ns, channel, version), None)
            gone = set(dropped)
            for checkpoint_id in kept:
                checkpoint, metadata, parent = checkpoints[checkpoint_id]
                if parent in gone:
                    checkpoints[checkpoint_id] = (checkpoint, metadata, None)

    def _versions(self, serialized: tuple[str, bytes]) -> set[tuple[str, Any]]:
        versions = self.checkpointer.serde.loads_typed(serialized).get("channel_versions", {})
        return set(dict(versions).items())

    async def storage_stats(self, thread_id: str) -> StorageStats:
        """See :meth:`Backend.storage_stats`."""
        saver = self.checkpointer
        count = 0
        size = 0
        for checkpoints in saver.storage.get(thread_id, {}).values():
            for checkpoint, metadata, _parent in checkpoints.values():
                count += 1
                size += len(checkpoint[1]) + len(metadata[1])
        size += sum(len(blob[1]) for key, blob in saver.blobs.items() if key[0] == thread_id)
        size += sum(
            len(write[2][1])
            for key, writes in saver.writes.items()
            if key[0] == thread_id
            for write in writes.values()
        )
        return StorageStats(checkpoints=count, bytes_stored=size)
