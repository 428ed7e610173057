"""The OpenAI message rules used by the stub server (tests/support/openai_rules.py)."""

from __future__ import annotations

from typing import Any

import pytest
from support.openai_rules import (
    OpenAIMessageRuleError,
    assert_valid,
    check_openai_messages,
    check_openai_request,
)


def call(call_id: str, name: str = "calculator") -> dict[str, Any]:
    """An OpenAI tool call."""
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


def calls(*ids: str) -> dict[str, Any]:
    """An assistant message making the tool calls ``ids``."""
    return {"role": "assistant", "content": None, "tool_calls": [call(i) for i in ids]}


def result(call_id: str) -> dict[str, Any]:
    """A tool message answering ``call_id``."""
    return {"role": "tool", "content": "4", "tool_call_id": call_id}


USER = {"role": "user", "content": "hi"}
REPLY = {"role": "assistant", "content": "hello"}


@pytest.mark.parametrize(
    "messages",
    [
        [USER],
        [{"role": "system", "content": "s"}, {"role": "developer", "content": "d"}, USER, REPLY],
        [USER, calls("a"), result("a"), REPLY],
        [USER, calls("a", "b"), result("b"), result("a"), REPLY, USER],
        [USER, calls("a"), result("a"), calls("b"), result("b")],
        [USER, {"role": "assistant", "content": "", "tool_calls": [call("a")]}, result("a")],
    ],
)
def test_valid_conversations_pass(messages: list[dict[str, Any]]) -> None:
    assert check_openai_messages(messages) == []
    assert_valid(messages)


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([], "too short"),
        ([USER, result("a")], "must be a response to a preceding message with 'tool_calls'"),
        ([USER, calls("a"), result("b")], "must be a response"),
        ([USER, calls("a"), USER, result("a")], "did not have response messages: a"),
        ([USER, calls("a")], "did not have response messages: a"),
        ([USER, calls("a", "b"), result("a"), REPLY], "did not have response messages: b"),
        ([USER, calls("a"), result("a"), REPLY, result("a")], "must be a response"),
        ([{"role": "function", "content": "x"}], "invalid value 'function' for 'role'"),
        ([{"content": "x"}], "for 'role'"),
        ([USER, {"role": "assistant", "content": None}], "needs 'content' or 'tool_calls'"),
        ([USER, calls("a"), {"role": "tool", "content": "x"}], "'tool_call_id'"),
        ([{"role": "user"}], "missing required parameter 'content'"),
        ([USER, {"role": "assistant", "content": None, "tool_calls": [call("a"), call("a")]}], "duplicate"),
    ],
)
def test_broken_rules_are_reported(messages: list[dict[str, Any]], fragment: str) -> None:
    violations = check_openai_messages(messages)
    assert any(fragment in v for v in violations), violations
    with pytest.raises(OpenAIMessageRuleError) as caught:
        assert_valid(messages)
    assert caught.value.violations == violations
    assert isinstance(caught.value, ValueError)


def test_request_rules_check_tool_choice_against_tools() -> None:
    tool = {"type": "function", "function": {"name": "calculator", "parameters": {}}}
    forced = {"type": "function", "function": {"name": "calculator"}}
    assert check_openai_request({"messages": [USER], "tools": [tool], "tool_choice": forced}) == []
    assert check_openai_request({"messages": [USER], "tool_choice": "auto"})
    other = {"type": "function", "function": {"name": "other"}}
    assert check_openai_request({"messages": [USER], "tools": [tool], "tool_choice": other})
    assert check_openai_request({"messages": [USER], "parallel_tool_calls": False})
