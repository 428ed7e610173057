"""The offline model's reasoning: deterministic functions from a conversation to a reply.

Nothing here touches the network. What the user wrote drives every path of the graph:

- arithmetic such as ``12*7`` calls the ``calculator`` (several expressions -> parallel tool calls,
  ``1/0`` -> a failing tool and a replan);
- "time"/"date" calls ``current_time``; "count the words in: ..." calls ``text_stats``;
- "use <tool name>" or "call <tool name>" calls any bound tool by name (custom tools included);
- "double-check" or "verify" makes ``reflect`` ask for a replan (bounded by ``max_replans``);
- "what is my name" / "what did I ask" answer from earlier turns and the running summary.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, ToolMessage

from sessiongraph.nodes.messages import last_human_index, latest_request, text_of, turn_tool_results
from sessiongraph.nodes.prompts import PLAN_REJECTED_NOTE

_FUNCS = r"sqrt|abs|round|floor|ceil|log|exp|sin|cos|tan|pi"
_ARITH_RUN = re.compile(rf"(?:\b(?:{_FUNCS})\b|[\d()+\-*/%^.,]|[ \t])+")
_HAS_OPERATOR = re.compile(rf"\d\s*(?:\*\*|[+\-*/%^])\s*[\d(]|\b(?:{_FUNCS})\s*\(")
_TIME_WORDS = re.compile(r"\b(time|date|clock|today)\b", re.IGNORECASE)
_TIMEZONE = re.compile(r"\b([A-Z][a-z]+/[A-Z][A-Za-z_]+)\b")
_TEXT_STATS = re.compile(r"\b(?:count|how many) (?:the )?words\b[^:]*:\s*(.+)", re.IGNORECASE | re.DOTALL)
_USE_TOOL = re.compile(r"\b(?:use|call)\s+(?:the\s+)?`?([A-Za-z_][A-Za-z0-9_]*)`?", re.IGNORECASE)
_QUOTED = re.compile(r"[\"“']([^\"”']+)[\"”']")
_NAME_FACT = re.compile(r"\bmy name is ([A-Z][\w-]*)", re.IGNORECASE)
_DOUBLE_CHECK = re.compile(r"\b(double[- ]check|verify)\b", re.IGNORECASE)
_REJECTED_MARK = PLAN_REJECTED_NOTE.split("{", 1)[0].strip()

OFFLINE_MODEL_NAME = "sessiongraph-offline"
MAX_CALLS = 16
"""Most tool calls one reply makes: a message full of expressions still costs a bounded turn."""
_MAX_EXPRESSION_CHARS = 500  # the calculator refuses longer ones anyway


# --- reading the conversation ------------------------------------------------------------


def system_text(messages: Sequence[BaseMessage]) -> str:
    """All system prompt text, joined."""
    return "\n".join(text_of(m) for m in messages if isinstance(m, SystemMessage))


# --- what the user asked for ---------------------------------------------------------------


def arithmetic_expressions(text: str) -> list[str]:
    """Arithmetic expressions found in free text, in order, without duplicates (at most
    :data:`MAX_CALLS`: the work stays linear in the length of ``text``)."""
    found: dict[str, None] = {}
    for match in _ARITH_RUN.finditer(text):
        for part in _top_level_parts(match.group(0)):
            candidate = part.strip().rstrip(".").strip()
            if len(candidate) > _MAX_EXPRESSION_CHARS:
                continue
            candidate = _balance_parentheses(candidate)
            if (
                candidate
                and candidate not in found
                and _HAS_OPERATOR.search(candidate)
                and _parses(candidate)
            ):
                found[candidate] = None
                if len(found) >= MAX_CALLS:
                    return list(found)
    return list(found)


def _top_level_parts(run: str) -> list[str]:
    """``run`` split at the commas outside parentheses: "12*7, round(2.5, 1)" is two expressions."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(run):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            parts.append(run[start:index])
            start = index + 1
    parts.append(run[start:])
    return parts


