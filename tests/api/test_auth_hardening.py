"""Auth cannot be probed (issue 13): failed attempts are rate limited per client, ``/metrics``
needs a key when auth is on, and a taken thread id answers alike whoever owns it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
from apiharness import LiveServer

KEYS = {"key-alice": "alice", "key-bob": "bob"}


async def test_failed_authentications_are_limited_per_client(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(api_keys=KEYS, auth_failure_limit="3/minute")
    async with httpx.AsyncClient(base_url=server.url) as http:
        for guess in ("a", "b", "c"):
            assert (
                await http.post("/threads/search", json={}, headers={"x-api-key": guess})
            ).status_code == 401
        limited = await http.post("/threads/search", json={}, headers={"x-api-key": "d"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert "failed authentications" in limited.json()["detail"]
        # A right key from the same client waits too, or guessing could go on.
        right = await http.post("/threads/search", json={}, headers={"x-api-key": "key-alice"})
        assert right.status_code == 429
        assert (await http.get("/ok")).status_code == 200


async def test_metrics_need_a_key_when_auth_is_on(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(api_keys=KEYS, metrics_key="scraper-secret", metrics_open_path="/internal/metrics")
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers={"x-api-key": "nope"})).status_code == 401
        assert (await http.get("/metrics", headers={"x-api-key": "key-alice"})).status_code == 200
        scraper = await http.get("/metrics", headers={"Authorization": "Bearer scraper-secret"})
        assert scraper.status_code == 200 and "sessiongraph_runs" in scraper.text
        assert (await http.get("/internal/metrics")).status_code == 200
        assert "/internal/metrics" not in (await http.get("/openapi.json")).json()["paths"]


async def test_a_taken_thread_id_answers_the_same_whoever_owns_it(
    make_server: Callable[..., LiveServer],
) -> None:
    server = make_server(api_keys=KEYS)
    alice, bob = {"x-api-key": "key-alice"}, {"x-api-key": "key-bob"}
    async with httpx.AsyncClient(base_url=server.url) as http:
        tid = str(uuid.uuid4())
        assert (await http.post("/threads", json={"thread_id": tid}, headers=alice)).status_code == 200
        answers = [
            await http.post("/threads", json={"thread_id": tid, "if_exists": if_exists}, headers=who)
            for who in (bob, alice)
            for if_exists in ("raise", "do_nothing")
        ]
        bob_raise, bob_nothing, alice_raise, alice_nothing = answers
        # Reference server: 409 "Thread with ID ... already exists" for any taken id.
        assert [a.status_code for a in (bob_raise, bob_nothing, alice_raise)] == [409, 409, 409]
        assert bob_raise.json() == bob_nothing.json() == alice_raise.json()
        assert "alice" not in bob_raise.text
        assert alice_nothing.status_code == 200 and alice_nothing.json()["thread_id"] == tid
        free = await http.post("/threads", json={"thread_id": str(uuid.uuid4())}, headers=bob)
        assert free.status_code == 200
