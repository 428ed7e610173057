"""The facade and the HTTP API settle a thread's status by the same rule, through the same
lifecycle: a normal turn, an ``interrupt()``, a static breakpoint, an interrupt-cancel and a
failure (which also rolls the thread back) leave the same status both ways."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from apiharness import AGENT, LiveServer, ScriptedModel, block_run
from langgraph_sdk.client import LangGraphClient
from support.messages import say

from sessiongraph import Sessions
from sessiongraph.settings import Settings

APPROVAL = {"require_plan_approval": True}


async def over_http(client: LangGraphClient, server: LiveServer, scenario: str) -> tuple[str, int]:
    """Run ``scenario`` on a new thread over HTTP; the thread's status and message count."""
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, AGENT, input=say("hello"))
    if scenario == "normal":
        await client.runs.wait(tid, AGENT, input=say("what is 6*7?"))
    elif scenario == "interrupt":
        await client.runs.wait(tid, AGENT, input=say("compute 5*5"), context=APPROVAL)
    elif scenario == "breakpoint":
        await client.runs.wait(tid, AGENT, input=say("what is 6*7?"), interrupt_before=["understand"])
    elif scenario == "cancel":
        server.model.entered.clear()
        run = await block_run(client, server, tid)
        await client.runs.cancel(tid, run["run_id"], wait=True, action="interrupt")
    elif scenario == "failure":
        with pytest.raises(Exception, match="scripted model failure"):  # the SDK raises __error__
            await client.runs.wait(tid, AGENT, input=say("FAIL now"))
    state = await client.threads.get_state(tid)
    return (await client.threads.get(tid))["status"], len(state["values"]["messages"])


async def through_facade(sessions: Sessions, model: ScriptedModel, scenario: str) -> tuple[str, int]:
    """Run ``scenario`` on a new thread through ``Sessions``; status and message count."""
    tid = (await sessions.create_thread()).thread_id
    await sessions.invoke(tid, "hello")
    if scenario == "normal":
        await sessions.invoke(tid, "what is 6*7?")
    elif scenario == "interrupt":
        await sessions.invoke(tid, "compute 5*5", context=APPROVAL)
    elif scenario == "breakpoint":
        await sessions.invoke(tid, "what is 6*7?", interrupt_before=["understand"])
    elif scenario == "cancel":
        model.entered.clear()
        task = asyncio.create_task(sessions.invoke(tid, "BLOCK here"))
        assert await asyncio.to_thread(model.entered.wait, 15)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    elif scenario == "failure":
        with pytest.raises(ValueError, match="scripted model failure"):
            await sessions.invoke(tid, "FAIL now")
    state = await sessions.get_state(tid)
    return (await sessions.get_thread(tid)).status, len(state.values["messages"])


EXPECTED = {
    "normal": "idle",
    "interrupt": "interrupted",
    "breakpoint": "interrupted",
    "cancel": "interrupted",
    "failure": "error",
}


@pytest.mark.parametrize("scenario", list(EXPECTED))
async def test_facade_and_http_agree_on_status(
    scenario: str, server: LiveServer, client: LangGraphClient, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'facade.db'}"
    model = ScriptedModel()
    settings = Settings(checkpoint_url=url, model="offline")
    async with Sessions.open(url, settings=settings, model=model) as sessions:
        facade_status, facade_messages = await through_facade(sessions, model, scenario)
    http_status, http_messages = await over_http(client, server, scenario)

    assert facade_status == http_status == EXPECTED[scenario]
    if scenario == "failure":  # rolled back to the state after the first turn, both ways
        assert facade_messages == http_messages == 2
