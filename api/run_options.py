"""The server's caps on what one run may consume, and the checks of a run's input against them.

Every run of every owner is held to the same maximums (``Settings``: recursion limit, replans,
tool rounds, message count and size), so one owner cannot make a run that grows without bound.
A request beyond a maximum answers 422 with a ``detail`` naming the limit and the setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, convert_to_messages

from sessiongraph.api.errors import Unprocessable
from sessiongraph.graphs.context import Context
from sessiongraph.settings import Settings


@dataclass(frozen=True)
class RunLimits:
    """The per-run maximums (see :class:`~sessiongraph.settings.Settings`)."""

    max_recursion_limit: int = 200
    default_recursion_limit: int = 100
    max_replans: int = 10
    max_tool_rounds: int = 20
    max_message_chars: int = 100_000
    max_input_messages: int = 200
    default_durability: str | None = None
    """Durability of runs that ask for none (``None``: LangGraph's default, ``async``)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> RunLimits:
        """The limits configured in ``settings``."""
        return cls(
            max_recursion_limit=settings.max_recursion_limit,
            default_recursion_limit=min(settings.default_recursion_limit, settings.max_recursion_limit),
            max_replans=settings.max_replans_limit,
            max_tool_rounds=settings.max_tool_rounds_limit,
            max_message_chars=settings.max_message_chars,
            max_input_messages=settings.max_input_messages,
            default_durability=settings.durability,
        )

    def recursion_limit(self, asked: int | None) -> int:
        """The run's recursion limit: ``asked`` (422 beyond the maximum) or the default."""
        if asked is None:
            return self.default_recursion_limit
        if asked > self.max_recursion_limit:
            raise Unprocessable(
                f"config.recursion_limit {asked} is over this server's limit of "
                f"{self.max_recursion_limit} (setting max_recursion_limit)"
            )
        return asked

    def check_context(self, context: Context) -> None:
        """422 when the context asks for more replans or tool rounds than the server allows."""
        if context.max_replans > self.max_replans:
            raise Unprocessable(
                f"context.max_replans {context.max_replans} is over this server's limit of "
                f"{self.max_replans} (setting max_replans_limit)"
            )
        if context.max_tool_rounds > self.max_tool_rounds:
            raise Unprocessable(
                f"context.max_tool_rounds {context.max_tool_rounds} is over this server's limit of "
                f"{self.max_tool_rounds} (setting max_tool_rounds_limit)"
            )

    def check_input(self, graph_input: Mapping[str, Any] | None, where: str = "input") -> None:
        """422 unless ``messages`` in ``graph_input`` (a run's input, a ``command.update``, a state
        update) holds valid messages within the count and size limits."""
        if graph_input is None or "messages" not in graph_input:
            return
        raw = graph_input["messages"]
        items = raw if isinstance(raw, list) else [raw]
        if len(items) > self.max_input_messages:
            raise Unprocessable(
                f"{where}.messages holds {len(items)} messages; this server takes at most "
                f"{self.max_input_messages} at once (setting max_input_messages)"
            )
        for index, item in enumerate(items):
            at = f"{where}.messages[{index}]"
            message = _message(item, at)
            size = _text_size(message.content)
            if size > self.max_message_chars:
                raise Unprocessable(
                    f"{at} is {size} characters long; this server takes at most "
                    f"{self.max_message_chars} (setting max_message_chars)"
                )

    def check_update(self, update: Any, where: str) -> None:
        """422 unless ``update`` is an object of channel values (or a list of ``[channel, value]``
        pairs) whose messages pass :meth:`check_input`."""
        if update is None:
            return
        if isinstance(update, list):
            if not all(isinstance(p, list | tuple) and len(p) == 2 and isinstance(p[0], str) for p in update):
                raise Unprocessable(f"{where} as a list takes [channel, value] pairs")
            for index, (channel, value) in enumerate(update):
                if channel == "messages":
                    self.check_input({"messages": value}, f"{where}[{index}]")
            return
        if not isinstance(update, dict):
            raise Unprocessable(f'{where} must be an object of state values, e.g. {{"messages": [...]}}')
        self.check_input(update, where)


def _message(item: Any, where: str) -> BaseMessage:
    if isinstance(item, dict) and item.get("content") is None:
        raise Unprocessable(f"{where} has no content; send {{'role': 'user', 'content': 'your text'}}")
    try:
        return convert_to_messages([item])[0]
    except (ValueError, TypeError, KeyError, NotImplementedError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise Unprocessable(
            f"{where} is not a message ({first_line}); send {{'role': 'user', 'content': 'your text'}} "
            "with a role of user, assistant, system or tool"
        ) from None


def _text_size(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    return sum(_text_size(part.get("text", "")) if isinstance(part, dict) else 0 for part in content or [])
