"""LangGraph/LangChain objects -> the protocol's JSON (orjson, one pass, no intermediate dicts).

Messages become their ``model_dump()`` dicts, datetimes RFC 3339 strings, ``Interrupt`` objects
``{"value", "id", "response_schema"}``, exceptions ``{"error": <class>, "message": str}``; anything
else orjson cannot encode is written as its ``str()`` so a stream never dies on an odd value.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from langchain_core.runnables import RunnableConfig
from langgraph.types import Interrupt, Send, StateSnapshot
from pydantic import BaseModel

from sessiongraph.checkpoints.registry import ThreadInfo


def _default(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump()
    if isinstance(obj, Interrupt):
        return {"value": obj.value, "id": obj.id, "response_schema": _schema_or_none(obj)}
    if isinstance(obj, Send):
        return {"node": obj.node, "args": obj.arg}
    if isinstance(obj, BaseException):
        return error_payload(obj)
    if isinstance(obj, set | frozenset):
        return list(obj)
    if isinstance(obj, bytes | bytearray):
        return base64.b64encode(obj).decode()
    if hasattr(obj, "_asdict"):
        return obj._asdict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, type):
        return obj.__name__
    return str(obj)


def _schema_or_none(interrupt: Interrupt) -> Any:
    schema = getattr(interrupt, "response_schema", None)
    return schema if schema is None or isinstance(schema, dict) else getattr(schema, "__name__", None)


def dumps(value: Any) -> bytes:
    """Encode ``value`` as protocol JSON bytes."""
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)


def loads(data: bytes | str) -> Any:
    """Decode JSON bytes."""
    return orjson.loads(data)


def error_payload(exc: BaseException) -> dict[str, str]:
    """An exception as the protocol's ``{"error", "message"}`` pair."""
    return {"error": type(exc).__name__, "message": str(exc)}


def iso(ts: float | datetime | None) -> str | None:
    """A UNIX time or datetime as an RFC 3339 string with offset."""
    if ts is None:
        return None
    moment = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, UTC)
    return moment.isoformat()


# --- state ---------------------------------------------------------------------------------------


def checkpoint_of(config: RunnableConfig | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``{thread_id, checkpoint_ns, checkpoint_id[, checkpoint_map]}`` of a checkpoint config."""
    if not config:
        return None
    conf = config.get("configurable") or {}
    out = {
        "thread_id": conf.get("thread_id"),
        "checkpoint_ns": conf.get("checkpoint_ns", ""),
        "checkpoint_id": conf.get("checkpoint_id"),
    }
    if conf.get("checkpoint_map"):
        out["checkpoint_map"] = conf["checkpoint_map"]
    return out


def snapshot_json(snapshot: StateSnapshot) -> dict[str, Any]:
    """A ``StateSnapshot`` as the protocol's ThreadState object (left for :func:`dumps` to encode)."""
    tasks = []
    interrupts: list[Interrupt] = []
    for task in snapshot.tasks:
        state = task.state
        nested_state = snapshot_json(state) if isinstance(state, StateSnapshot) else None
        nested_checkpoint = (state or {}).get("configurable") if isinstance(state, dict) else None
        tasks.append(
            {
                "id": task.id,
                "name": task.name,
                "path": list(task.path),
                "error": repr(task.error) if task.error is not None else None,
                "interrupts": list(task.interrupts),
                "checkpoint": nested_checkpoint,
                "state": nested_state,
                "result": task.result,
            }
        )
        interrupts.extend(task.interrupts)
    metadata = dict(snapshot.metadata or {}) if snapshot.metadata is not None else None
    if metadata is not None and metadata.get("checkpoint_ns") == "":
        metadata.pop("checkpoint_ns")
    checkpoint = checkpoint_of(snapshot.config)
    parent = checkpoint_of(snapshot.parent_config)
    return {
        "values": snapshot.values if snapshot.values is not None else {},
        "next": list(snapshot.next),
        "tasks": tasks,
        "metadata": metadata,
        "created_at": snapshot.created_at,
        "checkpoint": checkpoint,
        "parent_checkpoint": parent,
        "interrupts": interrupts,
        "checkpoint_id": checkpoint["checkpoint_id"] if checkpoint else None,
        "parent_checkpoint_id": parent["checkpoint_id"] if parent else None,
    }


EMPTY_STATE: dict[str, Any] = {
    "values": {},
    "next": [],
    "tasks": [],
    "metadata": None,
    "created_at": None,
    "checkpoint": None,
    "parent_checkpoint": None,
    "interrupts": [],
    "checkpoint_id": None,
    "parent_checkpoint_id": None,
}


def thread_json(
    info: ThreadInfo,
    *,
    values: Any = None,
    interrupts: Mapping[str, list[Any]] | None = None,
    error: Any = None,
) -> dict[str, Any]:
    """A registry record as the protocol's Thread object."""
    metadata = dict(info.metadata)
    if info.owner is not None:
        metadata["owner"] = info.owner
    return {
        "thread_id": info.thread_id,
        "created_at": iso(info.created_at),
        "updated_at": iso(info.updated_at),
        "state_updated_at": iso(info.updated_at),
        "metadata": metadata,
        "status": info.status,
        "config": {},
        "values": values,
        "interrupts": dict(interrupts or {}),
        "error": error,
    }


def ttl_json(info: ThreadInfo) -> dict[str, Any] | None:
    """The Thread's ``ttl`` (``GET /threads/{id}?include=ttl``): ``None`` when it has none.

    The TTL counts from the thread's last update, so ``expires_at`` moves with every turn.
    """
    if info.ttl_minutes is None:
        return None
    return {
        "strategy": "delete",
        "ttl_minutes": info.ttl_minutes,
        "expires_at": iso(info.updated_at + info.ttl_minutes * 60.0),
    }
