"""The ``sessiongraph`` command line: chat, one-shot questions, thread management and the API server.

Examples::

    sessiongraph chat                                   # a new thread, streaming answers
    sessiongraph chat --thread demo --approve-plans     # review each plan before it runs
    sessiongraph ask --thread demo "what is 6*7?"
    sessiongraph ask --thread demo --json "and 12*7?"
    sessiongraph threads list --metadata user=ada
    sessiongraph threads show demo
    sessiongraph threads delete demo --yes
    sessiongraph threads export -o threads.jsonl        # then `threads import` on another backend
    sessiongraph --checkpoint-url postgresql://app@db/sessions migrate
    sessiongraph --checkpoint-url redis://127.0.0.1:6379/0 serve --port 8080

The backend and model come from the settings (``SESSIONGRAPH_*`` variables, ``SESSIONGRAPH_CONFIG``
or ``./sessiongraph.yaml``); ``--checkpoint-url`` and ``--model`` override them.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, TextIO

import click
import typer
from rich.markup import escape

from sessiongraph.checkpoints.registry import THREAD_STATUSES, ThreadExists, ThreadNotFound
from sessiongraph.cli_render import (
    message_text,
    print_messages,
    print_stats,
    print_thread_record,
    threads_table,
)
from sessiongraph.cli_support import (
    CliOptions,
    console,
    err_console,
    open_sessions,
    parse_metadata,
    resolve_options,
)
from sessiongraph.settings import settings_with
from sessiongraph.transfer import ImportFormatError, ImportReport, export_threads, import_threads

app = typer.Typer(
    name="sessiongraph",
    help="A LangGraph agent with checkpointed sessions: chat with it, manage threads, serve the API.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
threads_app = typer.Typer(help="List, inspect and delete session threads.", no_args_is_help=True)
app.add_typer(threads_app, name="threads")

ThreadArg = Annotated[str, typer.Argument(help="The thread id.")]


@app.callback()
def main(
    ctx: typer.Context,
    checkpoint_url: Annotated[
        str | None,
        typer.Option(
            "--checkpoint-url",
            help="Where sessions live: memory://, sqlite:///path.db, redis://host:port/db or "
            "postgresql://user@host/db (default: settings).",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="'offline' or 'openai:<model name>' (default: settings).", show_default=False
        ),
    ] = None,
) -> None:
    """Keep the global options; commands resolve them into settings (so --help always works)."""
    ctx.obj = {"checkpoint_url": checkpoint_url, "model": model}


def _options(ctx: typer.Context) -> CliOptions:
    """The settings for this invocation: env/YAML with the global options applied (validated)."""
    raw = ctx.find_root().obj or {}
    return resolve_options(raw.get("checkpoint_url"), raw.get("model"))


# --- chat / ask -------------------------------------------------------------------------------


@app.command()
def chat(
    ctx: typer.Context,
    thread: Annotated[
        str | None,
        typer.Option("--thread", "-t", help="Continue (or start) this thread; default: a new one."),
    ] = None,
    approve_plans: Annotated[
        bool, typer.Option("--approve-plans", help="Pause before each plan runs: approve, edit or reject it.")
    ] = False,
) -> None:
    """Chat with the agent: answers stream token by token; /help lists the slash commands."""
    from sessiongraph.cli_chat import run_chat

    run_chat(_options(ctx), thread, approve_plans)


@app.command()
def ask(
    ctx: typer.Context,
    message: Annotated[str, typer.Argument(help="Your message.")],
    thread: Annotated[str, typer.Option("--thread", "-t", help="The thread (created if it does not exist).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {thread_id, status, message} as JSON.")
    ] = False,
) -> None:
    """Send one message to a thread and print the answer."""
    options = _options(ctx)

    async def run() -> tuple[dict[str, Any], str]:
        async with open_sessions(options) as sessions:
            values = await sessions.invoke(thread, message, context=options.context())
            info = await sessions.get_thread(thread)
            return values, info.status

    try:
        values, status = asyncio.run(run())
    except (click.ClickException, click.exceptions.Exit):
        raise
    except Exception as exc:
        reason = escape(str(exc) or type(exc).__name__)
        err_console.print(f"[red]Error:[/red] the turn failed and the thread was rolled back: {reason}")
        raise typer.Exit(1) from None
    messages = values.get("messages", [])
    last = messages[-1] if messages else None
    if as_json:
        payload = {
            "thread_id": thread,
            "status": status,
            "message": None if last is None else {"type": last.type, "content": last.content, "id": last.id},
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
    elif last is not None:
        typer.echo(message_text(last))
    if status == "interrupted" and not as_json:
        err_console.print(
            f"thread {escape(thread)} waits for plan approval: sessiongraph chat --thread {escape(thread)}"
        )


# --- threads ----------------------------------------------------------------------------------


@threads_app.command("list")
def threads_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many threads.")] = 20,
    metadata: Annotated[
        list[str] | None,
        typer.Option("--metadata", "-m", help="Only threads whose metadata has key=value (repeatable)."),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help=f"Only threads in this status ({'|'.join(THREAD_STATUSES)})."),
    ] = None,
) -> None:
    """List threads, most recently updated first."""
    options = _options(ctx)
    filters = parse_metadata(metadata or [])
    if status is not None and status not in THREAD_STATUSES:
        raise typer.BadParameter(f"use one of {', '.join(THREAD_STATUSES)}", param_hint="--status")

    async def run() -> list[Any]:
        async with open_sessions(options) as sessions:
            return await sessions.list_threads(metadata=filters or None, status=status, limit=limit)

    threads = asyncio.run(run())
    if not threads:
        console.print("[dim]no threads[/dim]")
        return
    console.print(threads_table(threads))


@threads_app.command("create")
def threads_create(
    ctx: typer.Context,
    thread_id: Annotated[str | None, typer.Argument(help="The id (default: a random UUID).")] = None,
    metadata: Annotated[
        list[str] | None, typer.Option("--metadata", "-m", help="key=value metadata (repeatable).")
    ] = None,
) -> None:
    """Create an empty thread and print its id."""
    options = _options(ctx)
    meta = parse_metadata(metadata or [])

    async def run() -> str:
        async with open_sessions(options) as sessions:
            try:
                info = await sessions.create_thread(thread_id, metadata=meta)
            except ThreadExists as exc:
                raise typer.BadParameter(str(exc), param_hint="THREAD_ID") from None
            return info.thread_id

    typer.echo(asyncio.run(run()))


@threads_app.command("show")
def threads_show(
    ctx: typer.Context,
    thread_id: ThreadArg,
    last: Annotated[int, typer.Option("--last", help="How many of the newest messages to show.")] = 6,
) -> None:
    """Show a thread: its record, message count, newest messages (and stats when available)."""
    options = _options(ctx)

    async def run() -> None:
        async with open_sessions(options) as sessions:
            info = await _require_thread(sessions, thread_id)
            state = await sessions.get_state(thread_id)
            stats = await sessions.thread_stats(thread_id) if hasattr(sessions, "thread_stats") else None
        print_thread_record(console, info)
        messages = state.values.get("messages", [])
        console.print(f"  messages   {len(messages)}")
        if state.interrupts:
            console.print("  [magenta]waiting for plan approval[/magenta]")
        if stats is not None:
            print_stats(console, stats)
        if messages and last > 0:
            console.print(f"[bold]last {min(last, len(messages))} messages[/bold]")
            print_messages(console, messages[-last:])

    asyncio.run(run())


@threads_app.command("delete")
def threads_delete(
    ctx: typer.Context,
    thread_id: ThreadArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a thread and all its checkpoints."""
    options = _options(ctx)

    async def exists() -> None:
        async with open_sessions(options) as sessions:
            await _require_thread(sessions, thread_id)

    async def delete() -> None:
        async with open_sessions(options) as sessions:
            await sessions.delete_thread(thread_id)

    asyncio.run(exists())
    if not yes:
        typer.confirm(f"Delete thread {thread_id} and all its checkpoints?", abort=True)
    asyncio.run(delete())
    typer.echo(f"deleted {thread_id}")


