"""Auth and ownership, limits, caller mistakes (4xx with a useful detail), CORS, metrics, serve."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from apiharness import AGENT, LiveServer, block_run, server_settings
from langgraph_sdk import get_client
from langgraph_sdk.errors import ConflictError
from support.messages import say

from sessiongraph.api.server import UnsafeBind, check_bind, serve

KEYS = {"key-alice": "alice", "key-bob": "bob"}


async def test_api_keys_and_owners(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(api_keys=KEYS)
    async with httpx.AsyncClient(base_url=server.url) as http:
        missing = await http.post("/threads/search", json={})
        assert missing.status_code == 401 and "x-api-key" in missing.json()["detail"]
        assert (await http.post("/threads/search", json={}, headers={"x-api-key": "nope"})).status_code == 401
        bearer = await http.post("/threads/search", json={}, headers={"Authorization": "Bearer key-bob"})
        assert bearer.status_code == 200
        assert (await http.get("/ok")).status_code == 200
    alice = get_client(url=server.url, api_key="key-alice")
    bob = get_client(url=server.url, api_key="key-bob")
    try:
        thread = await alice.threads.create(metadata={"owner": "bob"})
        tid = thread["thread_id"]
        assert thread["metadata"]["owner"] == "alice"
        await alice.runs.wait(tid, AGENT, input=say("hello"))
        for call in (
            bob.threads.get(tid),
            bob.threads.get_state(tid),
            bob.threads.get_history(tid),
            bob.threads.update(tid, metadata={"x": 1}),
            bob.threads.update_state(tid, {"messages": []}, as_node="answer"),
            bob.runs.wait(tid, AGENT, input=say("hi"), if_not_exists="create"),
            bob.runs.create(tid, AGENT, input=say("hi")),
            bob.runs.list(tid),
            bob.threads.delete(tid),
        ):
            with pytest.raises(httpx.HTTPStatusError) as hidden:
                await call
            assert hidden.value.response.status_code == 404
        assert await bob.threads.search(metadata={"owner": "bob"}) == []
        assert await bob.threads.count() == 0
        with pytest.raises(ConflictError):
            await bob.threads.create(thread_id=tid, if_exists="do_nothing")
        assert [t["thread_id"] for t in await alice.threads.search()] == [tid]
    finally:
        await alice.aclose()
        await bob.aclose()


async def test_caller_mistakes_are_4xx_with_a_detail(sqlite_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=sqlite_server.url) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]

        async def detail(method: str, path: str, status: int, **kwargs: object) -> str:
            response = await http.request(method, path, **kwargs)
            assert response.status_code == status, response.text
            return response.json()["detail"]

        assert "thread_id" in await detail("GET", "/threads/not-a-uuid", 422)
        assert "Invalid JSON" in await detail(
            "POST", "/threads", 422, content=b"{nope", headers={"content-type": "application/json"}
        )
        assert "stream_mode" in await detail(
            "POST", f"/threads/{tid}/runs/wait", 422, json={"assistant_id": AGENT, "stream_mode": "nope"}
        )
        assert "max_replans" in await detail(
            "POST",
            f"/threads/{tid}/runs/wait",
            422,
            json={"assistant_id": AGENT, "context": {"max_replans": "x"}},
        )
        assert "assistant_id" in await detail("POST", f"/threads/{tid}/runs/wait", 422, json={"input": None})
        assert "Invalid assistant" in await detail(
            "POST", f"/threads/{tid}/runs/wait", 422, json={"assistant_id": "nope"}
        )
        assert "not found" in await detail(
            "POST", f"/threads/{tid}/runs/wait", 404, json={"assistant_id": str(uuid.uuid4())}
        )
        unknown = str(uuid.uuid4())
        assert "not found" in await detail("GET", f"/threads/{unknown}", 404)
        assert "not found" in await detail(
            "POST", f"/threads/{unknown}/runs/wait", 404, json={"assistant_id": AGENT, "input": say("x")}
        )
        assert "no pending interrupt" in await detail(
            "POST", f"/threads/{tid}/runs/wait", 400, json={"assistant_id": AGENT, "command": {"resume": 1}}
        )
        assert "checkpoint" in await detail(
            "POST",
            f"/threads/{tid}/runs/wait",
            404,
            json={"assistant_id": AGENT, "input": say("x"), "checkpoint_id": str(uuid.uuid4())},
        )
        assert "already exists" in await detail("POST", "/threads", 409, json={"thread_id": tid})
        assert "thread_id" in await detail(
            "POST", "/runs/wait", 400, json={"assistant_id": AGENT, "command": {"resume": 1}}
        )
        ok = await http.post(
            f"/threads/{tid}/runs/wait", json={"assistant_id": AGENT, "input": say("still fine")}
        )
        assert ok.status_code == 200 and ok.json()["messages"][0]["content"] == "still fine"


async def test_body_size_limit_413(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(max_body_bytes=2000)
    async with httpx.AsyncClient(base_url=server.url) as http:
        big = {"metadata": {"blob": "x" * 5000}}
        response = await http.post("/threads", json=big)
        assert response.status_code == 413 and "2000 bytes" in response.json()["detail"]

        async def chunks():
            for _ in range(10):
                yield b" " * 500
            yield b"{}"

        chunked = await http.post("/threads", content=chunks(), headers={"content-type": "application/json"})
        assert chunked.status_code == 413
        assert (await http.post("/threads", json={"metadata": {"small": 1}})).status_code == 200


async def test_rate_limit_429_with_retry_after(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(rate_limit="3/minute", api_keys=KEYS)
    async with httpx.AsyncClient(base_url=server.url) as http:
        alice = {"x-api-key": "key-alice"}
        for _ in range(3):
            assert (await http.post("/threads/search", json={}, headers=alice)).status_code == 200
        limited = await http.post("/threads/search", json={}, headers=alice)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert "rate limit" in limited.json()["detail"]
        bob = await http.post("/threads/search", json={}, headers={"x-api-key": "key-bob"})
        assert bob.status_code == 200


async def test_studio_cors_preflight_and_text_plain_json(sqlite_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=sqlite_server.url) as http:
        preflight = await http.options(
            "/threads/search",
            headers={
                "Origin": "https://smith.langchain.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-api-key",
                "Access-Control-Request-Private-Network": "true",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://smith.langchain.com"
        assert preflight.headers["access-control-allow-private-network"] == "true"
        created = await http.post(
            "/threads",
            content=b'{"metadata": {"via": "studio"}}',
            headers={"content-type": "text/plain;charset=UTF-8", "Origin": "https://smith.langchain.com"},
        )
        assert created.status_code == 200 and created.json()["metadata"] == {"via": "studio"}
        assert "content-location" in created.headers["access-control-expose-headers"].lower()


async def test_system_endpoints_and_metrics(sqlite_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=sqlite_server.url) as http:
        assert (await http.get("/ok")).json() == {"ok": True}
        info = (await http.get("/info")).json()
        assert info["version"] and info["flags"]["assistants"] is True
        assert (await http.get("/docs")).status_code == 200
        assert "/threads/{thread_id}/runs/stream" in (await http.get("/openapi.json")).json()["paths"]
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        await http.post(f"/threads/{tid}/runs/wait", json={"assistant_id": AGENT, "input": say("hi")})
        metrics = (await http.get("/metrics")).text
        assert 'sessiongraph_runs_finished_total{status="success"} 1.0' in metrics
        assert "sessiongraph_runs_started_total 1.0" in metrics
        assert "sessiongraph_active_runs 0.0" in metrics
        assert "sessiongraph_run_duration_seconds_count" in metrics
        assert 'route="/threads/{thread_id}/runs/wait"' in metrics


async def test_sse_heartbeat_while_the_run_is_quiet(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(heartbeat_s=0.05)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": AGENT, "input": say("BLOCK a while"), "stream_mode": "values"}
        lines: list[str] = []
        async with http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["location"].endswith("/stream")
            async for line in response.aiter_lines():
                lines.append(line)
                if line == ": heartbeat":
                    server.model.release()
        assert lines[0] == "event: metadata" and "event: end" in lines
        assert "event: values" in lines


def test_serve_refuses_a_public_bind_without_keys(capsys: pytest.CaptureFixture[str]) -> None:
    public = server_settings("sqlite:///:memory:", host="0.0.0.0")
    with pytest.raises(UnsafeBind):
        check_bind(public)
    with pytest.raises(SystemExit):
        serve(public)
    assert "no API keys" in capsys.readouterr().err
    check_bind(server_settings("sqlite:///:memory:", host="0.0.0.0", api_keys=KEYS))
    check_bind(server_settings("sqlite:///:memory:", host="127.0.0.1"))


async def test_update_state_conflicts_with_a_running_run(sqlite_server: LiveServer) -> None:
    sdk = get_client(url=sqlite_server.url)
    tid = (await sdk.threads.create())["thread_id"]
    run = await block_run(sdk, sqlite_server, tid)
    with pytest.raises(ConflictError):
        await sdk.threads.update_state(tid, {"messages": []}, as_node="answer")
    sqlite_server.model.release()
    await sdk.runs.join(tid, run["run_id"])
    await sdk.aclose()


async def test_rate_limit_on_redis_storage(
    make_server: Callable[..., LiveServer], redis_flushed_url: str
) -> None:
    server = make_server(rate_limit="2/minute", rate_limit_storage=redis_flushed_url)
    async with httpx.AsyncClient(base_url=server.url) as http:
        codes = [(await http.post("/threads/count", json={})).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
