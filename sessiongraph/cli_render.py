"""How the CLI shows things: threads, messages, checkpoints, state and the agent's steps while it runs."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.types import StateSnapshot
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sessiongraph.checkpoints.registry import ThreadInfo

ROLE_LABELS = {"human": "you", "ai": "assistant", "tool": "tool", "system": "system"}
STATUS_STYLES = {"idle": "green", "busy": "yellow", "interrupted": "magenta", "error": "red"}


def short(text: str, limit: int = 160) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def local_time(timestamp: float | str | None) -> str:
    """A UNIX timestamp or ISO string as local ``YYYY-MM-DD HH:MM:SS``."""
    if timestamp is None:
        return "-"
    if isinstance(timestamp, str):
        moment = datetime.fromisoformat(timestamp)
    else:
        moment = datetime.fromtimestamp(timestamp)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def message_text(message: BaseMessage) -> str:
    """The text of a message (string content, or the text parts of a content list)."""
    return message.text


def threads_table(threads: Sequence[ThreadInfo], title: str = "threads") -> Table:
    """A table of thread records, newest first as given."""
    table = Table(title=title, title_justify="left")
    table.add_column("thread_id", no_wrap=True, style="cyan")
    table.add_column("status", no_wrap=True)
    table.add_column("updated", no_wrap=True)
    table.add_column("metadata", overflow="fold")
    for info in threads:
        style = STATUS_STYLES.get(info.status, "")
        table.add_row(
            info.thread_id,
            f"[{style}]{info.status}[/{style}]" if style else info.status,
            local_time(info.updated_at),
            escape(json.dumps(info.metadata, default=str)) if info.metadata else "",
        )
    return table


def print_thread_record(console: Console, info: ThreadInfo) -> None:
    """The registry record of one thread."""
    console.print(f"[bold]thread[/bold] [cyan]{escape(info.thread_id)}[/cyan]")
    console.print(f"  status     {info.status}")
    console.print(f"  created    {local_time(info.created_at)}")
    console.print(f"  updated    {local_time(info.updated_at)}")
    console.print(f"  metadata   {escape(json.dumps(info.metadata, default=str))}")
    if info.owner is not None:
        console.print(f"  owner      {escape(info.owner)}")
    if info.ttl_minutes is not None:
        console.print(f"  ttl        {info.ttl_minutes:g} min")


def print_stats(console: Console, stats: Any) -> None:
    """The fields of a stats object (a dataclass or any object with attributes)."""
    if dataclasses.is_dataclass(stats) and not isinstance(stats, type):
        fields = dataclasses.asdict(stats)
    elif isinstance(stats, dict):
        fields = stats
    else:
        fields = {k: v for k, v in vars(stats).items() if not k.startswith("_")}
    console.print("[bold]stats[/bold]")
    for key, value in fields.items():
        if key == "thread_id":
            continue
        console.print(f"  {key:<22} {escape(str(value))}")


def print_messages(console: Console, messages: Sequence[BaseMessage], limit: int = 160) -> None:
    """One line per message: role, text, and the tool calls an AI message asks for."""
    for message in messages:
        role = ROLE_LABELS.get(message.type, message.type)
        if isinstance(message, ToolMessage):
            role = f"tool[{message.name}]"
        text = escape(short(message_text(message), limit))
        line = f"[bold]{escape(role)}:[/bold] {text}"
        if isinstance(message, AIMessage) and message.tool_calls:
            calls = ", ".join(f"{c['name']}({json.dumps(c['args'])})" for c in message.tool_calls)
            line += f" [dim]→ calls {escape(calls)}[/dim]"
        console.print(line)


def checkpoints_table(history: Sequence[StateSnapshot]) -> Table:
    """A table of checkpoints (newest first): step, source, what runs next, id."""
    table = Table(title="checkpoints (newest first)", title_justify="left")
    table.add_column("step", justify="right", no_wrap=True)
    table.add_column("source", no_wrap=True)
    table.add_column("next", no_wrap=True)
    table.add_column("messages", justify="right", no_wrap=True)
    table.add_column("checkpoint_id", no_wrap=True, style="cyan")
    for snapshot in history:
        metadata = snapshot.metadata or {}
        table.add_row(
            str(metadata.get("step", "")),
            str(metadata.get("source", "")),
            ",".join(snapshot.next) or "-",
            str(len(snapshot.values.get("messages", []))),
            snapshot.config["configurable"].get("checkpoint_id", ""),
        )
    return table


def print_state(console: Console, snapshot: StateSnapshot) -> None:
    """The thread's current state: head checkpoint, counts, the last turn's working fields."""
    values = snapshot.values or {}
    checkpoint_id = snapshot.config.get("configurable", {}).get("checkpoint_id", "-")
    console.print(f"[bold]checkpoint[/bold]  {checkpoint_id}")
    console.print(f"[bold]messages[/bold]    {len(values.get('messages', []))}")
    console.print(f"[bold]next[/bold]        {', '.join(snapshot.next) or '-'}")
    if values.get("summary"):
        console.print(f"[bold]summary[/bold]     {escape(short(values['summary'], 300))}")
    if values.get("understanding"):
        console.print(f"[bold]goal[/bold]        {escape(values['understanding'].get('goal', ''))}")
    for index, step in enumerate(values.get("plan") or [], start=1):
        console.print(f"[bold]plan[/bold] {index:>2}.     {escape(step)}")
    if values.get("plan_review"):
        console.print(f"[bold]review[/bold]      {values['plan_review']}")
    for result in values.get("step_results") or []:
        mark = "ok" if result.get("ok") else "failed"
        console.print(
            f"[bold]step[/bold]        {escape(result['tool'])}({escape(json.dumps(result['args']))}) "
            f"→ {escape(short(result['output'], 80))} [dim]({mark})[/dim]"
        )
    if values.get("reflection"):
        reflection = values["reflection"]
        console.print(f"[bold]reflection[/bold]  {reflection['verdict']}: {escape(reflection['reason'])}")
    if snapshot.interrupts:
        console.print("[magenta]waiting for plan approval[/magenta]")


def print_plan_request(console: Console, request: Any) -> None:
    """The plan waiting for approval (the ``review_plan`` interrupt's value)."""
    request = request if isinstance(request, dict) else {"plan": [str(request)]}
    console.print("[magenta bold]Plan approval needed[/magenta bold]")
    if request.get("goal"):
        console.print(f"  goal: {escape(request['goal'])}")
    for index, step in enumerate(request.get("plan") or [], start=1):
        console.print(f"  {index}. {escape(step)}")
    if request.get("error"):
        console.print(f"  [red]{escape(request['error'])}[/red]")


class StepPrinter:
    """Prints one turn's ``astream_events`` v2 events: answer tokens as they come, steps dimmed."""

    STEP_NODES = ("summarize", "understand", "plan", "review_plan", "reflect")

    def __init__(self, console: Console) -> None:
        self.console = console
        self.answer_started = False

    def handle(self, event: dict[str, Any]) -> None:
        """Render one event (events that carry nothing to show are ignored)."""
        kind = event.get("event")
        node = (event.get("metadata") or {}).get("langgraph_node")
        data = event.get("data") or {}
        if kind == "on_chat_model_stream" and node == "answer":
            text = _chunk_text(data.get("chunk"))
            if text:
                self._start_answer()
                self.console.print(text, end="", markup=False)
                self.console.file.flush()
        elif kind == "on_tool_end":
            self._tool_line(event.get("name", "?"), data.get("input"), data.get("output"))
        elif kind == "on_tool_error":
            error = data.get("error")
            text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
            self._tool_line(event.get("name", "?"), data.get("input"), text, failed=True)
        elif kind == "on_chain_end" and event.get("name") == node and node in self.STEP_NODES:
            self._step_line(node, data.get("output"))

    def finish(self) -> None:
        """End the answer's line."""
        if self.answer_started:
            self.console.print()
            self.answer_started = False

    def _start_answer(self) -> None:
        if not self.answer_started:
            self.console.print("[bold green]assistant:[/bold green] ", end="")
            self.answer_started = True

    def _tool_line(self, name: str, tool_input: Any, output: Any, *, failed: bool = False) -> None:
        failed = failed or (isinstance(output, ToolMessage) and output.status == "error")
        text = message_text(output) if isinstance(output, BaseMessage) else str(output)
        args = json.dumps(tool_input, default=str) if isinstance(tool_input, dict) else str(tool_input)
        mark = " [red](failed)[/red]" if failed else ""
        self.console.print(
            f"[dim]  ↳ tool {escape(name)}({escape(args)}) → {escape(short(text, 120))}[/dim]{mark}"
        )

    def _step_line(self, node: str, output: Any) -> None:
        if not isinstance(output, dict):
            return
        if node == "plan" and output.get("plan"):
            steps = "; ".join(f"{i}. {s}" for i, s in enumerate(output["plan"], start=1))
            replan = " (replan)" if output.get("iteration") else ""
            self.console.print(f"[dim]  plan{replan}: {escape(steps)}[/dim]")
        elif node == "understand" and output.get("understanding"):
            understanding = output["understanding"]
            tools = "tools needed" if understanding.get("needs_tools") else "no tools"
            self.console.print(f"[dim]  goal: {escape(understanding.get('goal', ''))} ({tools})[/dim]")
        elif node == "review_plan" and output.get("plan_review"):
            self.console.print(f"[dim]  plan {output['plan_review']}[/dim]")
        elif node == "reflect" and output.get("reflection"):
            reflection = output["reflection"]
            self.console.print(
                f"[dim]  reflect: {reflection['verdict']} — {escape(reflection['reason'])}[/dim]"
            )
        elif node == "summarize" and output.get("summary"):
            self.console.print("[dim]  summarized older turns[/dim]")


def _chunk_text(chunk: Any) -> str:
    if chunk is None:
        return ""
    if isinstance(chunk, BaseMessage):
        return message_text(chunk)
    return str(getattr(chunk, "content", chunk) or "")