@threads_app.command("export")
def threads_export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """Write every thread (record, messages, summary) as JSON lines: a backup, or `threads import`."""
    options = _options(ctx)

    async def run(out: TextIO) -> int:
        count = 0
        async with open_sessions(options) as sessions:
            async for line in export_threads(sessions):
                out.write(line + "\n")
                count += 1
        return count

    if output is None:
        asyncio.run(run(sys.stdout))
        return
    with output.open("w", encoding="utf-8") as out:
        count = asyncio.run(run(out))
    err_console.print(f"exported {count} thread(s) to {escape(str(output))}")


@threads_app.command("import")
def threads_import(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="A file written by `threads export` ('-': stdin).")],
) -> None:
    """Create the exported threads here with their conversations (existing ids are skipped)."""
    options = _options(ctx)

    async def run(lines: Iterable[str]) -> ImportReport:
        async with open_sessions(options) as sessions:
            return await import_threads(sessions, lines)

    try:
        if str(source) == "-":
            report = asyncio.run(run(sys.stdin))
        else:
            if not source.is_file():
                raise typer.BadParameter(f"no such file: {source}", param_hint="SOURCE")
            with source.open(encoding="utf-8") as lines:
                report = asyncio.run(run(lines))
    except ImportFormatError as exc:
        raise typer.BadParameter(str(exc), param_hint="SOURCE") from None
    typer.echo(f"imported {report.imported} thread(s), skipped {report.skipped} existing")


async def _require_thread(sessions: Any, thread_id: str) -> Any:
    try:
        return await sessions.get_thread(thread_id)
    except ThreadNotFound as exc:
        raise typer.BadParameter(str(exc), param_hint="THREAD_ID") from None


@app.command()
def migrate(ctx: typer.Context) -> None:
    """Create or upgrade the backend's tables (the server and CLI also do it when they open it)."""
    options = _options(ctx)

    async def run() -> str:
        async with open_sessions(options) as sessions:
            return await sessions.migrate()

    typer.echo(asyncio.run(run()))


# --- serve ------------------------------------------------------------------------------------


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Bind address (default: settings).")] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=0, max=65535, help="Port (default: settings).")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            help="Server processes sharing the sessions (redis:// or postgresql:// backends).",
        ),
    ] = 1,
) -> None:
    """Serve the Agent-Protocol HTTP API (LangGraph SDK and Studio compatible)."""
    options = _options(ctx)
    overrides: dict[str, Any] = {
        "checkpoint_url": options.settings.checkpoint_url,
        "model": options.settings.model,
    }
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = settings_with(**overrides)
    try:
        from sessiongraph.api.server import serve as serve_api
    except ImportError as exc:
        err_console.print(f"[red]Error:[/red] the HTTP API is not available: {escape(str(exc))}")
        raise typer.Exit(1) from None
    serve_api(settings, workers=workers)


if __name__ == "__main__":  # pragma: no cover
    app()
