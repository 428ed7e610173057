"""The bad inputs that once answered 500 (issue 9, "Bad input") now answer 4xx with a detail, or
work: each class is sent to a live server with auth on, and the server log stays clean."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import pytest
from apiharness import AGENT, LiveServer
from support.messages import say

ALICE = {"x-api-key": "key-alice", "content-type": "application/json"}
HUGE = "1" + "0" * 30


def cases(tid: str, fresh: str, run_id: str) -> list[tuple[str, str, str | None, int]]:
    """(method, path, raw body, expected status): ``tid`` has had a run, ``fresh`` has none."""
    run = f'{{"assistant_id": "{AGENT}", '
    keys = json.dumps({"metadata": {f"k{i}": i for i in range(1000)}})
    return [
        ("POST", "/threads/search", f'{{"offset": {HUGE}}}', 422),
        ("POST", "/threads/search", '{"offset": 1e300}', 422),
        ("POST", "/threads/search", '{"limit": 1e300}', 422),
        ("GET", f"/threads/{tid}/runs?offset={HUGE}", None, 422),
        ("GET", f"/threads/{tid}/runs?limit=1e300", None, 422),
        ("POST", "/threads", '{"ttl": 1e300}', 422),
        ("PATCH", f"/threads/{tid}", f'{{"ttl": {HUGE}}}', 422),
        ("POST", "/threads", f'{{"metadata": {{"n": {HUGE}}}}}', 422),
        ("POST", "/threads", '{"metadata": {"n": NaN}}', 422),
        ("POST", "/threads/search", '{"metadata": {"n": Infinity}}', 422),
        ("POST", "/threads/search", '{"metadata": {"a key \\" with \' quotes": 1}}', 200),
        ("POST", f"/threads/{tid}/history", '{"metadata": {"a key \\" with \' quotes": 1}}', 200),
        ("POST", "/threads/search", keys, 422),
        ("POST", f"/threads/{tid}/history", keys, 422),
        ("POST", f"/threads/{tid}/runs/wait", run + '"config": {"configurable": [1]}}', 422),
        ("POST", f"/threads/{tid}/runs/wait", run + '"config": {"metadata": "x"}}', 422),
        ("POST", f"/threads/{tid}/runs/wait", run + '"command": {"goto": "nowhere"}}', 422),
        ("POST", f"/threads/{tid}/state", '{"values": {"messages": 5}}', 422),
        ("POST", f"/threads/{tid}/state", '{"values": 5}', 422),
        ("POST", f"/threads/{fresh}/state", '{"values": {"messages": [{"role": "bogus"}]}}', 422),
        ("POST", f"/threads/{fresh}/state", '{"values": {"messages": []}, "as_node": "__start__"}', 422),
        ("POST", f"/threads/{tid}/state", '{"values": {}, "checkpoint": {"checkpoint_ns": "x"}}', 422),
        ("POST", f"/threads/{tid}/history", '{"before": {"configurable": 5}}', 422),
        ("POST", f"/threads/{tid}/history", '{"before": {"configurable": {"checkpoint_id": 5}}}', 422),
        ("POST", f"/threads/{tid}/history", '{"before": []}', 422),
        ("POST", f"/threads/{tid}/history", '{"checkpoint": {"checkpoint_ns": []}}', 422),
        ("GET", f"/threads/{tid}/runs/{run_id}/stream?stream_mode=[bad", None, 422),
        ("GET", "/assistants/agent/graph?xray=" + "9" * 5000, None, 422),
    ]  # fmt: skip


@pytest.fixture
def server(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server(api_keys={"key-alice": "alice"})


async def test_each_bad_input_class_is_4xx_and_the_connection_carries_on(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with httpx.AsyncClient(
        base_url=server.url, headers=ALICE, timeout=30, limits=httpx.Limits(max_connections=1)
    ) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        fresh = (await http.post("/threads", json={})).json()["thread_id"]
        run = await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": AGENT, "input": say("hi")})
        run_id = run.headers["content-location"].rsplit("/", 1)[1]
        with caplog.at_level(logging.ERROR):
            for method, path, body, status in cases(tid, fresh, run_id):
                answer = await http.request(method, path, content=body)
                assert answer.status_code == status, (method, path, body, answer.text)
                if status >= 400:
                    assert answer.json()["detail"], (path, body)
        assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
        # Nothing was left broken: both threads still answer, and a turn still works.
        for thread in (tid, fresh):
            assert (await http.get(f"/threads/{thread}/state")).status_code == 200
            assert (await http.post(f"/threads/{thread}/history", json={})).status_code == 200
        again = await http.post(
            f"/threads/{tid}/runs/wait", json={"assistant_id": AGENT, "input": say("12*7")}
        )
        assert again.status_code == 200 and "84" in again.json()["messages"][-1]["content"]
