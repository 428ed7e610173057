"""The chat-model factory: a model spec string (``offline`` or ``openai:<name>``) -> a chat model.

``openai:<name>`` uses ``langchain_openai.ChatOpenAI`` (as :class:`~.openai_model.ServerChatOpenAI`,
which skips a costly no-op pass of the SDK) with the base URL and key from settings, so any
OpenAI-compatible server works (OpenAI, vLLM, Ollama, llama.cpp's server, ...).
"""

from __future__ import annotations

import asyncio
import weakref
from functools import lru_cache
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.messages.utils import count_tokens_approximately
from pydantic import SecretStr

from sessiongraph.nodes.offline import OfflineChatModel
from sessiongraph.settings import Settings, get_settings


class ModelConfigError(ValueError):
    """The model spec cannot be turned into a chat model; the message says how to fix it."""


def create_chat_model(
    spec: str = "", temperature: float | None = None, settings: Settings | None = None
) -> BaseChatModel:
    """Build the chat model named by ``spec`` (cached per spec, temperature and endpoint).

    An empty ``spec`` or a ``None`` temperature takes the settings' default.
    """
    settings = settings or get_settings()
    spec = (spec or settings.resolved_model).strip()
    key = (
        spec,
        float(settings.temperature if temperature is None else temperature),
        settings.openai_base_url,
        settings.openai_api_key,
        settings.request_timeout_s,
        settings.max_concurrent_runs,
    )
    # An OpenAI model's HTTP connections belong to one event loop: one model per loop.
    return _per_loop_model(*key) if spec.startswith("openai:") else _cached_model(*key)


_LOOP_MODELS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], BaseChatModel]]
_LOOP_MODELS = weakref.WeakKeyDictionary()


def _per_loop_model(*key: Any) -> BaseChatModel:
    """``_cached_model(*key)``, one per running event loop (the process-wide one outside a loop)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _cached_model(*key)
    models = _LOOP_MODELS.setdefault(loop, {})
    model = models.get(key)
    if model is None:
        if len(models) >= 32:
            models.clear()
        model = models[key] = _cached_model.__wrapped__(*key)
    return model


@lru_cache(maxsize=32)
def _cached_model(
    spec: str,
    temperature: float,
    base_url: str | None,
    api_key: str | None,
    timeout: float,
    concurrency: int = 100,
) -> BaseChatModel:
    if spec in ("", "offline") or spec.startswith("offline:"):
        return OfflineChatModel(temperature=temperature)
    provider, _, name = spec.partition(":")
    if provider != "openai" or not name:
        raise ModelConfigError(
            f"unknown model {spec!r}: use 'offline' or 'openai:<model name>' "
            "(with SESSIONGRAPH_OPENAI_BASE_URL for a self-hosted OpenAI-compatible server)"
        )
    from sessiongraph.nodes.openai_model import ServerChatOpenAI, http_client

    return ServerChatOpenAI(
        model=name,
        temperature=temperature,
        base_url=base_url,
        # A self-hosted server often needs no key, but the client insists on one.
        api_key=SecretStr(api_key or "not-needed"),
        timeout=timeout,
        max_retries=1,
        stream_usage=True,
        # Each running run waits on at most one call: keep that many connections alive.
        http_async_client=http_client(max(100, concurrency), timeout),
    )


def count_tokens(model: BaseChatModel, messages: list[BaseMessage]) -> int:
    """Tokens in ``messages`` by the model's own counter, or the documented approximation.

    The approximation (``langchain_core.messages.utils.count_tokens_approximately``) counts about
    4 characters a token plus 3 tokens a message. It is used when the model has no counter, or
    when its counter cannot run here (``ChatOpenAI``'s needs tiktoken's encoding files, which a
    machine without internet access cannot download).
    """
    if _counter_broken.get(type(model)):
        return count_tokens_approximately(messages)
    try:
        return model.get_num_tokens_from_messages(messages)
    except Exception:
        _counter_broken[type(model)] = True
        return count_tokens_approximately(messages)


_counter_broken: dict[type, bool] = {}
