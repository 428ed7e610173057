"""Assistants: a graph plus config, context and metadata, versioned, persisted by the backend.

Each assistant is one document ``{"assistant": <current version>, "versions": [<every version>]}``
in the backend's ``assistants`` table (:meth:`Backend.documents`). Every update appends a new
version and makes it current; ``set_latest`` makes an older one current again. Times are UNIX
seconds; the API formats them. The record shapes follow the Agent Server protocol.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sessiongraph.checkpoints.documents import Document, DocumentTable

Assistant = dict[str, Any]
SORT_FIELDS = ("assistant_id", "graph_id", "name", "created_at", "updated_at")


class AssistantNotFound(KeyError):
    """No assistant with that id (or no such version of it)."""

    def __init__(self, assistant_id: str, version: int | None = None) -> None:
        super().__init__(assistant_id)
        self.assistant_id = assistant_id
        self.version = version

    def __str__(self) -> str:
        if self.version is not None:
            return f"Version {self.version} not found for assistant {self.assistant_id}"
        return f"Assistant {self.assistant_id} not found; list them with POST /assistants/search"


class AssistantExists(Exception):
    """An assistant with that id exists already (and ``if_exists`` was ``raise``)."""

    def __init__(self, assistant_id: str) -> None:
        super().__init__(f"Assistant {assistant_id} already exists; use if_exists='do_nothing' to reuse it")
        self.assistant_id = assistant_id


@dataclass(frozen=True)
class AssistantQuery:
    """A search over assistants: every given criterion must hold."""

    graph_id: str | None = None
    name: str | None = None
    metadata: Mapping[str, Any] | None = None
    limit: int = 10
    offset: int = 0
    sort_by: str | None = None
    sort_order: Literal["asc", "desc"] | None = None

    def matches(self, assistant: Assistant) -> bool:
        """Whether ``assistant`` satisfies the filters (``name`` is a case-insensitive substring)."""
        if self.graph_id is not None and assistant["graph_id"] != self.graph_id:
            return False
        if self.name is not None and self.name.lower() not in str(assistant.get("name") or "").lower():
            return False
        return _metadata_matches(assistant.get("metadata") or {}, self.metadata)

    def page(self, assistants: list[Assistant]) -> list[Assistant]:
        """Filter, sort (default: newest first) and slice."""
        chosen = [a for a in assistants if self.matches(a)]
        field = self.sort_by if self.sort_by in SORT_FIELDS else "created_at"
        reverse = (self.sort_order or "desc") == "desc"
        chosen.sort(
            key=lambda a: (
                str(a.get(field) or "").lower() if field in ("name", "graph_id") else a.get(field),
                a["assistant_id"],
            ),
            reverse=reverse,
        )
        return chosen[self.offset : self.offset + self.limit]


def _metadata_matches(metadata: Mapping[str, Any], wanted: Mapping[str, Any] | None) -> bool:
    return all(k in metadata and metadata[k] == v for k, v in (wanted or {}).items())


class AssistantRegistry:
    """Create, read, update (new version), delete and search assistants on one table."""

    def __init__(self, table: DocumentTable) -> None:
        self.table = table

    async def create(
        self,
        assistant_id: str,
        *,
        graph_id: str,
        config: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        description: str | None = None,
        if_exists: Literal["raise", "do_nothing"] = "raise",
    ) -> Assistant:
        """Create version 1; an existing id raises :class:`AssistantExists` or is returned as is."""
        stamp = time.time()
        version = {
            "assistant_id": assistant_id,
            "graph_id": graph_id,
            "config": dict(config or {}),
            "context": dict(context or {}),
            "metadata": dict(metadata or {}),
            "name": name or "Untitled",
            "description": description,
            "version": 1,
            "created_at": stamp,
        }
        assistant = {**version, "updated_at": stamp}
        if await self.table.insert_if_absent(assistant_id, {"assistant": assistant, "versions": [version]}):
            return assistant
        if if_exists == "raise":
            raise AssistantExists(assistant_id)
        return await self.require(assistant_id)

    async def get(self, assistant_id: str) -> Assistant | None:
        """The assistant's current version, or ``None``."""
        doc = await self.table.get(assistant_id)
        return doc["assistant"] if doc else None

    async def require(self, assistant_id: str) -> Assistant:
        """The assistant, or :class:`AssistantNotFound`."""
        assistant = await self.get(assistant_id)
        if assistant is None:
            raise AssistantNotFound(assistant_id)
        return assistant

    async def _doc(self, assistant_id: str) -> Document:
        doc = await self.table.get(assistant_id)
        if doc is None:
            raise AssistantNotFound(assistant_id)
        return doc

    async def update(
        self,
        assistant_id: str,
        *,
        graph_id: str | None = None,
        config: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        description: str | None = None,
    ) -> Assistant:
        """A new version: given fields replace the current ones, ``metadata`` is merged."""
        doc = await self._doc(assistant_id)
        current = doc["assistant"]
        stamp = time.time()
        version = {
            "assistant_id": assistant_id,
            "graph_id": graph_id if graph_id is not None else current["graph_id"],
            "config": dict(config) if config is not None else current["config"],
            "context": dict(context) if context is not None else current["context"],
            "metadata": {**current["metadata"], **(metadata or {})},
            "name": name if name is not None else current["name"],
            "description": description if description is not None else current["description"],
            "version": max(v["version"] for v in doc["versions"]) + 1,
            "created_at": stamp,
        }
        doc["versions"].append(version)
        doc["assistant"] = {**version, "created_at": current["created_at"], "updated_at": stamp}
        await self.table.put(assistant_id, doc)
        return doc["assistant"]

    async def set_latest(self, assistant_id: str, version: int) -> Assistant:
        """Make ``version`` the current one."""
        doc = await self._doc(assistant_id)
        chosen = next((v for v in doc["versions"] if v["version"] == version), None)
        if chosen is None:
            raise AssistantNotFound(assistant_id, version)
        current = doc["assistant"]
        doc["assistant"] = {**chosen, "created_at": current["created_at"], "updated_at": time.time()}
        await self.table.put(assistant_id, doc)
        return doc["assistant"]

    async def versions(
        self,
        assistant_id: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Assistant]:
        """The assistant's versions, newest first."""
        doc = await self._doc(assistant_id)
        chosen = [v for v in doc["versions"] if _metadata_matches(v["metadata"], metadata)]
        chosen.sort(key=lambda v: v["version"], reverse=True)
        return chosen[offset : offset + limit]

    async def delete(self, assistant_id: str) -> None:
        """Delete the assistant and its versions; :class:`AssistantNotFound` if unknown."""
        if not await self.table.delete(assistant_id):
            raise AssistantNotFound(assistant_id)

    async def search(self, query: AssistantQuery) -> list[Assistant]:
        """Assistants matching ``query``, sorted and paged."""
        return query.page([d["assistant"] for d in await self.table.all()])

    async def count(self, query: AssistantQuery) -> int:
        """How many assistants match ``query``'s filters."""
        return sum(1 for d in await self.table.all() if query.matches(d["assistant"]))
