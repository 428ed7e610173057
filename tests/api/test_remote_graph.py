"""``langgraph.pregel.remote.RemoteGraph`` against a live server, on SQLite and on Redis."""

from __future__ import annotations

from apiharness import LiveServer
from langgraph.pregel.remote import RemoteGraph
from support.messages import say
from support.threads import new_thread


async def test_remote_graph_invoke_stream_state_update_history(server: LiveServer) -> None:
    remote = RemoteGraph("agent", url=server.url)
    config = new_thread()
    result = await remote.ainvoke(say("My name is Ada"), config)
    assert "My name is Ada" in result["messages"][-1]["content"]

    chunks = [c async for c in remote.astream(say("What is my name?"), config, stream_mode="updates")]
    nodes = [node for chunk in chunks for node in chunk]
    assert nodes[0] == "recall" and nodes[1] == "understand" and nodes[-1] == "answer"
    assert chunks[-1]["answer"]["messages"][-1]["content"] == "Your name is Ada."

    state = await remote.aget_state(config)
    assert state.values["messages"][-1]["content"] == "Your name is Ada."
    assert state.next == () and state.config["configurable"]["checkpoint_id"]

    updated = await remote.aupdate_state(
        config, {"messages": [{"role": "ai", "content": "noted"}]}, as_node="answer"
    )
    assert updated["configurable"]["checkpoint_id"] != state.config["configurable"]["checkpoint_id"]
    assert (await remote.aget_state(config)).values["messages"][-1]["content"] == "noted"

    history = [s async for s in remote.aget_state_history(config, limit=5)]
    assert len(history) == 5
    assert history[0].config["configurable"]["checkpoint_id"] == updated["configurable"]["checkpoint_id"]
    before = [s async for s in remote.aget_state_history(config, before=history[1].config, limit=2)]
    assert [s.config["configurable"]["checkpoint_id"] for s in before] == [
        s.config["configurable"]["checkpoint_id"] for s in history[2:4]
    ]


def test_remote_graph_sync_invoke_and_graph(sqlite_server: LiveServer) -> None:
    remote = RemoteGraph("agent", url=sqlite_server.url)
    config = new_thread()
    assert remote.invoke(say("hello"), config)["messages"][-1]["content"].startswith("You said")
    drawing = remote.get_graph()
    assert {"understand", "plan", "answer"} <= set(drawing.nodes)
