"""Thread registry in Redis, shared by every API replica that points at the same server.

Each thread is one RedisJSON document at ``sessiongraph:thread:<id>``; a RediSearch index over
those documents answers every search and count without loading the threads: sorted by
``updated_at``/``created_at`` (numeric, sortable), filtered by status, owner, thread ids and
metadata (tags). A metadata filter ``{key: value}`` matches the tag ``hash(key, canonical JSON of
value)``, one per top-level key of a thread's metadata, so values compare exactly (``1`` is not
``"1"``, ``["a"]`` is not ``["a", "b"]``) and no value ever needs escaping; owners and thread ids
are tags by hash for the same reason. An expired document (TTL) leaves the index by itself.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from sessiongraph.checkpoints.registry import SORT_FIELDS, ThreadInfo, ThreadQuery, ThreadRegistry

KEY_PREFIX = "sessiongraph:thread:"
INDEX_NAME = "sessiongraph:threads:idx"
LEGACY_INDEX_KEY = "sessiongraph:threads"
"""The sorted set older releases kept next to JSON strings; :meth:`setup` converts them."""
MAX_WINDOW = 10_000
"""RediSearch's default ``MAXSEARCHRESULTS``: a page must end within it."""
SEARCH_DIALECT = "4"
"""Dialect 4 lets RediSearch stop at the page when sorting by a numeric field it filters on (the
page is exact; its total is not, so counts use dialect 2)."""
NUMERIC_SORTS = ("created_at", "updated_at")

_SCHEMA = (
    "$.thread_id", "AS", "thread_id", "TAG", "SORTABLE", "UNF",
    "$.status", "AS", "status", "TAG", "SORTABLE",
    "$.created_at", "AS", "created_at", "NUMERIC", "SORTABLE",
    "$.updated_at", "AS", "updated_at", "NUMERIC", "SORTABLE",
    "$._owner", "AS", "owner", "TAG",
    "$._id", "AS", "id", "TAG",
    "$._meta[*]", "AS", "meta", "TAG",
)  # fmt: skip


class RedisThreadRegistry(ThreadRegistry):
    """Threads as RedisJSON documents behind a RediSearch index."""

    def __init__(self, client: Redis) -> None:
        self.client = client

    async def setup(self) -> None:
        try:
            await self.client.execute_command(
                "FT.CREATE", INDEX_NAME, "ON", "JSON", "PREFIX", "1", KEY_PREFIX, "SCHEMA", *_SCHEMA
            )
        except ResponseError as exc:
            if "already exists" not in str(exc).lower():
                raise
        await self._convert_legacy()

    async def _convert_legacy(self) -> None:
        ids: Any = await self.client.zrange(LEGACY_INDEX_KEY, 0, -1)
        for raw_id in ids or []:
            key = KEY_PREFIX + (raw_id.decode() if isinstance(raw_id, bytes) else raw_id)
            if await self.client.type(key) in (b"string", "string"):
                raw = await self.client.get(key)
                ttl = await self.client.pttl(key)
                if raw:
                    await self.client.delete(key)
                    await self.client.json().set(key, "$", _doc(_load(raw)))
                    if ttl > 0:
                        await self.client.pexpire(key, ttl)
        await self.client.delete(LEGACY_INDEX_KEY)

    async def aclose(self) -> None:
        await self.client.aclose(close_connection_pool=True)

    async def insert_if_absent(self, info: ThreadInfo) -> bool:
        # NX makes creation atomic across replicas; a TTL starts counting at creation.
        key = KEY_PREFIX + info.thread_id
        if not await self.client.json().set(key, "$", _doc(info), nx=True):
            return False
        if info.ttl_minutes is not None:
            await self.client.expire(key, _seconds(info.ttl_minutes))
        return True

    async def get(self, thread_id: str) -> ThreadInfo | None:
        raw: Any = await self.client.json().get(KEY_PREFIX + thread_id)
        return _from_doc(raw) if raw else None

    async def search(self, query: ThreadQuery) -> list[ThreadInfo]:
        if query.limit <= 0:
            return []
        if query.offset + query.limit > MAX_WINDOW:
            return query.page(await self._scan_all())
        order = query.sort_by if query.sort_by in SORT_FIELDS else "updated_at"
        where = _filter(query)
        dialect = "2"
        if order in NUMERIC_SORTS:
            # A range on the sort field is what lets the optimizer read just the page.
            where = f"@{order}:[-inf +inf] {'' if where == '*' else where}".strip()
            dialect = SEARCH_DIALECT
        # (Dialect 4 ignores SORTBY on a TAG field such as thread_id: insertion order comes back.)
        reply = await self.client.execute_command(
            "FT.SEARCH", INDEX_NAME, where, "RETURN", "1", "$",
            "SORTBY", order, "ASC" if query.sort_order == "asc" else "DESC",
            "LIMIT", str(query.offset), str(query.limit), "DIALECT", dialect,
        )  # fmt: skip
        return [_from_doc(_unwrap(json.loads(doc))) for doc in _documents(reply)]

    async def count(self, query: ThreadQuery) -> int:
        where = _filter(query)
        if where == "*":
            # Counting every match walks the whole index; the document count is kept (expired
            # threads leave it when Redis deletes their key, within moments of the deadline).
            info = await self.client.execute_command("FT.INFO", INDEX_NAME)
            return int(_field(info, "num_docs"))
        reply = await self.client.execute_command(
            "FT.SEARCH", INDEX_NAME, where, "LIMIT", "0", "0", "DIALECT", "2"
        )
        return _total(reply)

    async def _scan_all(self) -> list[ThreadInfo]:
        infos = []
        async for key in self.client.scan_iter(match=KEY_PREFIX + "*", count=1000, _type="ReJSON-RL"):
            raw: Any = await self.client.json().get(key)
            if raw:
                infos.append(_from_doc(raw))
        return infos

    async def save(self, info: ThreadInfo) -> None:
        key = KEY_PREFIX + info.thread_id
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.json().set(key, "$", _doc(info))
            if info.ttl_minutes is not None and info.status != "busy":
                pipe.expire(key, _seconds(info.ttl_minutes))
            else:  # a busy thread never expires mid-run; a cleared TTL is cleared
                pipe.persist(key)
            await pipe.execute()

    async def delete(self, thread_id: str) -> bool:
        return bool(await self.client.delete(KEY_PREFIX + thread_id))


