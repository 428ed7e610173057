"""coerce_context is the one way from what a caller passed to a Context; nodes read it from the runtime."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from langgraph.runtime import Runtime

from sessiongraph.graphs.context import CONTEXT_FIELDS, Context, coerce_context, context_from_runtime


def test_none_gives_the_defaults() -> None:
    assert coerce_context(None) == Context()
    assert coerce_context(None, defaults={"model": "offline", "max_replans": 0}) == Context(
        model="offline", max_replans=0
    )


def test_a_context_is_returned_unchanged() -> None:
    context = Context(max_replans=1)
    assert coerce_context(context, defaults={"max_replans": 5}) is context


def test_a_mapping_overrides_the_defaults_key_by_key() -> None:
    context = coerce_context(
        MappingProxyType({"temperature": 0.5}), defaults={"model": "offline", "temperature": 0.0}
    )
    assert (context.model, context.temperature) == ("offline", 0.5)


def test_unknown_keys_name_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown context field") as raised:
        coerce_context({"modle": "offline"})
    assert all(name in str(raised.value) for name in CONTEXT_FIELDS)
    with pytest.raises(ValueError, match="unknown context field"):
        coerce_context(None, defaults={"modle": "offline"})


@pytest.mark.parametrize(
    "values", [{"max_replans": "many"}, {"enabled_tools": 3}, {"max_replans": -1}, {"model": "gpt"}]
)
def test_bad_values_are_value_errors(values: dict) -> None:
    with pytest.raises(ValueError):
        coerce_context(values)


def test_anything_else_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="Context or a mapping"):
        coerce_context(["model"])  # type: ignore[arg-type]


def test_context_from_runtime() -> None:
    def runtime(context: object) -> Runtime[Context]:
        return Runtime(context=context)  # type: ignore[arg-type]

    assert context_from_runtime(None) == Context()
    assert context_from_runtime(runtime(None)) == Context()
    context = Context(max_tool_rounds=1)
    assert context_from_runtime(runtime(context)) is context
    assert context_from_runtime(runtime({"max_tool_rounds": 2})).max_tool_rounds == 2
