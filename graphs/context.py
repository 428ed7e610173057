"""The runtime context: per-run knobs, rendered as a form by LangGraph Studio.

Pass it as ``context=Context(...)`` (or a dict) to ``invoke``/``stream``; over HTTP it is the run's
``context`` object. Every field has a default and a description.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from langgraph.runtime import Runtime
from pydantic import TypeAdapter

MIN_SUMMARY_TOKENS = 40


@dataclass(kw_only=True)
class Context:
    """Runtime configuration of one run of the agent graph."""

    model: str = field(
        default="",
        metadata={
            "description": "Chat model: 'offline' (deterministic, no network) or 'openai:<model name>' "
            "for the OpenAI-compatible endpoint configured in settings. Empty: the configured default."
        },
    )
    temperature: float | None = field(
        default=None,
        metadata={
            "description": "Sampling temperature passed to the chat model. Empty: the configured default."
        },
    )
    max_replans: int = field(
        default=2,
        metadata={
            "description": "How many times reflect may send the turn back to plan (0 disables replanning)."
        },
    )
    max_tool_rounds: int = field(
        default=6,
        metadata={"description": "Most tool-calling model replies in one turn before moving on to reflect."},
    )
    require_plan_approval: bool = field(
        default=False,
        metadata={
            "description": "Pause before executing a plan and wait for a human to approve, edit or reject it "
            "(resume with Command(resume=...))."
        },
    )
    summary_trigger_tokens: int = field(
        default=3000,
        metadata={"description": "Summarize older turns when the prompt (summary + messages) exceeds this."},
    )
    summary_keep_tokens: int = field(
        default=1200,
        metadata={"description": "Newest turns kept verbatim when summarizing, in tokens."},
    )
    summary_max_tokens: int = field(
        default=600,
        metadata={"description": "Upper bound of the running summary, in tokens."},
    )
    enabled_tools: list[str] | None = field(
        default=None,
        metadata={
            "description": "Names of the tools the agent may call, custom tools included; "
            "unset (null): every registered tool, built-in and custom."
        },
    )

    def __post_init__(self) -> None:
        provider, _, name = self.model.partition(":")
        if self.model and not (provider == "offline" or (provider == "openai" and name)):
            raise ValueError(f"model {self.model!r} is not 'offline' or 'openai:<model name>'")
        if self.max_replans < 0 or self.max_tool_rounds < 0:
            raise ValueError("max_replans and max_tool_rounds must be >= 0")
        if min(self.summary_trigger_tokens, self.summary_keep_tokens) <= 0:
            raise ValueError("summary token budgets must be positive")
        if self.summary_max_tokens < MIN_SUMMARY_TOKENS:
            raise ValueError(
                f"summary_max_tokens must be at least {MIN_SUMMARY_TOKENS}: a smaller summary cannot hold "
                "even its own heading, so nothing would ever be folded"
            )
        if self.summary_keep_tokens + self.summary_max_tokens > self.summary_trigger_tokens:
            raise ValueError(
                "summary_keep_tokens + summary_max_tokens must not exceed summary_trigger_tokens, "
                "or a summarized prompt could still be over budget"
            )


CONTEXT_FIELDS = frozenset(f.name for f in fields(Context))


def coerce_context(
    value: Context | Mapping[str, Any] | None,
    *,
    defaults: Mapping[str, Any] | None = None,
    strict: bool = True,
) -> Context:
    """The one way to turn what a caller passed as a run's context into a :class:`Context`.

    - ``None``: a context of the ``defaults`` (``Context()`` without defaults);
    - a ``Context``: returned unchanged (it is complete already, so ``defaults`` do not apply);
    - a mapping: validated, with ``defaults`` filling the keys the mapping does not set; with
      ``strict=False`` keys that are not fields are left out instead of rejected (the HTTP API
      accepts them, as the reference server does, and passes them on in ``configurable``).

    Raises:
        ValueError: an unknown key (the message lists the known ones), a value of the wrong type,
            or values the context rejects (pydantic's ``ValidationError`` is a ``ValueError``).
        TypeError: ``value`` is neither ``None``, a ``Context`` nor a mapping.

    Example::

        >>> coerce_context({"max_replans": 0}, defaults={"model": "offline"}).model
        'offline'
    """
    if isinstance(value, Context):
        return value
    if value is not None and not isinstance(value, Mapping):
        raise TypeError(f"a run's context is a Context or a mapping, not {type(value).__name__}")
    values = {**(defaults or {}), **(value or {})}
    unknown = set(values) - CONTEXT_FIELDS
    if unknown and not strict:
        values = {k: v for k, v in values.items() if k in CONTEXT_FIELDS}
    elif unknown:
        raise ValueError(f"unknown context field(s) {sorted(unknown)}; known: {sorted(CONTEXT_FIELDS)}")
    # Validates field types too (a pydantic ValidationError is a ValueError).
    return _ADAPTER.validate_python(values)


def context_from_runtime(runtime: Runtime[Context] | None) -> Context:
    """The context of the run a node belongs to (``Context()`` when the caller passed none).

    Nodes call this instead of reading ``runtime.context``, which is ``None`` for a run started
    without a context.
    """
    return coerce_context(getattr(runtime, "context", None))


_ADAPTER: TypeAdapter[Context] = TypeAdapter(Context)