def _seconds(ttl_minutes: float) -> int:
    return max(1, int(ttl_minutes * 60))


def _tag(*parts: str) -> str:
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=12).hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _doc(info: ThreadInfo) -> dict[str, Any]:
    doc = json.loads(json.dumps(info.to_dict(), default=str))
    doc["_id"] = _tag(info.thread_id)
    doc["_owner"] = _tag(info.owner) if info.owner is not None else None
    doc["_meta"] = [_tag(str(k), _canonical(v)) for k, v in info.metadata.items()]
    return doc


def _unwrap(value: Any) -> dict[str, Any]:
    # Dialects 3 and up return a JSONPath's matches as an array.
    return value[0] if isinstance(value, list) else value


def _from_doc(doc: dict[str, Any]) -> ThreadInfo:
    return ThreadInfo(**{k: v for k, v in doc.items() if not k.startswith("_")})


def _load(raw: bytes | str) -> ThreadInfo:
    return ThreadInfo(**json.loads(raw))


def _filter(query: ThreadQuery) -> str:
    clauses = []
    if query.status is not None:
        clauses.append(f"@status:{{{query.status}}}")
    if query.owner is not None:
        clauses.append(f"@owner:{{{_tag(query.owner)}}}")
    if query.thread_ids is not None:
        ids = "|".join(_tag(t) for t in query.thread_ids) or _tag("")
        clauses.append(f"@id:{{{ids}}}")
    for key, value in (query.metadata or {}).items():
        clauses.append(f"@meta:{{{_tag(str(key), _canonical(value))}}}")
    return " ".join(clauses) or "*"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _field(reply: Any, name: str) -> Any:
    """One field of an ``FT.INFO`` reply (RESP2 list of pairs, or RESP3 map)."""
    pairs = reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2], strict=False))
    value = _get(pairs, name, None)
    return _text(value) if value is not None else 0


def _get(reply: dict[Any, Any], name: str, default: Any) -> Any:
    """A RESP3 map's field, whether the client decodes keys or not."""
    return reply.get(name.encode(), reply.get(name, default))


def _total(reply: Any) -> int:
    if isinstance(reply, dict):  # RESP3
        return int(_get(reply, "total_results", 0))
    return int(reply[0])


def _documents(reply: Any) -> list[str]:
    """The ``$`` field of each result, in order (RESP2 and RESP3 replies)."""
    if isinstance(reply, dict):
        docs = []
        for result in _get(reply, "results", []):
            raw = _get(_get(result, "extra_attributes", {}), "$", None)
            if raw is not None:
                docs.append(_text(raw))
        return docs
    docs = []
    for fields in reply[2::2]:
        pairs = dict(zip(map(_text, fields[::2]), fields[1::2], strict=True))
        if "$" in pairs:
            docs.append(_text(pairs["$"]))
    return docs
