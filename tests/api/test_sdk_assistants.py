"""Every method of langgraph-sdk's assistants client against a live server (SQLite and Redis)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from apiharness import AGENT, LiveServer
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError
from pydantic import ValidationError
from support.messages import say

from sessiongraph.settings import Settings

SYSTEM_ID = "fe096781-5601-53d2-b2f6-0d3403f7e9ca"


async def test_create_update_versions_latest_search_count_delete(client: LangGraphClient) -> None:
    created = await client.assistants.create(
        AGENT, name="planner", context={"max_replans": 0}, metadata={"team": "a"}, description="d"
    )
    aid = created["assistant_id"]
    assert (created["version"], created["name"], created["context"]) == (1, "planner", {"max_replans": 0})
    assert (await client.assistants.get(aid))["metadata"] == {"team": "a"}
    with pytest.raises(ConflictError):
        await client.assistants.create(AGENT, assistant_id=aid)
    same = await client.assistants.create(AGENT, assistant_id=aid, name="other", if_exists="do_nothing")
    assert same["name"] == "planner"

    updated = await client.assistants.update(aid, name="planner v2", metadata={"stage": "beta"})
    assert updated["version"] == 2 and updated["metadata"] == {"team": "a", "stage": "beta"}
    assert updated["context"] == {"max_replans": 0}
    versions = await client.assistants.get_versions(aid)
    assert [(v["version"], v["name"]) for v in versions] == [(2, "planner v2"), (1, "planner")]
    rolled = await client.assistants.set_latest(aid, 1)
    assert (rolled["version"], rolled["name"]) == (1, "planner")
    with pytest.raises(NotFoundError):
        await client.assistants.set_latest(aid, 7)

    assert {a["assistant_id"] for a in await client.assistants.search()} == {aid, SYSTEM_ID}
    assert [a["assistant_id"] for a in await client.assistants.search(metadata={"team": "a"})] == [aid]
    assert [a["name"] for a in await client.assistants.search(name="PLAN")] == ["planner"]
    ordered = await client.assistants.search(sort_by="name", sort_order="asc", limit=1)
    assert [a["name"] for a in ordered] == [AGENT]
    assert await client.assistants.count() == 2
    assert await client.assistants.count(graph_id=AGENT, metadata={"team": "a"}) == 1

    await client.assistants.delete(aid)
    with pytest.raises(NotFoundError):
        await client.assistants.get(aid)
    assert await client.assistants.count() == 1


async def test_graph_schemas_and_subgraphs_of_a_created_assistant(client: LangGraphClient) -> None:
    aid = (await client.assistants.create(AGENT))["assistant_id"]
    assert {"understand", "answer"} <= {
        n["id"] for n in (await client.assistants.get_graph(aid, xray=1))["nodes"]
    }
    schemas = await client.assistants.get_schemas(aid)
    assert schemas["graph_id"] == AGENT
    # Derived like the reference's: the configurable fields are the context's.
    assert "require_plan_approval" in schemas["config_schema"]["properties"]
    assert await client.assistants.get_subgraphs(aid) == {}
    assert await client.assistants.get_subgraphs(aid, namespace="plan", recurse=True) == {}


async def test_runs_use_the_assistants_context_under_their_own(client: LangGraphClient) -> None:
    aid = (await client.assistants.create(AGENT, context={"require_plan_approval": True}))["assistant_id"]
    tid = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(tid, aid, input=say("what is 12*7?"))
    assert paused["__interrupt__"][0]["value"]["plan"]
    await client.runs.wait(tid, aid, command={"resume": "approve"})
    other = (await client.threads.create())["thread_id"]
    done = await client.runs.wait(
        other, aid, input=say("what is 12*7?"), context={"require_plan_approval": False}
    )
    assert "84" in done["messages"][-1]["content"]
    state = await client.threads.get_state(other)
    assert state["metadata"]["assistant_id"] == aid and state["metadata"]["graph_id"] == AGENT


async def test_bad_assistant_requests_are_4xx(client: LangGraphClient) -> None:
    with pytest.raises(NotFoundError):
        await client.assistants.create("no-such-graph")
    with pytest.raises(httpx.HTTPStatusError) as wrong:
        await client.assistants.create(AGENT, context={"max_replans": "many"})
    assert wrong.value.response.status_code == 422
    with pytest.raises(httpx.HTTPStatusError) as invalid:
        await client.assistants.get("not-a-uuid")
    assert invalid.value.response.status_code == 422


async def test_declared_assistants_with_a_per_assistant_rate_limit(
    make_server: Callable[..., LiveServer], sqlite_url: str
) -> None:
    declared = {
        "name": "terse",
        "description": "no replanning",
        "model": "offline",
        "enabled_tools": ["calculator"],
        "context": {"max_replans": 0},
        "rate_limit": "1/minute",
    }
    server = make_server(sqlite_url, assistants=[declared])
    async with get_client(url=server.url) as sdk:
        [terse] = await sdk.assistants.search(name="terse")
        assert terse["description"] == "no replanning" and terse["metadata"]["created_by"] == "settings"
        assert terse["context"] == {"max_replans": 0, "model": "offline", "enabled_tools": ["calculator"]}
        tid = (await sdk.threads.create())["thread_id"]
        await sdk.runs.wait(tid, terse["assistant_id"], input=say("hi"))
        with pytest.raises(httpx.HTTPStatusError) as limited:
            await sdk.runs.wait(tid, terse["assistant_id"], input=say("again"))
        assert limited.value.response.status_code == 429
        await sdk.runs.wait(tid, AGENT, input=say("the system assistant is not limited"))
    server.stop()
    restarted = make_server(sqlite_url, assistants=[{**declared, "description": "changed"}])
    async with get_client(url=restarted.url) as sdk:
        versions = await sdk.assistants.get_versions(terse["assistant_id"])
        assert [v["description"] for v in versions] == ["changed", "no replanning"]


def test_assistants_declared_in_the_yaml_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "sessiongraph.yaml"
    config.write_text(
        "assistants:\n"
        "  - name: terse\n"
        "    temperature: 0.2\n"
        "    enabled_tools: [calculator]\n"
        "    rate_limit: 30/minute\n"
    )
    monkeypatch.setenv("SESSIONGRAPH_CONFIG", str(config))
    [terse] = Settings().assistants
    assert (terse.name, terse.temperature, terse.enabled_tools, terse.rate_limit) == (
        "terse",
        0.2,
        ["calculator"],
        "30/minute",
    )
    config.write_text("assistants:\n  - name: x\n    colour: blue\n")
    with pytest.raises(ValidationError, match="colour"):
        Settings()


async def test_delete_interrupts_runs_and_drops_crons_and_threads(
    client: LangGraphClient, server: LiveServer
) -> None:
    aid = (await client.assistants.create(AGENT))["assistant_id"]
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(tid, aid, input=say("BLOCK here"))
    await client.crons.create_for_thread(tid, aid, schedule="0 9 * * *")
    await client.assistants.delete(aid, delete_threads=True)
    server.model.release()
    assert await client.crons.count(assistant_id=aid) == 0
    with pytest.raises(NotFoundError):
        await client.threads.get(tid)
    with pytest.raises(NotFoundError):
        await client.runs.get(tid, run["run_id"])
