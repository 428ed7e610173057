"""`langgraph dev` loads the repo's langgraph.json: the graph answers over the SDK, Studio sees its schemas.

One server start for the whole module. It runs in a temp working dir (its ``.langgraph_api`` state
goes there, not into the repo); the graph path ``./graphs/agent.py`` in ``langgraph.json`` is
relative to the working dir, so the temp dir gets a ``graphs`` symlink to the repo's folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from support.server_process import HOST, free_port, group_alive, serving

REPO = Path(__file__).resolve().parents[2]
LANGGRAPH_BIN = Path(sys.executable).parent / "langgraph"
BOOT_TIMEOUT_S = 120.0


@pytest.fixture(scope="module")
def langgraph_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``langgraph dev --config <repo>/langgraph.json`` and yield its base URL."""
    workdir = tmp_path_factory.mktemp("langgraph_dev")
    (workdir / "graphs").symlink_to(REPO / "graphs", target_is_directory=True)
    port = free_port()
    env = {
        **os.environ,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGSMITH_TRACING": "false",
        "SESSIONGRAPH_MODEL": "offline",
    }
    argv = [
        str(LANGGRAPH_BIN),
        "dev",
        "--no-browser",
        "--no-reload",
        "--host",
        HOST,
        "--port",
        str(port),
        "--config",
        str(REPO / "langgraph.json"),
    ]
    url = f"http://{HOST}:{port}"
    log = workdir / "server.log"
    with serving(argv, url=url, log=log, boot_timeout_s=BOOT_TIMEOUT_S, cwd=workdir, env=env) as process:
        yield url
    assert process.poll() is not None
    assert not group_alive(process.pid), "langgraph dev left processes running"


async def test_langgraph_dev_serves_the_agent_graph(langgraph_dev: str) -> None:
    async with get_client(url=langgraph_dev) as client:
        await _check_agent(client)


async def _check_agent(client: LangGraphClient) -> None:

    assistants = await client.assistants.search(graph_id="agent")
    assert [a["graph_id"] for a in assistants] == ["agent"]

    schemas = await client.assistants.get_schemas(assistants[0]["assistant_id"])
    context_fields = schemas["context_schema"]["properties"]
    assert "require_plan_approval" in context_fields
    assert context_fields["max_replans"]["description"]

    thread = await client.threads.create()
    result = await client.runs.wait(
        thread["thread_id"],
        "agent",
        input={"messages": [{"role": "user", "content": "what is 6*7?"}]},
    )
    assert "42" in result["messages"][-1]["content"]

    # a second turn on the same thread keeps the conversation (langgraph dev's own checkpointer)
    result = await client.runs.wait(
        thread["thread_id"], "agent", input={"messages": [{"role": "user", "content": "and 12*7?"}]}
    )
    assert "84" in result["messages"][-1]["content"]
    assert len(result["messages"]) > 4


async def test_studio_gets_the_input_and_state_schemas(langgraph_dev: str) -> None:
    """Studio builds its input form from input_schema: the state TypedDicts must be pydantic-compatible."""
    async with get_client(url=langgraph_dev) as client:
        (assistant,) = await client.assistants.search(graph_id="agent")
        schemas = await client.assistants.get_schemas(assistant["assistant_id"])
    assert schemas["input_schema"] is not None, "input schema missing (typing.TypedDict on Python < 3.12?)"
    assert "messages" in schemas["input_schema"]["properties"]
    assert "plan" in schemas["state_schema"]["properties"]
