"""Assistants over HTTP: the system assistant, declared assistants, and resolving a run's assistant.

The system assistant has the reference server's deterministic id,
``uuid5(6ba7b821-9dad-11d1-80b4-00c04fd430c8, graph_id)``, so ``agent`` is
``fe096781-5601-53d2-b2f6-0d3403f7e9ca`` here and on ``langgraph dev`` alike; it is stored at
start-up like every other assistant (the backend's assistant registry), together with the
assistants declared in the settings file. The graph id is accepted wherever an assistant id is.
"""

from __future__ import annotations

import uuid
from typing import Any

from sessiongraph.api.errors import NotFound, Unprocessable
from sessiongraph.api.serialize import iso
from sessiongraph.checkpoints.assistants import Assistant
from sessiongraph.sessions import Sessions
from sessiongraph.settings import AssistantSpec

ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


def assistant_id_for(graph_id: str) -> str:
    """The deterministic assistant id of a graph (and of a declared assistant's name)."""
    return str(uuid.uuid5(ASSISTANT_NAMESPACE, graph_id))


def declared_id(graph_id: str, spec: AssistantSpec) -> str:
    """The id of an assistant declared in the settings: its own, or derived from its name."""
    return spec.assistant_id or assistant_id_for(f"{graph_id}:{spec.name}")


def assistant_json(assistant: Assistant) -> dict[str, Any]:
    """The Assistant object (times as ISO 8601)."""
    out = dict(assistant)
    for key in ("created_at", "updated_at"):
        if isinstance(out.get(key), int | float):
            out[key] = iso(out[key])
    return out


def require_uuid(value: str, what: str = "assistant") -> str:
    """``value`` if it is a UUID, else 422."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Unprocessable(f"Invalid {what} ID {value!r}: must be a UUID") from None


def spec_context(spec: AssistantSpec) -> dict[str, Any]:
    """A declared assistant's context defaults: ``context`` plus the named shortcuts."""
    context = dict(spec.context)
    for key in ("model", "temperature", "enabled_tools"):
        value = getattr(spec, key)
        if value is not None:
            context[key] = value
    return context


class AssistantDirectory:
    """Finds assistants for the routes and the run manager; owns the graph's drawings."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self.graph_id = sessions.graph_id
        self.assistant_id = assistant_id_for(self.graph_id)
        self._drawings: dict[Any, dict[str, Any]] = {}
        self._schemas: dict[str, Any] | None = None

    async def install(self, specs: list[AssistantSpec]) -> None:
        """Store the system assistant and the declared ones (a declared assistant whose settings
        changed gets a new version)."""
        registry = self.sessions.assistants
        await registry.create(
            self.assistant_id,
            graph_id=self.graph_id,
            metadata={"created_by": "system"},
            name=self.graph_id,
            if_exists="do_nothing",
        )
        for spec in specs:
            assistant_id = declared_id(self.graph_id, spec)
            context = spec_context(spec)
            metadata = {**spec.metadata, "created_by": "settings"}
            existing = await registry.create(
                assistant_id,
                graph_id=self.graph_id,
                context=context,
                metadata=metadata,
                name=spec.name,
                description=spec.description,
                if_exists="do_nothing",
            )
            wanted = {
                "context": context,
                "metadata": metadata,
                "name": spec.name,
                "description": spec.description,
            }
            if any(existing.get(k) != v for k, v in wanted.items()):
                await registry.update(
                    assistant_id,
                    context=context,
                    metadata=metadata,
                    name=spec.name,
                    description=spec.description,
                )

    async def get(self, assistant_id: str) -> Assistant:
        """The assistant meant by ``assistant_id`` (a UUID, or the graph id); 404/422 otherwise."""
        if assistant_id == self.graph_id:
            assistant_id = self.assistant_id
        found = await self.sessions.assistants.get(require_uuid(assistant_id))
        if found is None:
            raise NotFound(
                f"Assistant {assistant_id} not found; use {self.assistant_id}, the graph id "
                f"{self.graph_id!r}, or create one with POST /assistants"
            )
        return found

    def check_graph(self, graph_id: str | None) -> None:
        """404 for a graph this server does not serve."""
        if graph_id is not None and graph_id != self.graph_id:
            raise NotFound(f"Graph {graph_id!r} not found; this server serves {self.graph_id!r}")

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

    @property
    def schemas(self) -> dict[str, Any]:
        """Input, output, state, config and context JSON schemas of the graph (cached)."""
        if self._schemas is None:
            self._schemas = self.sessions.schemas()
        return self._schemas