def _balance_parentheses(candidate: str) -> str:
    """Strip unmatched leading "(" and trailing ")" (in one pass over each end)."""
    opened, closed = candidate.count("("), candidate.count(")")
    start, end = 0, len(candidate)
    while opened > closed and start < end and candidate[start] == "(":
        start += 1
        opened -= 1
        while start < end and candidate[start].isspace():
            start += 1
    while closed > opened and end > start and candidate[end - 1] == ")":
        end -= 1
        closed -= 1
        while end > start and candidate[end - 1].isspace():
            end -= 1
    return candidate[start:end]


def _parses(expression: str) -> bool:
    import ast

    try:
        ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError:
        return False
    return True


def requested_calls(text: str, available: Sequence[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The (tool name, arguments) pairs a request asks for, restricted to ``available`` tools."""
    calls: list[tuple[str, dict[str, Any]]] = []
    stats = _TEXT_STATS.search(text)
    if stats:
        calls.append(("text_stats", {"text": stats.group(1).strip()}))
    else:
        calls.extend(("calculator", {"expression": expr}) for expr in arithmetic_expressions(text))
    if _TIME_WORDS.search(text):
        zone = _TIMEZONE.search(text)
        calls.append(("current_time", {"timezone": zone.group(1) if zone else "UTC"}))
    named = {c[0] for c in calls}
    quoted = _QUOTED.search(text)
    for match in _USE_TOOL.finditer(text):
        name = match.group(1)
        if name not in named:
            named.add(name)
            calls.append((name, {"__text__": quoted.group(1) if quoted else text}))
            if len(named) >= MAX_CALLS:
                break
    if available is not None:
        allowed = set(available)
        calls = [call for call in calls if call[0] in allowed]
    return calls[:MAX_CALLS]


def needs_tools(text: str) -> bool:
    """Whether a request asks for any tool the offline model knows how to call."""
    return bool(requested_calls(text))


# --- structured outputs --------------------------------------------------------------------


def structured_reply(schema_name: str, parameters: dict[str, Any], messages: Sequence[BaseMessage]) -> dict:
    """Arguments for a forced structured-output tool call, chosen by the schema's name."""
    request = latest_request(messages)
    if schema_name == "UnderstandingOutput":
        goal = " ".join(request.split())[:200] or "(empty request)"
        return {"goal": f"Respond to: {goal}", "needs_tools": needs_tools(request)}
    if schema_name == "PlanOutput":
        steps = [_describe_step(name, args) for name, args in requested_calls(request)]
        if "previous attempt" in system_text(messages):
            steps = [f"Re-check: {step}" for step in steps]
        return {"steps": [*steps, "Compose the answer from the results"]}
    if schema_name == "ReflectionOutput":
        failed = [call["name"] for call, msg in turn_tool_results(messages) if msg.status == "error"]
        if failed:
            return {"verdict": "replan", "reason": f"step(s) failed: {', '.join(failed)}"}
        if _DOUBLE_CHECK.search(request):
            return {"verdict": "replan", "reason": "the user asked to double-check the results"}
        return {"verdict": "answer", "reason": "every step produced a result"}
    if schema_name == "SummaryOutput":
        return {"summary": offline_summary(request)}
    return _defaults_for(parameters)


def _describe_step(name: str, args: dict[str, Any]) -> str:
    if name == "calculator":
        return f"Compute {args['expression']} with the calculator"
    if name == "current_time":
        return f"Look up the current time in {args['timezone']}"
    if name == "text_stats":
        return "Count the words of the given text"
    return f"Call the {name} tool"


def _defaults_for(parameters: dict[str, Any]) -> dict[str, Any]:
    """Plausible values for an unknown JSON schema: each required field gets an empty value."""
    empty: dict[str, Any] = {
        "string": "",
        "integer": 0,
        "number": 0,
        "boolean": False,
        "array": [],
        "object": {},
    }
    properties = parameters.get("properties", {})
    return {
        key: spec.get("default", empty.get(spec.get("type", "string")))
        for key, spec in properties.items()
        if key in parameters.get("required", properties)
    }


def offline_summary(folding_request: str) -> str:
    """Extend the previous summary with one line per folded user message and assistant reply."""
    previous, _, transcript = folding_request.partition("New messages to fold in:\n")
    previous = previous.removeprefix("Previous summary:\n").strip()
    lines = [] if previous in ("", "(none)") else previous.splitlines()
    for raw in transcript.splitlines():
        role, _, content = raw.partition(": ")
        content = " ".join(content.split())
        if role == "user":
            lines.append(f"- User said: {_clip(content, 120)}")
        elif role == "assistant" and content:
            lines.append(f"- Assistant replied: {_clip(content, 80)}")
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- tool calls and answers ----------------------------------------------------------------


def pending_tool_calls(
    messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Tool calls the request still needs in this turn, as LangChain ``tool_calls`` dicts."""
    schemas = {t["function"]["name"]: t["function"].get("parameters", {}) for t in tools}
    done = {
        (call["name"], json.dumps(call["args"], sort_keys=True)) for call, _ in turn_tool_results(messages)
    }
    pending = []
    for index, (name, args) in enumerate(requested_calls(latest_request(messages), list(schemas))):
        if "__text__" in args:
            args = _fill_arguments(schemas[name], args["__text__"])
        if (name, json.dumps(args, sort_keys=True)) in done:
            continue
        digest = hashlib.sha1(f"{len(messages)}:{index}:{name}:{args}".encode()).hexdigest()[:16]
        pending.append({"name": name, "args": args, "id": f"call_{digest}", "type": "tool_call"})
    return pending


def _fill_arguments(parameters: dict[str, Any], text: str) -> dict[str, Any]:
    args = _defaults_for(parameters)
    for key, spec in parameters.get("properties", {}).items():
        if spec.get("type", "string") == "string" and key in args:
            args[key] = text
    return args


def compose_answer(messages: Sequence[BaseMessage]) -> str:
    """The final reply: tool results of this turn, or an answer from memory, or an echo."""
    system = system_text(messages)
    request = latest_request(messages)
    if _REJECTED_MARK and _REJECTED_MARK in system:
        reason = system.split(_REJECTED_MARK, 1)[1].split("Reason:", 1)[-1].strip().splitlines()[0:1]
        why = f" ({reason[0]})" if reason and reason[0] else ""
        return f"Understood: the plan was rejected{why}, so I did not carry it out. Tell me how to proceed."
    results = turn_tool_results(messages)
    if results:
        return "Here is what I found: " + "; ".join(_describe_result(c, m) for c, m in results) + "."
    lowered = request.lower()
    if "my name" in lowered and "?" in request:
        names = _NAME_FACT.findall("\n".join([system, *(text_of(m) for m in _earlier_human(messages))]))
        if names:
            return f"Your name is {names[-1]}."
        return "You have not told me your name yet."
    if re.search(r"what did i (ask|say)", lowered):
        earlier = [text_of(m) for m in _earlier_human(messages)]
        if earlier:
            return f"Earlier you said: “{_clip(earlier[-1], 200)}”."
        return "This is the first thing you have said in this conversation."
    turn = sum(isinstance(m, HumanMessage) for m in messages)
    return f"You said: “{_clip(' '.join(request.split()), 300)}”. (offline model, message {turn} in view)"


def _earlier_human(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    last = last_human_index(messages)
    return [m for m in messages[:last] if isinstance(m, HumanMessage)]


def _describe_result(call: dict[str, Any], message: ToolMessage) -> str:
    output = _clip(text_of(message), 200)
    if message.status == "error":
        return f"{call['name']} failed for {json.dumps(call['args'])}: {output}"
    if call["name"] == "calculator":
        return f"{call['args'].get('expression')} = {output}"
    if call["name"] == "current_time":
        return f"the current time is {output}"
    return f"{call['name']} returned {output}"


def execution_note(messages: Sequence[BaseMessage]) -> str:
    """What the executor says when no tool call is left."""
    return f"All steps done ({len(turn_tool_results(messages))} tool result(s))."


def tokens_of(text: str) -> list[str]:
    """Split a reply into stream tokens (words with their trailing whitespace)."""
    return re.findall(r"\S+\s*|\s+", text)
