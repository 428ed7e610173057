"""What the CLI commands share: resolved settings, opening sessions, and turning user mistakes into errors.

User mistakes (a bad checkpoint URL, an unknown model, an unknown thread) become
``typer.BadParameter`` (exit code 2, no traceback); a backend that cannot be reached becomes a
one-line error and exit code 1.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from sessiongraph.checkpoints import BackendURLError
from sessiongraph.graphs.context import Context
from sessiongraph.nodes.models import ModelConfigError, create_chat_model
from sessiongraph.sessions import Sessions
from sessiongraph.settings import Settings, settings_with

# Rich resolves sys.stdout/sys.stderr at print time, so output capture (CliRunner, pytest) works.
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass(frozen=True)
class CliOptions:
    """The global options, resolved into settings once per invocation."""

    settings: Settings

    @property
    def model_spec(self) -> str:
        """The model every turn uses (``--model``, else settings)."""
        return self.settings.resolved_model

    def context(self, *, require_plan_approval: bool = False) -> Context:
        """The runtime context of a turn, built from these settings."""
        return Context(
            model=self.model_spec,
            temperature=self.settings.temperature,
            require_plan_approval=require_plan_approval,
        )


def resolve_options(checkpoint_url: str | None, model: str | None) -> CliOptions:
    """Settings from env/YAML with the command-line overrides applied, or a ``BadParameter``."""
    overrides: dict[str, Any] = {}
    if checkpoint_url is not None:
        overrides["checkpoint_url"] = checkpoint_url
    if model is not None:
        overrides["model"] = model
    try:
        settings = settings_with(**overrides)
    except ValidationError as exc:
        errors = exc.errors()
        fields = {str(e.get("loc", ("",))[0]) for e in errors}
        hint = (
            {"checkpoint_url": "--checkpoint-url", "model": "--model"}.get(fields.pop())
            if len(fields) == 1
            else None
        )
        problems = "; ".join(_validation_message(e, with_field=hint is None) for e in errors)
        raise typer.BadParameter(problems, param_hint=hint) from None
    except (FileNotFoundError, ValueError) as exc:
        raise typer.BadParameter(f"cannot read the settings: {exc}") from None
    try:
        create_chat_model(settings.resolved_model, settings.temperature, settings)
    except ModelConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--model") from None
    return CliOptions(settings=settings)


def _validation_message(error: Any, *, with_field: bool) -> str:
    field = ".".join(str(p) for p in error.get("loc", ()))
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{field}: {message}" if field and with_field else message


@contextlib.asynccontextmanager
async def open_sessions(options: CliOptions) -> AsyncIterator[Sessions]:
    """Open the configured backend; errors while *opening* become clear CLI errors."""
    model = create_chat_model(options.model_spec, options.settings.temperature, options.settings)
    stack = contextlib.AsyncExitStack()
    url = options.settings.checkpoint_url
    try:
        sessions = await stack.enter_async_context(Sessions.open(settings=options.settings, model=model))
    except BackendURLError as exc:
        raise typer.BadParameter(str(exc), param_hint="--checkpoint-url") from None
    except Exception as exc:  # unreachable server, unreadable file: say so without a traceback
        reason = escape(f"{type(exc).__name__}: {exc}")
        err_console.print(f"[red]Error:[/red] cannot open the session backend {escape(url)}: {reason}")
        raise typer.Exit(1) from None
    async with stack:
        yield sessions


def parse_metadata(pairs: Iterable[str], param_hint: str = "--metadata") -> dict[str, Any]:
    """``["user=ada", "n=3"]`` -> ``{"user": "ada", "n": 3}`` (values are JSON when they parse)."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r} is not key=value", param_hint=param_hint)
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        result[key.strip()] = value
    return result
