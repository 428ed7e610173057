"""``AsyncRedisStore`` whose ``aget`` finds items on every Redis build.

langgraph-checkpoint-redis 0.5 looks an item up with a full-text match on its namespace
(``@prefix:(a.b)``), which the RediSearch build of the test harness (Valkey) tokenizes so that it
never matches, while search by prefix works. Here a get asks by the ``key`` tag and compares the
stored namespace exactly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from langgraph.store.base import GetOp, Result
from langgraph.store.redis.aio import AsyncRedisStore
from langgraph.store.redis.base import _namespace_to_text, _row_to_item
from redis.commands.search.query import Query
from redisvl.query.filter import Tag

MAX_SAME_KEY = 1000
"""Most items sharing one key (across namespaces) scanned per get."""


class RedisStore(AsyncRedisStore):
    """The official async Redis store with a get that matches the namespace exactly."""

    async def _batch_get_ops(self, get_ops: Sequence[tuple[int, GetOp]], results: list[Result]) -> None:
        for idx, op in get_ops:
            query = Query(str(Tag("key") == op.key)).paging(0, MAX_SAME_KEY)
            found = await self.store_index.search(query)
            wanted = _namespace_to_text(op.namespace)
            for doc in found.docs:
                data = json.loads(doc.json)
                if data.get("prefix") == wanted:
                    results[idx] = _row_to_item(op.namespace, data, deserialize_fn=self._deserialize_value)
                    break
