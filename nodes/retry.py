"""The retry policy of the nodes that call the chat model, and what counts as worth retrying."""

from __future__ import annotations

from langgraph.types import RetryPolicy, default_retry_on


def is_transient(error: Exception) -> bool:
    """Worth retrying: rate limits, server errors and connection problems, not a rejected request."""
    status = getattr(error, "status_code", None)  # openai.APIStatusError and similar clients
    if isinstance(status, int):
        return status in (408, 409, 429) or status >= 500
    return default_retry_on(error)


LLM_RETRY = RetryPolicy(
    max_attempts=3, initial_interval=0.5, backoff_factor=2.0, max_interval=8.0, retry_on=is_transient
)
"""Retry policy of the LLM nodes: transient model errors are retried twice with backoff."""
