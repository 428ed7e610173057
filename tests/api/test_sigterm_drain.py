"""SIGTERM drains a real ``sessiongraph serve`` process instead of cutting it off.

While it drains, a new run is refused with 503 and ``Retry-After`` (``/ready`` says so too); a
queued run fails at once; the running one gets ``drain_grace_s`` and is then stopped with a
rollback; every stream ends with an ``error`` event, never a cut connection. After a restart
the records say what happened, the thread is at its pre-run state and the next turn works.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
from support.crash import AGENT, ServeProcess, client, next_turn_works, turn_text
from support.messages import say
from support.openai_stub import OpenAIStubServer

GRACE_S = 1.0
JOIN_TIMEOUT_S = 60.0
POLL_S = 0.05
DEADLINE_S = 30.0


def _poll(check: Any, what: str) -> Any:
    """Bounded polling for a condition in another process."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(POLL_S)


def test_sigterm_drains_runs_and_ends_every_stream(
    sqlite_url: str, openai_stub: OpenAIStubServer, tmp_path: Path
) -> None:
    server = ServeProcess(sqlite_url, openai_stub.base_url, tmp_path, {"DRAIN_GRACE_S": str(GRACE_S)})
    with server.running() as proc:
        sdk = client(server.url)
        thread_id = sdk.threads.create()["thread_id"]
        other = sdk.threads.create()["thread_id"]
        assert next_turn_works(server.url, thread_id)
        before = sdk.threads.get_state(thread_id)["values"]["messages"]

        events: list[Any] = []

        def stream() -> None:
            slow = turn_text(thread_id, GRACE_S + 4)  # still thinking when the grace ends
            events.extend(sdk.runs.stream(thread_id, AGENT, input=say(slow), stream_mode="values"))

        streamer = threading.Thread(target=stream, daemon=True)
        streamer.start()
        _poll(lambda: [r for r in sdk.runs.list(thread_id) if r["status"] == "running"], "the slow run")
        queued = sdk.runs.create(thread_id, AGENT, input=say("queued"), multitask_strategy="enqueue")

        ServeProcess.sigterm(proc)
        with httpx.Client(base_url=server.url, timeout=10) as http:
            refused = _poll(
                lambda: (
                    (r := http.post(f"/threads/{other}/runs", json={"assistant_id": AGENT})).status_code
                    == 503
                    and r
                ),
                "new runs to be refused",
            )
            assert refused.headers["retry-after"]
            assert "shutting down" in refused.json()["detail"]
            ready = http.get("/ready")
            assert ready.status_code == 503 and "shutting down" in ready.json()["detail"]
            assert http.get("/ok").status_code == 200
        streamer.join(timeout=JOIN_TIMEOUT_S)
        assert not streamer.is_alive()
        assert events and events[-1].event == "error", [e.event for e in events]
        assert "shut down" in events[-1].data["message"]
        assert proc.wait(timeout=JOIN_TIMEOUT_S) is not None

    with server.running():
        runs = {r["run_id"]: r for r in sdk.runs.list(thread_id, limit=10)}
        assert runs[queued["run_id"]]["status"] == "error"
        assert [r["status"] for r in runs.values()].count("error") == 2
        thread = sdk.threads.get(thread_id)
        assert thread["status"] != "busy"
        after = sdk.threads.get_state(thread_id)["values"]["messages"]
        assert [m["content"] for m in after] == [m["content"] for m in before]
        assert next_turn_works(server.url, thread_id)
