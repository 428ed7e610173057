"""The installed ``sessiongraph`` console script, run as real processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from langgraph_sdk import get_client
from support.messages import contents, say
from support.openai_stub import OpenAIStubServer
from support.server_process import HOST, free_port, serving
from typer.testing import CliRunner

from sessiongraph.cli import app
from sessiongraph.sessions import Sessions
from sessiongraph.settings import get_settings

MAX_TURNS_TO_MEET_BOTH_WORKERS = 40
"""Turns sent on new connections until one lands on the other worker (the kernel picks)."""
SESSIONGRAPH_BIN = Path(sys.executable).parent / "sessiongraph"
"""The console script installed next to the test interpreter (the venv's ``sessiongraph``)."""


def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the venv's ``sessiongraph`` and capture its output."""
    return subprocess.run(
        [str(SESSIONGRAPH_BIN), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        check=False,
    )


def test_ask_remembers_across_processes(sqlite_url: str) -> None:
    offline = ["--checkpoint-url", sqlite_url, "--model", "offline"]
    first = run_cli(*offline, "ask", "--thread", "ada", "My name is Ada")
    assert first.returncode == 0, first.stderr
    second = run_cli(*offline, "ask", "--thread", "ada", "--json", "What is my name?")
    assert second.returncode == 0, second.stderr
    payload = json.loads(second.stdout)
    assert payload["thread_id"] == "ada"
    assert payload["message"]["content"] == "Your name is Ada."


def test_chat_survives_a_failing_turn_against_an_openai_server(sqlite_url: str) -> None:
    """A model error fails the turn (the thread rolls back), the REPL goes on; answers stream over HTTP."""
    with OpenAIStubServer() as stub:
        result = run_cli(
            "--checkpoint-url",
            sqlite_url,
            "--model",
            "openai:stub-model",
            "chat",
            "--thread",
            "t",
            env={"SESSIONGRAPH_OPENAI_BASE_URL": stub.base_url, "SESSIONGRAPH_OPENAI_API_KEY": "test"},
            stdin="hello [stub:400]\n/state\nwhat is 6*7?\n/quit\n",
        )
        streamed = [r for r in stub.requests if r.get("stream")]
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "model openai:stub-model" in out
    assert "error:" in out and "rolled back" in out
    assert "messages    0" in out  # /state after the failed turn: nothing was kept
    assert "6*7 = 42" in out
    assert "bye" in out
    assert "Traceback" not in result.stderr
    assert streamed, "the answer node should stream from the OpenAI-compatible server"

    shown = CliRunner().invoke(app, ["--checkpoint-url", sqlite_url, "threads", "show", "t"])
    assert "idle" in shown.stdout and "6*7 = 42" in shown.stdout


async def test_serve_answers_over_http_with_the_sdk(tmp_path: Path, sqlite_url: str) -> None:
    """``sessiongraph serve --host --port`` starts the API on the CLI's backend; the SDK talks to it."""
    port = free_port()
    argv = [str(SESSIONGRAPH_BIN), "--checkpoint-url", sqlite_url, "--model", "offline", "serve"]
    log = tmp_path / "serve.log"
    base = f"http://{HOST}:{port}"
    env = {**os.environ, "SESSIONGRAPH_API_KEYS": "{}"}
    with serving([*argv, "--host", HOST, "--port", str(port)], url=base, log=log, boot_timeout_s=60, env=env):
        async with get_client(url=base) as client:
            thread = await client.threads.create()
            message = {"role": "user", "content": "what is 6*7?"}
            result = await client.runs.wait(thread["thread_id"], "agent", input={"messages": [message]})
        assert "42" in result["messages"][-1]["content"]
    # the server used the CLI's --checkpoint-url: the thread is in that SQLite file
    async with Sessions.open(sqlite_url) as sessions:
        assert (await sessions.get_thread(thread["thread_id"])).status == "idle"
    assert f"backend: {sqlite_url}" in log.read_text()


def test_serve_refuses_a_public_bind_without_api_keys(sqlite_url: str) -> None:
    if get_settings().api_keys:  # pragma: no cover - only when the environment configures keys
        return
    result = CliRunner().invoke(app, ["--checkpoint-url", sqlite_url, "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "refusing to bind 0.0.0.0" in result.stderr


async def test_serve_with_two_workers_shares_sessions(
    tmp_path: Path, postgres_clean_url: str, redis_flushed_url: str
) -> None:
    """``serve --workers 2`` on Postgres, coordinated through Redis: two processes, one set of threads."""
    port = free_port()
    base = f"http://{HOST}:{port}"
    argv = [str(SESSIONGRAPH_BIN), "--checkpoint-url", postgres_clean_url, "--model", "offline", "serve"]
    env = {**os.environ, "SESSIONGRAPH_API_KEYS": "{}", "SESSIONGRAPH_COORDINATION_URL": redis_flushed_url}
    log = tmp_path / "serve.log"
    with serving(
        [*argv, "--port", str(port), "--workers", "2"], url=base, log=log, boot_timeout_s=90, env=env
    ):
        async with get_client(url=base) as client:
            threads = [await client.threads.create() for _ in range(4)]
            message = {"role": "user", "content": "what is 6*7?"}
            results = await asyncio.gather(
                *(client.runs.wait(t["thread_id"], "agent", input={"messages": [message]}) for t in threads)
            )
            assert all("42" in r["messages"][-1]["content"] for r in results)
            assert await client.threads.count() == 4
    started = {
        line.split("[")[-1] for line in log.read_text().splitlines() if "Started server process" in line
    }
    assert len(started) == 2


def test_serve_refuses_workers_on_a_single_process_backend(sqlite_url: str) -> None:
    result = CliRunner().invoke(app, ["--checkpoint-url", sqlite_url, "serve", "--workers", "2"])
    assert result.exit_code == 2
    assert "--workers 2 needs sessions that several processes share" in result.stderr


async def test_serve_with_two_workers_on_postgres_alone(tmp_path: Path, postgres_clean_url: str) -> None:
    """``serve --workers 2`` with sessions and coordination in Postgres (no Redis): turns on one
    thread land on both workers, each sees the others' turns, and runs sent to both at once take
    their turns one after the other."""
    port = free_port()
    base = f"http://{HOST}:{port}"
    argv = [str(SESSIONGRAPH_BIN), "--checkpoint-url", postgres_clean_url, "--model", "offline", "serve"]
    env = {k: v for k, v in os.environ.items() if k != "SESSIONGRAPH_COORDINATION_URL"}
    env["SESSIONGRAPH_API_KEYS"] = "{}"
    log = tmp_path / "serve.log"

    async def turn(thread_id: str, text: str) -> str:
        # A client of its own per turn: a new connection, which either worker may accept.
        async with get_client(url=base) as client:
            run = await client.runs.create(thread_id, "agent", input=say(text))
            await client.runs.join(thread_id, run["run_id"])
            return str(run["run_id"])

    with serving(
        [*argv, "--port", str(port), "--workers", "2"], url=base, log=log, boot_timeout_s=90, env=env
    ):
        async with Sessions.open(postgres_clean_url) as sessions, get_client(url=base) as client:
            thread_id = (await client.threads.create())["thread_id"]
            first = await sessions.runs.get(await turn(thread_id, "My name is Ada"))
            assert first is not None
            workers = {first.worker}
            for _ in range(MAX_TURNS_TO_MEET_BOTH_WORKERS):
                run = await sessions.runs.get(await turn(thread_id, "What is my name?"))
                assert run is not None and run.status == "success"
                workers.add(run.worker)
                if len(workers) == 2:
                    break
            assert len(workers) == 2, "every turn landed on one worker"
            state = await client.threads.get_state(thread_id)
            assert contents(state["values"])[-1] == "Your name is Ada."
            # Runs sent to both workers at once queue on the thread's lock, across processes.
            together = await asyncio.gather(*(turn(thread_id, f"what is {n}*7?") for n in range(2, 6)))
            finished = [await sessions.runs.get(run_id) for run_id in together]
            assert {r.status for r in finished if r is not None} == {"success"}
            answers = contents((await client.threads.get_state(thread_id))["values"])
            for n in range(2, 6):  # each turn once, its question answered, none lost or doubled
                assert sum(f"{n}*7 = {n * 7}" in answer for answer in answers) == 1
    assert "Traceback" not in log.read_text()


def test_serve_refuses_workers_with_in_process_coordination(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSIONGRAPH_COORDINATION_URL", "memory://")
    url = "postgresql://nobody@127.0.0.1:1/sessions"  # never connected to: refused before
    get_settings.cache_clear()  # the process settings are read once: read them with this variable
    try:
        result = CliRunner().invoke(app, ["--checkpoint-url", url, "serve", "--workers", "3"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "SESSIONGRAPH_COORDINATION_URL=memory:// keeps them in one process" in result.stderr
