"""Built-in tools: small, safe, and useful for exercising the graph.

Tools are plain typed functions whose docstring is the description the model sees. Pass your
own to :func:`sessiongraph.graphs.agent.build_graph` with ``tools=[...]``; they are enabled by
name through the runtime context's ``enabled_tools`` (all tools are enabled by default).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from langchain_core.tools import BaseTool, tool

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
    "log": math.log,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_MAX_EXPONENT = 1000
_MAX_RESULT_BITS = 4096  # about 1,200 decimal digits
_MAX_EXPRESSION_CHARS = 500
_MAX_ROUND_DIGITS = 100
"""``round(x, n)`` with ``|n|`` beyond this is refused: on an integer a negative ``n`` computes
``10**-n`` before rounding, so ``round(1, -10**7)`` would hold the CPU for seconds."""
_ARITY: dict[str, tuple[int, int]] = {"round": (1, 2), "log": (1, 2)}


class CalculatorError(ValueError):
    """The expression is not arithmetic the calculator accepts."""


def evaluate_arithmetic(expression: str) -> float:
    """Evaluate an arithmetic expression without ``eval``: numbers, + - * / // % **, parentheses,
    the constants pi and e, and a few math functions (sqrt, abs, round, floor, ceil, log, exp,
    sin, cos, tan).

    >>> evaluate_arithmetic("2 + 3 * (4 - 1)")
    11
    """
    if len(expression) > _MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"expression longer than {_MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise CalculatorError(f"not an arithmetic expression: {expression!r}") from exc
    return _eval(tree.body)


def _eval(node: ast.AST) -> float:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        try:
            return _bounded(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError as exc:
            raise CalculatorError("division by zero") from exc
        except OverflowError as exc:
            raise CalculatorError("the result is too large") from exc
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        args = [_eval(arg) for arg in node.args]
        _check_call(node.func.id, args)
        try:
            return _bounded(_FUNCTIONS[node.func.id](*args))
        except (ValueError, TypeError, OverflowError) as exc:
            raise CalculatorError(f"{node.func.id}: {exc}") from exc
    raise CalculatorError(f"unsupported element {ast.dump(node)[:60]!r}; only arithmetic is allowed")


def _check_power(base: float, exponent: float) -> None:
    """Refuse a power whose result would be huge, before computing it."""
    if abs(exponent) > _MAX_EXPONENT:
        raise CalculatorError(f"exponent {exponent} is too large (limit {_MAX_EXPONENT})")
    if abs(base) > 1 and exponent > 0 and exponent * math.log2(abs(base)) > _MAX_RESULT_BITS:
        raise CalculatorError("the result is too large")


def _check_call(name: str, args: list[float]) -> None:
    """Refuse a call whose arguments would make it slow or huge, before making it."""
    low, high = _ARITY.get(name, (1, 1))
    if not low <= len(args) <= high:
        raise CalculatorError(f"{name} takes {low if low == high else f'{low} or {high}'} argument(s)")
    if name == "round" and len(args) == 2:
        digits = args[1]
        if not isinstance(digits, int) or abs(digits) > _MAX_ROUND_DIGITS:
            raise CalculatorError(f"round: the digits must be an integer within ±{_MAX_ROUND_DIGITS}")


def _bounded(value: float) -> float:
    """The value, or CalculatorError for an integer too large to be useful (or cheap to compute on)."""
    if isinstance(value, int) and value.bit_length() > _MAX_RESULT_BITS:
        raise CalculatorError("the result is too large")
    return value


def _format_number(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}" if isinstance(value, float) else str(value)


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression such as '2 + 3 * (4 - 1)' or 'sqrt(2) ** 2' and return the result."""
    return _format_number(evaluate_arithmetic(expression))


@tool
def current_time(timezone: str = "UTC") -> str:
    """Return the current date and time in ISO 8601 for an IANA timezone such as 'UTC' or 'Europe/Paris'."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {timezone!r}; use an IANA name such as 'Europe/Paris'") from exc
    return datetime.now(UTC).astimezone(zone).isoformat(timespec="seconds")


@tool
def text_stats(text: str) -> str:
    """Count the words, characters and lines of a piece of text."""
    words = len(text.split())
    lines = text.count("\n") + 1 if text else 0
    return f"words={words} characters={len(text)} lines={lines}"


BUILTIN_TOOLS: tuple[BaseTool, ...] = (calculator, current_time, text_stats)


def merge_tools(extra: list[BaseTool | Callable[..., object]] | None) -> list[BaseTool]:
    """The built-in tools plus ``extra`` (plain functions are wrapped with ``@tool``).

    A custom tool with a built-in's name replaces the built-in.
    """
    by_name: dict[str, BaseTool] = {t.name: t for t in BUILTIN_TOOLS}
    for item in extra or []:
        wrapped = item if isinstance(item, BaseTool) else tool(item)
        by_name[wrapped.name] = wrapped
    return list(by_name.values())
