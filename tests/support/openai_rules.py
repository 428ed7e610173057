"""OpenAI chat-completions request rules, as the OpenAI API enforces them (HTTP 400 otherwise).

The rules that matter for an agent that persists conversations:

- roles are limited to ``system``, ``developer``, ``user``, ``assistant`` and ``tool``;
- a ``tool`` message answers, by ``tool_call_id``, a tool call of the preceding assistant
  message: the nearest earlier non-tool message must be an assistant message whose
  ``tool_calls`` contain that id;
- every tool call of an assistant message is answered by the ``tool`` messages that immediately
  follow it, before any other non-tool message (and before the end of the list);
- an assistant message has content or tool calls; a tool message has content and a ``tool_call_id``.

The messages of OpenAI's own errors are reproduced closely, so a failure reads like production.

Example::

    from support.openai_rules import assert_valid, check_openai_messages

    check_openai_messages([{"role": "tool", "content": "4", "tool_call_id": "c1"}])
    # -> ["messages[0]: messages with role 'tool' must be a response to a preceding message ..."]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


class OpenAIMessageRuleError(ValueError):
    """A request breaks an OpenAI message rule; ``violations`` lists every broken rule."""

    def __init__(self, violations: Sequence[str]) -> None:
        super().__init__("; ".join(violations))
        self.violations = list(violations)


def check_openai_messages(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every rule ``messages`` break (an empty list when OpenAI would accept them)."""
    if not isinstance(messages, Sequence) or isinstance(messages, str | bytes):
        return ["'messages' must be an array of message objects"]
    if not messages:
        return ["[] is too short - 'messages'"]
    violations: list[str] = []
    open_calls: list[str] = []  # ids of the latest assistant message's calls not yet answered
    open_owner = -1  # index of that assistant message
    answerable: set[str] = set()  # ids the current run of tool messages may answer
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, Mapping):
            violations.append(f"{where}: expected an object, got {type(message).__name__}")
            continue
        role = message.get("role")
        if role not in ROLES:
            violations.append(
                f"{where}: invalid value {role!r} for 'role'; supported values are: "
                f"{', '.join(sorted(ROLES))}"
            )
            continue
        if role == "tool":
            violations.extend(_tool_message_violations(where, message, answerable))
            call_id = message.get("tool_call_id")
            if call_id in open_calls:
                open_calls.remove(call_id)
            continue
        if open_calls:
            violations.append(_unanswered(open_owner, open_calls))
        open_calls, answerable = [], set()
        if role == "assistant":
            violations.extend(_assistant_violations(where, message))
            ids = [c.get("id") for c in message.get("tool_calls") or [] if isinstance(c, Mapping)]
            open_calls = [i for i in ids if isinstance(i, str)]
            answerable = set(open_calls)
            open_owner = index
        elif message.get("content") is None:
            violations.append(f"{where}: missing required parameter 'content' for role {role!r}")
    if open_calls:
        violations.append(_unanswered(open_owner, open_calls))
    return violations


def assert_valid(messages: Sequence[Mapping[str, Any]]) -> None:
    """Raise :class:`OpenAIMessageRuleError` when ``messages`` break a rule."""
    violations = check_openai_messages(messages)
    if violations:
        raise OpenAIMessageRuleError(violations)


def check_openai_request(body: Mapping[str, Any]) -> list[str]:
    """The message rules plus the request-level rules about ``tools`` and ``tool_choice``."""
    if not isinstance(body, Mapping):
        return ["the request body must be a JSON object"]
    violations = check_openai_messages(body.get("messages", []))
    tools = body.get("tools")
    names = {t.get("function", {}).get("name") for t in tools or [] if isinstance(t, Mapping)}
    choice = body.get("tool_choice")
    if choice is not None and not tools:
        violations.append(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."
        )
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        if tools and name not in names:
            violations.append(
                f"Invalid value for 'tool_choice': no function named {name!r} was specified in 'tools'."
            )
    if body.get("parallel_tool_calls") is not None and not tools:
        violations.append("Invalid value for 'parallel_tool_calls': only allowed when 'tools' are specified.")
    return violations


def _tool_message_violations(where: str, message: Mapping[str, Any], answerable: set[str]) -> list[str]:
    violations = []
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        violations.append(f"{where}: missing required parameter 'tool_call_id' for role 'tool'")
    elif call_id not in answerable:
        violations.append(
            f"{where}: Invalid parameter: messages with role 'tool' must be a response to a preceding "
            f"message with 'tool_calls' (tool_call_id {call_id!r} answers no call of the preceding "
            "assistant message)."
        )
    if message.get("content") is None:
        violations.append(f"{where}: missing required parameter 'content' for role 'tool'")
    return violations


def _assistant_violations(where: str, message: Mapping[str, Any]) -> list[str]:
    violations = []
    calls = message.get("tool_calls")
    if calls is not None and not isinstance(calls, list):
        violations.append(f"{where}: 'tool_calls' must be an array")
        return violations
    if not calls and message.get("content") is None and message.get("function_call") is None:
        violations.append(f"{where}: an assistant message needs 'content' or 'tool_calls'")
    if calls == []:
        violations.append(f"{where}: [] is too short - 'tool_calls' (omit it instead)")
    seen: set[str] = set()
    for position, call in enumerate(calls or []):
        spot = f"{where}.tool_calls[{position}]"
        if not isinstance(call, Mapping):
            violations.append(f"{spot}: expected an object")
            continue
        call_id = call.get("id")
        function = call.get("function")
        if not isinstance(call_id, str) or not call_id:
            violations.append(f"{spot}: missing required parameter 'id'")
        elif call_id in seen:
            violations.append(f"{spot}: duplicate tool call id {call_id!r}")
        else:
            seen.add(call_id)
        if call.get("type") != "function":
            violations.append(f"{spot}: 'type' must be 'function'")
        if not isinstance(function, Mapping) or not function.get("name"):
            violations.append(f"{spot}: missing required parameter 'function.name'")
        elif not isinstance(function.get("arguments"), str):
            violations.append(f"{spot}: 'function.arguments' must be a string (JSON)")
    return violations


def _unanswered(owner: int, ids: Sequence[str]) -> str:
    return (
        f"messages[{owner}]: An assistant message with 'tool_calls' must be followed by tool messages "
        f"responding to each 'tool_call_id'. The following tool_call_ids did not have response "
        f"messages: {', '.join(ids)}"
    )
