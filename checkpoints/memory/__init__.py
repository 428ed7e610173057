"""``memory://``: sessions in process memory (``InMemorySaver`` + ``InMemoryStore``), LRU-capped."""

from sessiongraph.checkpoints.memory.backend import MemoryBackend

__all__ = ["MemoryBackend"]
