"""Test harness of the HTTP API: a real uvicorn server in a background thread, and a scripted
chat model (the offline model plus two markers) to make runs fail or wait on demand.

- a user message containing ``FAIL`` makes every model call raise ``ValueError``;
- one containing ``BLOCK`` makes model calls wait until ``model.release()`` (``model.entered`` is
  set when the first call starts waiting), so a test can hold a run in flight (see :func:`block_run`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import uvicorn
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.tools import BaseTool
from langgraph_sdk.client import LangGraphClient
from pydantic import Field
from support.messages import say

from sessiongraph.api.app import create_app
from sessiongraph.nodes.offline import OfflineChatModel
from sessiongraph.settings import Settings

AGENT = "agent"
"""The assistant (graph) id the API serves."""
STARTUP_TIMEOUT_S = 20.0
BLOCK_TIMEOUT_S = 15.0


class ScriptedModel(OfflineChatModel):
    """The offline model, failing on ``FAIL`` and waiting for a release on ``BLOCK``."""

    entered: Any = Field(default_factory=threading.Event, exclude=True)
    gate: Any = Field(default_factory=threading.Event, exclude=True)

    def release(self) -> None:
        """Let blocked calls continue."""
        self.gate.set()

    async def _script(self, messages: list[BaseMessage]) -> None:
        last = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
        text = str(last.content) if last is not None else ""
        if "FAIL" in text:
            raise ValueError("scripted model failure")
        if "BLOCK" in text:
            self.entered.set()
            while not self.gate.is_set():
                await anyio.sleep(0.005)

    async def _agenerate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        await self._script(messages)
        return await super()._agenerate(messages, *args, **kwargs)

    async def _astream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        await self._script(messages)
        async for chunk in super()._astream(messages, *args, **kwargs):
            yield chunk


@dataclass
class LiveServer:
    """A running server: its base URL, settings and scripted model."""

    url: str
    settings: Settings
    model: ScriptedModel
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self.model.release()
        self.server.should_exit = True
        self.thread.join(timeout=30)


class FakeClock:
    """A settable clock for the cron scheduler: ``now`` moves only when a test moves it;
    ``calls`` counts the reads (each scheduler tick reads it once)."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


def start_server(
    settings: Settings,
    clock: FakeClock | None = None,
    tools: Sequence[BaseTool | Callable[..., Any]] = (),
) -> LiveServer:
    """Start uvicorn on an ephemeral loopback port and wait (bounded) until it accepts requests;
    ``clock`` drives the cron scheduler, ``tools`` are added to the graph's built-in tools."""
    model = ScriptedModel()
    config = uvicorn.Config(
        create_app(settings, model=model, clock=clock, tools=list(tools)),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the test server did not start; see the log above")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return LiveServer(f"http://127.0.0.1:{port}", settings, model, server, thread)


def server_settings(checkpoint_url: str, **overrides: Any) -> Settings:
    """Settings for a test server: offline model, no auth, generous limits unless overridden."""
    values: dict[str, Any] = {
        "checkpoint_url": checkpoint_url,
        "model": "offline",
        "api_keys": {},
        "rate_limit": "100000/minute",
        "rate_limit_storage": "memory://",
        "heartbeat_s": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running(
    settings: Settings,
    clock: FakeClock | None = None,
    tools: Sequence[BaseTool | Callable[..., Any]] = (),
) -> Iterator[LiveServer]:
    """A live server for ``settings`` (cron clock ``clock``, extra ``tools``), stopped on exit."""
    live = start_server(settings, clock, tools)
    try:
        yield live
    finally:
        live.stop()


async def block_run(client: LangGraphClient, server: LiveServer, thread_id: str, **kwargs: Any) -> dict:
    """Start a background run whose model waits (``BLOCK here``) until ``server.model.release()``;
    return the run once the model is waiting. ``kwargs`` go to ``client.runs.create``."""
    run = await client.runs.create(thread_id, AGENT, input=say("BLOCK here"), **kwargs)
    assert await asyncio.to_thread(server.model.entered.wait, BLOCK_TIMEOUT_S)
    return run
