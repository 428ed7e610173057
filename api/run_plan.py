"""Turn a run-create body into a :class:`RunPlan`: input or Command, config, context, modes.

Plain data in, plain data out: nothing here reads a store. Everything a caller can get wrong in
the body is checked here, before the run exists, so it comes back as a 4xx JSON error rather
than as a failed run.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, Send

from sessiongraph.api.errors import BadRequest, Unprocessable
from sessiongraph.api.executor import RunPlan
from sessiongraph.api.run_options import RunLimits
from sessiongraph.api.schemas import RunCreate
from sessiongraph.graphs.context import Context

_RESERVED_CONFIGURABLE = frozenset(
    {"thread_id", "checkpoint_id", "checkpoint_ns", "checkpoint_map", "run_id"}
)


def build_command(body: RunCreate, nodes: Collection[str] | None = None) -> Command:
    """``command`` as a ``langgraph.types.Command``; ``goto`` must name one of ``nodes`` when given."""
    cmd = body.command
    assert cmd is not None
    kwargs: dict[str, Any] = {}
    fields = cmd.model_fields_set
    if "resume" in fields:
        kwargs["resume"] = cmd.resume
    if cmd.update is not None:
        update = cmd.update
        if isinstance(update, list):
            update = [tuple(pair) for pair in update]
        kwargs["update"] = update
    if cmd.goto not in (None, [], ""):
        goto = cmd.goto if isinstance(cmd.goto, list) else [cmd.goto]
        kwargs["goto"] = [_goto(g, nodes) for g in goto]
    if not kwargs:
        raise Unprocessable("command needs at least one of resume, update or goto")
    return Command(**kwargs)


def _goto(target: Any, nodes: Collection[str] | None) -> str | Send:
    """One ``command.goto`` entry: a node name or ``{"node", "input"}`` (a Send)."""
    if isinstance(target, dict) and isinstance(target.get("node"), str):
        name, send = target["node"], True
    elif isinstance(target, str):
        name, send = target, False
    else:
        raise Unprocessable('command.goto takes node names or {"node": name, "input": ...} objects')
    if nodes is not None and name not in nodes:
        raise Unprocessable(f"command.goto names no node of the graph: {name!r}; nodes: {sorted(nodes)}")
    return Send(name, target.get("input")) if send else name


def build_plan(
    body: RunCreate,
    context: Callable[[Mapping[str, Any] | None], Context],
    limits: RunLimits | None = None,
    nodes: Collection[str] | None = None,
    *,
    assistant_config: Mapping[str, Any] | None = None,
    assistant_context: Mapping[str, Any] | None = None,
) -> RunPlan:
    """Validate ``body`` and resolve it into a plan; ``context`` makes the run's Context from the
    body's ``context`` (with the server's defaults); its ``ValueError`` becomes a 422. ``limits``
    are the server's per-run maximums; ``nodes`` the graph's node names (for ``command.goto``).

    The assistant's ``config`` and ``context`` are defaults the run's own override key by key;
    the merged context is also passed on in ``configurable`` (keys that are not Context fields
    reach the graph that way, as on the reference server)."""
    limits = limits or RunLimits()
    if body.command is not None and body.input is not None:
        raise Unprocessable("send either input or command, not both")
    limits.check_input(body.input)
    for name in ("interrupt_before", "interrupt_after"):
        chosen = getattr(body, name)
        unknown = sorted(set(chosen) - set(nodes)) if isinstance(chosen, list) and nodes is not None else []
        if unknown:
            raise Unprocessable(f"{name} names no node of the graph: {unknown}; nodes: {sorted(nodes or ())}")
    if body.command is not None:
        limits.check_update(body.command.update, "command.update")
    graph_input = build_command(body, nodes) if body.command is not None else body.input
    base_config = dict(assistant_config or {})
    own_config = body.config.model_dump(exclude_unset=True) if body.config else {}
    user_config = {**base_config, **own_config}
    # As on the reference server, a run without ``context`` takes it from ``configurable``.
    own_context = body.context if body.context is not None else own_config.get("configurable")
    merged_context = {**(assistant_context or {}), **(own_context or {})}
    raw_configurable = {
        **merged_context,
        **(base_config.get("configurable") or {}),
        **(own_config.get("configurable") or {}),
    }
    configurable = {k: v for k, v in raw_configurable.items() if k not in _RESERVED_CONFIGURABLE}
    checkpoint_id = str(body.checkpoint_id) if body.checkpoint_id else None
    if body.checkpoint is not None:
        checkpoint_id = body.checkpoint.checkpoint_id or checkpoint_id
        configurable["checkpoint_ns"] = body.checkpoint.checkpoint_ns
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    config = RunnableConfig(
        configurable=configurable,
        metadata={**(user_config.get("metadata") or {}), **(body.metadata or {})},
    )
    if user_config.get("tags") is not None:
        config["tags"] = user_config["tags"]
    config["recursion_limit"] = limits.recursion_limit(user_config.get("recursion_limit"))
    if user_config.get("max_concurrency") is not None:
        config["max_concurrency"] = user_config["max_concurrency"]
    try:
        run_context = context(merged_context or None)
    except (ValueError, TypeError) as exc:
        raise Unprocessable(f"context: {exc}") from None
    limits.check_context(run_context)
    return RunPlan(
        graph_input=graph_input,
        config=config,
        context=run_context,
        modes=body.modes,
        checkpoint_id=checkpoint_id,
        subgraphs=body.stream_subgraphs,
        interrupt_before=body.interrupt_before,
        interrupt_after=body.interrupt_after,
        durability=body.durability_mode or (limits.default_durability if limits else None),
    )


def run_kwargs(body: RunCreate, plan: RunPlan) -> dict[str, Any]:
    """The ``kwargs`` shown on the Run object."""
    return {
        "input": body.input,
        "command": body.command.model_dump(exclude_unset=True) if body.command else None,
        "config": body.config.model_dump(exclude_unset=True) if body.config else {},
        "context": body.context or {},
        "stream_mode": body.modes,
        "interrupt_before": body.interrupt_before,
        "interrupt_after": body.interrupt_after,
        "subgraphs": body.stream_subgraphs,
        "resumable": body.stream_resumable,
        "on_disconnect": body.on_disconnect,
        "durability": plan.durability or "async",
    }


def reject_stateless_resume(body: RunCreate) -> None:
    """A stateless run has no interrupt to resume."""
    if body.command is not None and "resume" in body.command.model_fields_set:
        raise BadRequest("You must provide a thread_id when resuming: use POST /threads/{thread_id}/runs/...")
