"""Drive one run of the graph and turn what it streams into protocol events.

``graph.astream`` is used for every stream mode except ``events``, which runs
``astream_events(version="v2")`` (the other requested modes then arrive inside the root
``on_chain_stream`` events and are unpacked from there, as the reference server does).
``values`` is always streamed internally: its last chunk is the run's result (``/wait``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessageChunk, BaseMessage, BaseMessageChunk, message_chunk_to_message
from langchain_core.runnables import RunnableConfig

from sessiongraph.api.serialize import dumps
from sessiongraph.graphs.context import Context
from sessiongraph.lifecycle import GraphInput, Turn

Publish = Callable[[str, bytes], Awaitable[None]]

# Stream modes the client may ask for -> the langgraph stream mode that produces them.
_GRAPH_MODE = {"messages-tuple": "messages", "messages": "messages"}


@dataclass
class RunPlan:
    """Everything needed to execute a run, resolved and validated at creation."""

    graph_input: GraphInput
    config: RunnableConfig
    """What the run adds to the thread's config: metadata, tags, limits, run id, configurable."""
    context: Context
    modes: list[str]
    checkpoint_id: str | None = None
    """Run from this checkpoint of the thread instead of its newest one."""
    subgraphs: bool = False
    interrupt_before: str | Sequence[str] | None = None
    interrupt_after: str | Sequence[str] | None = None
    durability: str | None = None
    """``sync``/``async``/``exit``; ``None``: LangGraph's default (``async``)."""


@dataclass
class RunOutcome:
    """What the run left behind: the last root ``values`` chunk and whether it paused."""

    values: dict[str, Any] | None = None
    interrupted: bool = False
    _messages: dict[str, BaseMessage] = field(default_factory=dict)


async def drive(turn: Turn, plan: RunPlan, publish: Publish) -> RunOutcome:
    """Run the turn's graph per ``plan``, publishing the requested events; return the outcome."""
    run_id = str(plan.config.get("run_id"))
    requested = set(plan.modes)
    graph_modes = list(
        dict.fromkeys([*(_GRAPH_MODE.get(m, m) for m in plan.modes if m != "events"), "values"])
    )
    outcome = RunOutcome()
    kwargs: dict[str, Any] = {
        "context": plan.context,
        "stream_mode": graph_modes,
        "subgraphs": plan.subgraphs,
        "interrupt_before": plan.interrupt_before,
        "interrupt_after": plan.interrupt_after,
    }
    if plan.durability is not None:
        kwargs["durability"] = plan.durability
    if "events" in requested:
        async for event in turn.astream_events(**kwargs):
            if event["event"] == "on_chain_stream" and event["run_id"] == run_id:
                await _chunk(event["data"]["chunk"], plan, requested, outcome, publish)
            else:
                await publish("events", dumps(event))
    else:
        async for chunk in turn.astream(**kwargs):
            await _chunk(chunk, plan, requested, outcome, publish)
    return outcome


async def _chunk(
    chunk: tuple[Any, ...], plan: RunPlan, requested: set[str], outcome: RunOutcome, publish: Publish
) -> None:
    if plan.subgraphs:
        ns, mode, data = chunk
    else:
        (mode, data), ns = chunk, ()
    suffix = f"|{'|'.join(ns)}" if ns else ""
    if mode == "values" and not ns:
        outcome.values = data
        if isinstance(data, dict) and data.get("__interrupt__"):
            outcome.interrupted = True
    if mode == "updates" and not ns and isinstance(data, dict) and "__interrupt__" in data:
        outcome.interrupted = True
    if mode == "messages":
        if "messages-tuple" in requested:
            await publish(f"messages{suffix}", dumps(data))
        if "messages" in requested:
            await _legacy_messages(data, outcome, publish)
        return
    if mode == "debug" and isinstance(data, dict) and data.get("type") == "checkpoint":
        data = {**data, "payload": debug_checkpoint(data.get("payload"))}
    if mode in requested:
        await publish(f"{mode}{suffix}", dumps(data))


def checkpoint_ref(config: Any) -> dict[str, Any] | None:
    """A checkpoint config as the protocol's Checkpoint object (``None`` without an id)."""
    conf = (config or {}).get("configurable") or {}
    if not conf.get("thread_id") or not conf.get("checkpoint_id"):
        return None
    ref = {"checkpoint_id": conf["checkpoint_id"], "thread_id": conf["thread_id"]}
    if "checkpoint_ns" in conf:
        ref["checkpoint_ns"] = conf["checkpoint_ns"] or ""
    if "checkpoint_map" in conf:
        ref["checkpoint_map"] = conf["checkpoint_map"]
    return ref


def debug_checkpoint(payload: Any) -> Any:
    """A ``debug`` checkpoint payload with ``checkpoint`` and ``parent_checkpoint`` added, and each
    task's ``state`` config as its ``checkpoint``, as the reference server sends it (Studio reads them)."""
    if not isinstance(payload, dict):
        return payload
    tasks = []
    for task in payload.get("tasks") or []:
        state = task.get("state") if isinstance(task, dict) else None
        if isinstance(state, dict) and state.get("configurable"):
            task = {**{k: v for k, v in task.items() if k != "state"}, "checkpoint": state["configurable"]}
        tasks.append(task)
    return {
        **payload,
        "checkpoint": checkpoint_ref(payload.get("config")),
        "parent_checkpoint": checkpoint_ref(payload.get("parent_config")),
        "tasks": tasks,
    }


async def _legacy_messages(data: Any, outcome: RunOutcome, publish: Publish) -> None:
    """The pre-``messages-tuple`` format: metadata once per message, then the accumulated message."""
    message, metadata = data
    if not isinstance(message, BaseMessage):
        return
    seen = outcome._messages
    if message.id in seen and isinstance(message, BaseMessageChunk):
        merged: Any = seen[message.id] + message  # chunks of one message add up
        seen[message.id] = merged
    else:
        if message.id not in seen:
            await publish("messages/metadata", dumps({message.id: {"metadata": metadata}}))
        seen[message.id or ""] = message
    current = seen[message.id or ""]
    if isinstance(current, AIMessageChunk | BaseMessageChunk):
        await publish("messages/partial", dumps([message_chunk_to_message(current)]))
    else:
        await publish("messages/complete", dumps([current]))
