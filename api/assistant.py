"""The system assistant: one per graph, with a deterministic id, as the reference server makes it.

``assistant_id = uuid5(6ba7b821-9dad-11d1-80b4-00c04fd430c8, graph_id)``, so ``agent`` is
``fe096781-5601-53d2-b2f6-0d3403f7e9ca`` here and on ``langgraph dev`` alike. The graph id is
accepted wherever an assistant id is.
"""

from __future__ import annotations

import time
import uuid
from functools import cached_property
from typing import Any

from sessiongraph.api.errors import NotFound, Unprocessable
from sessiongraph.api.serialize import iso
from sessiongraph.sessions import Sessions

ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


def assistant_id_for(graph_id: str) -> str:
    """The deterministic assistant id of a graph."""
    return str(uuid.uuid5(ASSISTANT_NAMESPACE, graph_id))


class SystemAssistant:
    """The assistant of the sessions' graph: its JSON, its drawable graph and its schemas (cached)."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        graph_id = sessions.graph_id
        self.graph_id = graph_id
        self.assistant_id = assistant_id_for(graph_id)
        self._created = iso(time.time())
        self._drawings: dict[Any, dict[str, Any]] = {}

    def resolve(self, assistant_id: str) -> str:
        """The assistant UUID meant by ``assistant_id`` (a UUID or the graph id); 404/422 otherwise."""
        if assistant_id in (self.assistant_id, self.graph_id):
            return self.assistant_id
        try:
            uuid.UUID(assistant_id)
        except ValueError:
            raise Unprocessable(
                f"Invalid assistant: {assistant_id!r}. Use a valid assistant UUID or the graph id "
                f"{self.graph_id!r}"
            ) from None
        raise NotFound(f"Assistant {assistant_id} not found; use {self.assistant_id} or {self.graph_id!r}")

    def to_json(self) -> dict[str, Any]:
        """The Assistant object."""
        return {
            "assistant_id": self.assistant_id,
            "graph_id": self.graph_id,
            "config": {},
            "context": {},
            "metadata": {"created_by": "system"},
            "name": self.graph_id,
            "created_at": self._created,
            "updated_at": self._created,
            "version": 1,
            "description": None,
        }

    def matches(self, metadata: dict[str, Any] | None, graph_id: str | None, name: str | None) -> bool:
        """Whether a search's filters select this assistant."""
        own = self.to_json()
        if graph_id is not None and graph_id != self.graph_id:
            return False
        if name is not None and name.lower() not in self.graph_id.lower():
            return False
        return all(own["metadata"].get(k) == v for k, v in (metadata or {}).items())

    def drawing(self, xray: bool | int) -> dict[str, Any]:
        """``graph.get_graph(xray).to_json()`` without the nodes' ``data.id`` (cached per xray)."""
        if xray not in self._drawings:
            drawn = self.sessions.draw(xray)
            for node in drawn.get("nodes", []):
                data = node.get("data")
                if isinstance(data, dict):
                    data.pop("id", None)
            self._drawings[xray] = drawn
        return self._drawings[xray]

    @cached_property
    def schemas(self) -> dict[str, Any]:
        """Input, output, state, config and context JSON schemas."""
        schemas = self.sessions.schemas()
        return {
            "graph_id": self.graph_id,
            "input_schema": schemas["input_schema"],
            "output_schema": schemas["output_schema"],
            "state_schema": schemas["output_schema"],
            "config_schema": {},
            "context_schema": schemas["context_schema"],
        }
