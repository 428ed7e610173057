"""Crash scenarios on a real ``sessiongraph serve`` process, shared by the tests and ``bench/crash.py``.

:class:`ServeProcess` starts the installed console script on a checkpoint URL (the model is the
OpenAI-compatible stub, slowed down by a ``[stub:sleep=...]`` marker so that turns are in
flight when the process dies). :func:`busy_clients` drives threads with the official sync
client until told to stop, recording every turn the server acknowledged (``/wait`` answered
with the turn's answer). :func:`inspect` reads the data back through a restarted server and
counts what the reliability invariants forbid: threads stuck (``busy``, or a run left
``pending``/``running``), corrupted (the state ends mid-turn) and acknowledged turns lost (not
in the thread's messages, in order).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient

from support.messages import say
from support.server_process import HOST, free_port, serving, stop

SESSIONGRAPH_BIN = Path(sys.executable).parent / "sessiongraph"
AGENT = "agent"
BOOT_TIMEOUT_S = 60.0
CLIENT_TIMEOUT_S = 30.0


@dataclass
class ServeProcess:
    """``sessiongraph serve`` on ``checkpoint_url`` with the stub model at ``model_url``."""

    checkpoint_url: str
    model_url: str
    log_dir: Path
    settings: Mapping[str, str] = field(default_factory=dict)
    """Extra ``SESSIONGRAPH_*`` settings (without the prefix, upper case)."""
    port: int = field(default_factory=free_port)
    starts: int = 0

    @property
    def url(self) -> str:
        """The server's base URL (the same across restarts)."""
        return f"http://{HOST}:{self.port}"

    def env(self) -> dict[str, str]:
        """The process environment."""
        extra = {f"SESSIONGRAPH_{k}": v for k, v in self.settings.items()}
        return {
            **os.environ,
            "SESSIONGRAPH_API_KEYS": "{}",
            "SESSIONGRAPH_OPENAI_BASE_URL": self.model_url,
            "SESSIONGRAPH_OPENAI_API_KEY": "test",
            "SESSIONGRAPH_RATE_LIMIT": "100000/minute",
            **extra,
        }

    @contextlib.contextmanager
    def running(self) -> Iterator[subprocess.Popen[bytes]]:
        """Start the server (until ``/ok``), yield the process, stop it afterwards if alive."""
        self.starts += 1
        argv = [
            str(SESSIONGRAPH_BIN),
            "--checkpoint-url",
            self.checkpoint_url,
            "--model",
            "openai:stub",
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.port),
        ]
        log = self.log_dir / f"serve-{self.starts}.log"
        with serving(argv, url=self.url, log=log, boot_timeout_s=BOOT_TIMEOUT_S, env=self.env()) as proc:
            yield proc

    @staticmethod
    def kill9(proc: subprocess.Popen[bytes]) -> None:
        """``kill -9`` the server's whole process group and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    @staticmethod
    def sigterm(proc: subprocess.Popen[bytes]) -> None:
        """Send SIGTERM to the server (the drain starts); :func:`stop` reaps it later."""
        os.killpg(proc.pid, signal.SIGTERM)

    stop = staticmethod(stop)


def client(url: str) -> SyncLangGraphClient:
    """The official sync client, without auth."""
    return get_sync_client(url=url, api_key=None, timeout=CLIENT_TIMEOUT_S)


@dataclass
class Ledger:
    """What clients sent and what the server acknowledged, per thread, in order."""

    acked: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        """Count a failed request by kind (HTTP status or exception name)."""
        self.errors[kind] = self.errors.get(kind, 0) + 1


def new_threads(url: str, count: int) -> list[str]:
    """Create ``count`` threads."""
    sdk = client(url)
    return [sdk.threads.create()["thread_id"] for _ in range(count)]


def turn_text(thread_id: str, slow_s: float) -> str:
    """A unique user message, slowed by ``slow_s`` per model call."""
    marker = f" [stub:sleep={slow_s}]" if slow_s else ""
    return f"note {uuid.uuid4().hex[:8]} for {thread_id[:8]}{marker}"


def _status(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return str(code) if code is not None else type(exc).__name__


def busy_clients(
    url: str,
    thread_ids: list[str],
    ledger: Ledger,
    halt: threading.Event,
    *,
    slow_s: float = 0.0,
    max_turns: int | None = None,
    stop_on_error: bool = True,
) -> list[threading.Thread]:
    """Start one client thread per thread id, running turns one after another until ``halt``
    (or ``max_turns``); acknowledged turns go to ``ledger``. Returns the started threads."""

    def work(thread_id: str) -> None:
        sdk = client(url)
        done = 0
        while not halt.is_set() and (max_turns is None or done < max_turns):
            text = turn_text(thread_id, slow_s)
            try:
                result: Any = sdk.runs.wait(thread_id, AGENT, input=say(text), multitask_strategy="enqueue")
            except Exception as exc:
                ledger.error(_status(exc))
                if stop_on_error:
                    return
                time.sleep(0.2)  # back off while the server is unavailable, then try again
                continue
            if isinstance(result, dict) and text in [m.get("content") for m in result.get("messages", [])]:
                ledger.acked.setdefault(thread_id, []).append(text)
                done += 1

    workers = [threading.Thread(target=work, args=(t,), daemon=True) for t in thread_ids]
    for worker in workers:
        worker.start()
    return workers


@dataclass
class Damage:
    """What :func:`inspect` found (every count must be 0)."""

    stuck: list[str] = field(default_factory=list)
    corrupted: list[str] = field(default_factory=list)
    lost_turns: int = 0
    active_runs: int = 0


def _is_settled(sdk: SyncLangGraphClient, thread_ids: list[str]) -> bool:
    for thread_id in thread_ids:
        if sdk.threads.get(thread_id)["status"] == "busy":
            return False
        if any(r["status"] in ("pending", "running") for r in sdk.runs.list(thread_id, limit=100)):
            return False
    return True


def wait_settled(url: str, thread_ids: list[str], timeout_s: float) -> bool:
    """Poll (bounded) until no thread is busy and no run active; whether that happened."""
    sdk = client(url)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _is_settled(sdk, thread_ids):
            return True
        time.sleep(0.2)  # polling interval of a bounded wait for recovery
    return False


def inspect(url: str, thread_ids: list[str], ledger: Ledger) -> Damage:
    """Check the invariants on every thread (see the module docstring)."""
    sdk = client(url)
    damage = Damage()
    for thread_id in thread_ids:
        thread = sdk.threads.get(thread_id)
        runs = sdk.runs.list(thread_id, limit=100)
        active = [r for r in runs if r["status"] in ("pending", "running")]
        damage.active_runs += len(active)
        if thread["status"] == "busy" or active:
            damage.stuck.append(thread_id)
        messages = sdk.threads.get_state(thread_id)["values"].get("messages", [])
        if messages and (messages[-1]["type"] != "ai" or messages[-1].get("tool_calls")):
            damage.corrupted.append(thread_id)
        said = [m["content"] for m in messages if m["type"] == "human"]
        position = 0
        for text in ledger.acked.get(thread_id, []):
            try:
                position = said.index(text, position) + 1
            except ValueError:
                damage.lost_turns += 1
    return damage


def next_turn_works(url: str, thread_id: str) -> bool:
    """Whether a new turn on the thread succeeds and is answered."""
    text = turn_text(thread_id, 0.0)
    result: Any = client(url).runs.wait(thread_id, AGENT, input=say(text))
    contents = [m.get("content") for m in result.get("messages", [])]
    return text in contents and result["messages"][-1]["type"] == "ai"
