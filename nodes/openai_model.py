"""``ChatOpenAI`` tuned for a server that makes many concurrent calls to one endpoint.

Two costs of the stock client show up when a few hundred runs each wait on the model:

- The ``openai`` SDK walks every request body against its ``TypedDict`` annotations before
  sending it (``async_maybe_transform``), looking up type hints at every nesting level. For chat
  completions the walk changes nothing (the payload langchain-openai builds is plain JSON), yet it
  was the largest single CPU cost of a chat turn in ``bench/slow_model.py``: more than half of
  each model call's CPU. :class:`ServerChatOpenAI` hands the body fields (``messages``, ``tools``
  and the rest, but the few that steer the SDK) to the SDK as ``extra_body``, which it merges
  into the JSON body untouched, so the walk sees an empty placeholder. The request on the wire
  is identical. (The same workaround is reported for the Anthropic SDK,
  anthropics/anthropic-sdk-python#1195.)
- httpx's connection pool scans every pooled connection on each request (and keeps only 100
  alive by default), so its cost per call grows with the calls in flight: at 200 concurrent
  chat turns the server spent about a third more CPU per turn than with aiohttp's connector.
  :func:`http_client` is the SDK's aiohttp client (the ``openai[aiohttp]`` extra), or an httpx
  client keeping as many connections alive as may be in flight when aiohttp is missing.

A client's connections belong to the event loop that opened them, so the model factory keeps
one model per loop (:mod:`sessiongraph.nodes.models`).
"""

from __future__ import annotations

from typing import Any

import httpx
from langchain_core.language_models import LanguageModelInput
from langchain_openai import ChatOpenAI

SDK_ARGUMENTS = frozenset(
    {"model", "stream", "response_format", "extra_body", "extra_headers", "extra_query", "timeout"}
)
"""Payload keys that stay arguments of ``create()``: they steer the SDK itself (the response
type, ``parse()``, the request options). Every other key is plain body JSON."""


class ServerChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` whose chat-completions requests skip the SDK's no-op body transform.

    The JSON sent is the same as ``ChatOpenAI``'s; only the SDK's client-side walk over it is
    skipped. Responses-API payloads (no ``messages`` field) are passed through unchanged.
    """

    def _get_request_payload(
        self, input_: LanguageModelInput, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        if "messages" not in payload:
            return payload
        body = {key: value for key, value in payload.items() if key not in SDK_ARGUMENTS}
        arguments = {key: value for key, value in payload.items() if key in SDK_ARGUMENTS}
        # ``messages`` is required by create()'s signature; the extra body replaces it.
        return {**arguments, "messages": [], "extra_body": {**body, **(payload.get("extra_body") or {})}}


def http_client(max_connections: int, timeout_s: float) -> Any:
    """An HTTP client for the model endpoint: the SDK's aiohttp client (up to 1,000 connections,
    each kept alive), else httpx keeping up to ``max_connections`` alive."""
    try:
        from openai import DefaultAioHttpClient

        return DefaultAioHttpClient(timeout=timeout_s)
    except (ImportError, RuntimeError):  # an older SDK, or aiohttp not installed
        pass
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.AsyncClient(limits=limits, timeout=timeout_s)
