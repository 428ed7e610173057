"""JSON schemas of a compiled graph, derived the way the reference Agent Server derives them
(Studio renders its forms from these): input, output, state, config and context."""

from __future__ import annotations

import logging
from typing import Any

from langgraph.pregel import Pregel
from pydantic import TypeAdapter, create_model

log = logging.getLogger("sessiongraph.graphs.schemas")

_EXCLUDED_CONFIGURABLE = (
    "__pregel_checkpointer",
    "__pregel_store",
    "checkpoint_id",
    "checkpoint_ns",
    "thread_id",
)


def config_jsonschema(graph: Pregel) -> dict[str, Any]:
    """The schema of ``config["configurable"]`` (for a graph with a context schema: its fields)."""
    config_schema = graph.config_schema()
    fields = getattr(config_schema, "model_fields", None)
    if not fields or "configurable" not in fields:
        return {}
    annotation: Any = fields["configurable"].annotation
    schema: dict[str, Any] = TypeAdapter(annotation).json_schema()
    for key in _EXCLUDED_CONFIGURABLE:
        schema.get("properties", {}).pop(key, None)
    config_type = getattr(graph, "config_type", None)
    if config_type is not None and hasattr(config_type, "__name__"):
        schema["title"] = config_type.__name__
    return schema


def state_jsonschema(graph: Pregel) -> dict[str, Any]:
    """One optional property per output channel, typed by what the channel accepts."""
    fields: dict[str, Any] = {}
    for key in graph.stream_channels_list:
        update_type = getattr(graph.channels[key], "UpdateType", Any)
        try:
            create_model(key, __root__=(update_type, None)).model_json_schema()
            fields[key] = (update_type, None)
        except Exception:
            fields[key] = (Any, None)
    return create_model(graph.get_name("State"), **fields).model_json_schema()


def graph_schemas(graph: Pregel) -> dict[str, Any]:
    """``input_schema``, ``output_schema``, ``state_schema``, ``config_schema``, ``context_schema``
    (``None`` for one that cannot be derived, as the reference answers)."""
    makers = {
        "input_schema": graph.get_input_jsonschema,
        "output_schema": graph.get_output_jsonschema,
        "state_schema": lambda: state_jsonschema(graph),
        "config_schema": lambda: config_jsonschema(graph),
        "context_schema": graph.get_context_jsonschema,
    }
    schemas: dict[str, Any] = {}
    for name, make in makers.items():
        try:
            schemas[name] = make()
        except Exception as exc:
            log.warning("cannot derive %s of graph %s: %r", name, graph.name, exc)
            schemas[name] = None
    return schemas
