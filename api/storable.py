"""Values the server stores must come back exactly: check them at the edge, before anything is written.

Metadata, config, context, run input and state updates end up in the checkpointer (msgpack), the
thread registry (JSON) and the API's answers (orjson). Some JSON values survive none of these
faithfully: integers beyond 64 bits, ``NaN``/``Infinity`` (Python's JSON parser accepts them),
strings with lone surrogates (not encodable as UTF-8) and nesting deeper than the encoders allow.
Accepting one would store a thread whose every later read fails, so the whole request is refused
with a 422 naming the path of the bad value.
"""

from __future__ import annotations

import math
from typing import Any

MAX_DEPTH = 64
"""Deepest nesting of objects and arrays accepted (orjson refuses to encode past 254)."""
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def unstorable(value: Any, path: str = "") -> str | None:
    """Why ``value`` (decoded JSON) cannot be stored exactly, naming the path; ``None`` when it can.

    >>> unstorable({"a": [1, float("nan")]}, "metadata")
    'metadata.a[1]: NaN and Infinity are not JSON numbers; send a finite number or a string'
    """
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, dict):
            if depth >= MAX_DEPTH:
                return f"{where or 'the body'}: nested deeper than {MAX_DEPTH} levels; flatten it"
            for key, child in item.items():
                if not isinstance(key, str):
                    return f"{where or 'the body'}: the key {key!r} is not a string"
                if _bad_string(key):
                    return f"{where or 'the body'}: a key holds a lone surrogate; send valid Unicode"
                stack.append((child, f"{where}.{key}" if where else key, depth + 1))
        elif isinstance(item, list | tuple):
            if depth >= MAX_DEPTH:
                return f"{where or 'the body'}: nested deeper than {MAX_DEPTH} levels; flatten it"
            stack.extend((child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not INT_MIN <= item <= INT_MAX:
                return f"{where or 'the body'}: integer beyond 64 bits; send it as a string"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return (
                    f"{where or 'the body'}: NaN and Infinity are not JSON numbers; "
                    "send a finite number or a string"
                )
        elif isinstance(item, str) and _bad_string(item):
            return f"{where or 'the body'}: the text holds a lone surrogate; send valid Unicode"
    return None


def check_storable(value: Any, path: str = "") -> Any:
    """``value`` unchanged, or ``ValueError`` saying what cannot be stored (for pydantic validators)."""
    problem = unstorable(value, path)
    if problem is not None:
        raise ValueError(problem)
    return value


def _bad_string(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
