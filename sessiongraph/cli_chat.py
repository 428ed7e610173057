"""The ``sessiongraph chat`` REPL: stream turns, show the agent's steps, manage threads with slash commands.

The loop itself is synchronous (reading a line blocks); every async operation runs on one
``asyncio.Runner`` loop, which keeps the backend's connections alive between turns. Ctrl-C during a
turn cancels just that turn (the session facade rolls the thread back); Ctrl-C or EOF at the prompt
leaves the REPL.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from langgraph.types import Command
from rich.markup import escape

from sessiongraph.checkpoints.registry import ThreadNotFound
from sessiongraph.cli_render import (
    StepPrinter,
    checkpoints_table,
    print_messages,
    print_plan_request,
    print_state,
    threads_table,
)
from sessiongraph.cli_support import CliOptions, console, open_sessions
from sessiongraph.sessions import Sessions, TurnInput

T = TypeVar("T")

HELP = """[bold]Commands[/bold]
  /help              this help
  /threads           list threads (newest first)
  /history [N]       this thread's messages and its last N checkpoints (default 10)
  /state             this thread's current state
  /switch ID         continue another existing thread
  /new [ID]          start a new thread (a random id unless given)
  /quit              leave (also /exit, Ctrl-D)
Anything else is sent to the agent as your message."""


class EndOfInput(Exception):
    """The user closed the input (EOF) or pressed Ctrl-C at a prompt."""


def read_line(prompt: str) -> str:
    """One line from the user; ``EndOfInput`` on EOF or Ctrl-C."""
    try:
        return console.input(prompt)
    except (EOFError, KeyboardInterrupt) as exc:
        raise EndOfInput from exc


class ChatRepl:
    """One interactive chat session over a :class:`Sessions` facade."""

    def __init__(
        self, runner: asyncio.Runner, sessions: Sessions, options: CliOptions, approve: bool
    ) -> None:
        self.runner = runner
        self.sessions = sessions
        self.options = options
        self.context = options.context(require_plan_approval=approve)
        self.thread_id = ""
        self.commands: dict[str, Callable[[list[str]], bool]] = {
            "/help": self.cmd_help,
            "/threads": self.cmd_threads,
            "/history": self.cmd_history,
            "/state": self.cmd_state,
            "/switch": self.cmd_switch,
            "/new": self.cmd_new,
            "/quit": self.cmd_quit,
            "/exit": self.cmd_quit,
        }

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the REPL's loop."""
        return self.runner.run(coro)

    # --- the loop ----------------------------------------------------------------------------

    def loop(self, thread_id: str | None) -> None:
        """Greet, then read and handle lines until /quit or end of input."""
        approval = "on" if self.context.require_plan_approval else "off"
        console.print(
            f"[dim]backend {escape(self.options.settings.checkpoint_url)} · model "
            f"{escape(self.options.model_spec)} · plan approval {approval} · /help for commands[/dim]"
        )
        try:
            self.enter_thread(thread_id or str(uuid.uuid4()), create=True)
            while True:
                line = read_line("[bold blue]you>[/bold blue] ").strip()
                if not line:
                    continue
                if line.startswith("/"):
                    if not self.command(line):
                        break
                    continue
                self.turn(line)
        except (EndOfInput, KeyboardInterrupt):
            console.print()
        console.print(f"[dim]bye — continue later with: sessiongraph chat --thread {self.thread_id}[/dim]")

    def command(self, line: str) -> bool:
        """Handle a slash command; ``False`` means leave the REPL."""
        name, *args = line.split()
        handler = self.commands.get(name.lower())
        if handler is None:
            console.print(f"[red]unknown command {escape(name)}[/red] — /help lists the commands")
            return True
        try:
            return handler(args)
        except (EndOfInput, KeyboardInterrupt):
            raise
        except Exception as exc:  # a failed command must not end the REPL
            console.print(f"[red]error:[/red] {escape(str(exc) or type(exc).__name__)}")
            return True

    def turn(self, message: TurnInput, *, create: bool = True) -> None:
        """Run one turn, streaming it; then handle a plan-approval pause if the graph made one."""
        printer = StepPrinter(console)

        async def stream() -> None:
            async for event in self.sessions.astream_events(
                self.thread_id, message, context=self.context, create=create
            ):
                printer.handle(event)

        try:
            self.run(stream())
        except KeyboardInterrupt:
            printer.finish()
            console.print("[yellow]turn cancelled; the thread was rolled back to before it[/yellow]")
            return
        except Exception as exc:  # a failed turn must not end the REPL
            printer.finish()
            console.print(f"[red]error:[/red] {escape(str(exc) or type(exc).__name__)}")
            console.print("[dim]the thread was rolled back to before this turn; try again[/dim]")
            return
        if not printer.answer_started:
            self.print_last_answer()
        printer.finish()
        self.review_pending_plan()

    def print_last_answer(self) -> None:
        """Show the last AI message when nothing was streamed (e.g. a model without streaming)."""
        state = self.run(self.sessions.get_state(self.thread_id))
        if state.interrupts:
            return
        messages = state.values.get("messages", [])
        if messages and messages[-1].type == "ai":
            print_messages(console, messages[-1:], limit=10_000)

    def review_pending_plan(self) -> None:
        """While the thread waits at the plan-approval interrupt, ask the user and resume."""
        state = self.run(self.sessions.get_state(self.thread_id))
        if not state.interrupts:
            return
        print_plan_request(console, state.interrupts[0].value)
        decision = ask_review()
        self.turn(Command(resume=decision), create=False)

    # --- threads -----------------------------------------------------------------------------

    def enter_thread(self, thread_id: str, *, create: bool) -> None:
        """Make ``thread_id`` the current thread (creating it if asked) and show where it stands."""
        if create:
            self.run(self.sessions.create_thread(thread_id, if_exists="do_nothing"))
        else:
            self.run(self.sessions.get_thread(thread_id))
        self.thread_id = thread_id
        state = self.run(self.sessions.get_state(thread_id))
        count = len(state.values.get("messages", []))
        console.print(f"[bold]thread[/bold] [cyan]{escape(thread_id)}[/cyan] [dim]({count} messages)[/dim]")
        if state.interrupts:
            self.review_pending_plan()

    def cmd_help(self, args: list[str]) -> bool:
        """/help"""
        console.print(HELP)
        return True

    def cmd_threads(self, args: list[str]) -> bool:
        """/threads"""
        threads = self.run(self.sessions.list_threads(limit=50))
        console.print(threads_table(threads))
        return True

    def cmd_history(self, args: list[str]) -> bool:
        """/history [N]"""
        limit = int(args[0]) if args and args[0].isdigit() else 10
        state = self.run(self.sessions.get_state(self.thread_id))
        messages = state.values.get("messages", [])
        console.print(f"[bold]messages[/bold] ({len(messages)})")
        print_messages(console, messages)
        history = self.run(self.sessions.get_history(self.thread_id, limit=limit))
        console.print(checkpoints_table(history))
        return True

    def cmd_state(self, args: list[str]) -> bool:
        """/state"""
        print_state(console, self.run(self.sessions.get_state(self.thread_id)))
        return True

    def cmd_switch(self, args: list[str]) -> bool:
        """/switch ID"""
        if len(args) != 1:
            console.print("[red]usage: /switch THREAD_ID[/red] (see /threads)")
            return True
        try:
            self.enter_thread(args[0], create=False)
        except ThreadNotFound as exc:
            console.print(f"[red]{escape(str(exc))}[/red] — /new {escape(args[0])} starts it")
        return True

    def cmd_new(self, args: list[str]) -> bool:
        """/new [ID]"""
        thread_id = args[0] if args else str(uuid.uuid4())
        self.enter_thread(thread_id, create=True)
        return True

    def cmd_quit(self, args: list[str]) -> bool:
        """/quit"""
        return False


