"""Small JSON documents a backend keeps besides checkpoints: assistants, cron schedules, claims.

:class:`DocumentTable` is the one primitive the assistant and cron registries are written
against: a keyed collection of JSON-serialisable dicts with an atomic insert-if-absent (which
also serves as a claim between replicas). Each backend gives its own tables through
:meth:`Backend.documents`; the default here keeps them in the backend's LangGraph store under a
reserved namespace, so a new backend works before it has native tables (SQLite, Redis and
PostgreSQL have theirs).
"""

from __future__ import annotations

import abc
import copy
from typing import Any

from langgraph.store.base import BaseStore

RESERVED_NAMESPACE = "__sessiongraph__"
"""Store namespace root of :class:`StoreDocumentTable`; the store API hides it."""

Document = dict[str, Any]


class DocumentTable(abc.ABC):
    """A keyed collection of JSON documents of one kind."""

    @abc.abstractmethod
    async def get(self, key: str) -> Document | None:
        """The document at ``key``, or ``None``."""

    @abc.abstractmethod
    async def put(self, key: str, doc: Document) -> None:
        """Insert or replace the document at ``key``."""

    @abc.abstractmethod
    async def insert_if_absent(self, key: str, doc: Document) -> bool:
        """Store ``doc`` unless ``key`` exists (atomically, across replicas where the backend is
        shared); whether it was stored."""

    @abc.abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove the document; ``False`` when there was none."""

    @abc.abstractmethod
    async def all(self) -> list[Document]:
        """Every document of the table (the tables hold tens to thousands of small documents)."""


class MemoryDocumentTable(DocumentTable):
    """Documents in a dict (deep-copied in and out, as a database would)."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}

    async def get(self, key: str) -> Document | None:
        doc = self._docs.get(key)
        return copy.deepcopy(doc) if doc is not None else None

    async def put(self, key: str, doc: Document) -> None:
        self._docs[key] = copy.deepcopy(doc)

    async def insert_if_absent(self, key: str, doc: Document) -> bool:
        if key in self._docs:
            return False
        self._docs[key] = copy.deepcopy(doc)
        return True

    async def delete(self, key: str) -> bool:
        return self._docs.pop(key, None) is not None

    async def all(self) -> list[Document]:
        return [copy.deepcopy(d) for d in self._docs.values()]


class StoreDocumentTable(DocumentTable):
    """Documents as items of a LangGraph store under ``("__sessiongraph__", kind)``.

    ``insert_if_absent`` is a read then a write here, so it is atomic only within one process;
    backends shared by replicas override :meth:`Backend.documents` with a native table.
    """

    def __init__(self, store: BaseStore, kind: str) -> None:
        self.store = store
        self.namespace = (RESERVED_NAMESPACE, kind)

    async def get(self, key: str) -> Document | None:
        item = await self.store.aget(self.namespace, key)
        return dict(item.value) if item is not None else None

    async def put(self, key: str, doc: Document) -> None:
        await self.store.aput(self.namespace, key, doc, index=False)

    async def insert_if_absent(self, key: str, doc: Document) -> bool:
        if await self.store.aget(self.namespace, key) is not None:
            return False
        await self.put(key, doc)
        return True

    async def delete(self, key: str) -> bool:
        existed = await self.store.aget(self.namespace, key) is not None
        await self.store.adelete(self.namespace, key)
        return existed

    async def all(self) -> list[Document]:
        docs: list[Document] = []
        while True:
            page = await self.store.asearch(self.namespace, limit=500, offset=len(docs))
            docs += [dict(item.value) for item in page]
            if len(page) < 500:
                return docs
