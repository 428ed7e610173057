"""``AsyncRedisSaver`` with ``before`` honoured in ``alist`` (so ``get_state_history(before=...)`` works)
and the run's config metadata kept in checkpoint metadata (as the other savers keep it).

langgraph-checkpoint-redis 0.5 ignores ``before``: it reads checkpoint ids as ULIDs, while
LangGraph writes uuid6 ids. Those sort by time, so listing filters by id here instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.redis.aio import AsyncRedisSaver


class RedisSaver(AsyncRedisSaver):
    """The official async Redis saver, with ``alist(before=...)`` filtering by checkpoint id."""

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
        stream_mode: str = "values",
    ) -> RunnableConfig:
        """See ``BaseCheckpointSaver.aput``; merges ``config["metadata"]`` (graph, assistant, run ids)
        into the checkpoint's metadata, which the Redis saver otherwise drops."""
        merged = get_checkpoint_metadata(config, metadata)
        return await super().aput(config, checkpoint, merged, new_versions, stream_mode)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """See ``BaseCheckpointSaver.alist``; checkpoints older than ``before``, newest first."""
        before_id = (before or {}).get("configurable", {}).get("checkpoint_id")
        if not before_id:
            async for item in super().alist(config, filter=filter, limit=limit):
                yield item
            return
        left = limit
        async for item in super().alist(config, filter=filter):
            if left is not None and left <= 0:
                return
            if item.config["configurable"]["checkpoint_id"] < before_id:
                yield item
                if left is not None:
                    left -= 1