def ask_review() -> Any:
    """Ask approve / edit / reject; the answer is a resume value for the review node."""
    while True:
        choice = read_line("[magenta]approve, edit or reject?[/magenta] [a/e/r] ").strip().lower()
        if choice in ("a", "approve", "y", "yes"):
            return "approve"
        if choice in ("r", "reject", "n", "no"):
            reason = read_line("reason (optional): ").strip()
            return {"action": "reject", "reason": reason} if reason else {"action": "reject"}
        if choice in ("e", "edit"):
            console.print("[dim]enter the new plan, one step per line; an empty line ends it[/dim]")
            steps: list[str] = []
            while line := read_line(f"  {len(steps) + 1}. ").strip():
                steps.append(line)
            if steps:
                return {"action": "edit", "plan": steps}
            console.print("[red]an edited plan needs at least one step[/red]")
            continue
        console.print("[red]answer a (approve), e (edit) or r (reject)[/red]")


def run_chat(options: CliOptions, thread_id: str | None, approve: bool) -> None:
    """Open the backend and run the REPL until the user leaves."""
    with asyncio.Runner() as runner:
        stack = contextlib.AsyncExitStack()
        sessions = runner.run(stack.enter_async_context(open_sessions(options)))
        try:
            ChatRepl(runner, sessions, options, approve).loop(thread_id)
        finally:
            runner.run(stack.aclose())
