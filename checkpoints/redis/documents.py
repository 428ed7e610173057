"""Documents (assistants, crons, claims) in one Redis hash per kind, shared by every replica."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from sessiongraph.checkpoints.documents import Document, DocumentTable

KEY_PREFIX = "sessiongraph:docs:"


class RedisDocumentTable(DocumentTable):
    """``HSET sessiongraph:docs:<kind> <key> <json>``; ``HSETNX`` is the claim between replicas."""

    def __init__(self, client: Redis, kind: str) -> None:
        self.client = client
        self.key = KEY_PREFIX + kind

    async def get(self, key: str) -> Document | None:
        raw: Any = await self.client.hget(self.key, key)
        return json.loads(raw) if raw else None

    async def put(self, key: str, doc: Document) -> None:
        await self.client.hset(self.key, key, _dump(doc))

    async def insert_if_absent(self, key: str, doc: Document) -> bool:
        return bool(await self.client.hsetnx(self.key, key, _dump(doc)))

    async def delete(self, key: str) -> bool:
        return bool(await self.client.hdel(self.key, key))

    async def all(self) -> list[Document]:
        raws: Any = await self.client.hvals(self.key)
        return [json.loads(raw) for raw in raws]


def _dump(doc: Document) -> str:
    return json.dumps(doc, separators=(",", ":"), default=str)
