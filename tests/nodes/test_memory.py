"""Memory on the graph: folded messages are archived, recalled into the system prompt, pinned facts
survive summarization, the model can search the archive with the ``recall`` tool, and the
conversation sent to the model stays valid for OpenAI throughout."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_openai.chat_models.base import _convert_message_to_dict
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from support.openai_rules import check_openai_messages
from support.threads import new_thread

from sessiongraph.graphs.agent import build_graph
from sessiongraph.graphs.context import Context
from sessiongraph.graphs.state import AgentState
from sessiongraph.nodes import prompts
from sessiongraph.nodes.embeddings import index_config
from sessiongraph.nodes.memory import ARCHIVE_ROOT, PINS_ROOT, MemoryScope
from sessiongraph.nodes.models import create_chat_model
from sessiongraph.nodes.prompting import conversation, system_message
from sessiongraph.nodes.summarize import fold, model_counter, store_archiver
from sessiongraph.settings import DEFAULT_PIN_PATTERNS

SMALL = Context(summary_trigger_tokens=300, summary_keep_tokens=120, summary_max_tokens=120)
FILLER = "Tell me about rivers, mountains and old maps of the northern coast, number {}."


async def test_a_fold_archives_each_message_with_its_turn_and_pins_rule_matches() -> None:
    store = InMemoryStore()
    scope = MemoryScope(thread_id="t1", owner="ada")
    messages: list[BaseMessage] = []
    for turn, text in enumerate(["My name is Ada.", "what is 2+2?", FILLER.format(1), FILLER.format(2)], 1):
        messages.append(HumanMessage(text, id=f"h{turn}"))
        messages.append(AIMessage(f"reply {turn}", id=f"a{turn}"))
    state = AgentState(messages=messages, archived_turns=5)
    model = create_chat_model("offline")
    archiver = store_archiver(store, scope, DEFAULT_PIN_PATTERNS)

    keep_one_turn = Context(summary_trigger_tokens=300, summary_keep_tokens=40, summary_max_tokens=120)
    update = await fold(state, keep_one_turn, model, model_counter(model), archiver)

    folded = [r.id for r in update["messages"]]
    archived = {i.key: i.value for i in await store.asearch(scope.namespace(ARCHIVE_ROOT), limit=100)}
    assert folded == ["h1", "a1", "h2", "a2", "h3", "a3"] and set(archived) == set(folded)
    assert archived["h1"]["turn"] == 6 and archived["a1"]["turn"] == 6 and archived["h2"]["turn"] == 7
    assert archived["h1"] == {**archived["h1"], "text": "My name is Ada.", "role": "user", "thread_id": "t1"}
    assert update["archived_turns"] == 5 + sum(k.startswith("h") for k in folded)
    pins = await store.asearch(scope.namespace(PINS_ROOT))
    assert [(p.key, p.value["reason"]) for p in pins] == [("h1", "rule: \\bmy name is\\b")]
    # Other threads and owners have namespaces of their own.
    assert await store.asearch(MemoryScope("t1", "bob").namespace(ARCHIVE_ROOT)) == []


def openai_violations(state: dict[str, Any]) -> list[str]:
    prompt = [system_message(AgentState(**state), "instructions"), *conversation(AgentState(**state))]
    return check_openai_messages([_convert_message_to_dict(m) for m in prompt])


async def test_recall_and_pins_reach_the_prompt_after_summarization() -> None:
    graph = build_graph(checkpointer=InMemorySaver(), store=InMemoryStore(index=index_config()))
    config = new_thread()

    async def turn(text: str) -> dict[str, Any]:
        values = await graph.ainvoke({"messages": [("user", text)]}, config, context=SMALL)
        assert openai_violations(values) == []  # recall never breaks the conversation sent to a model
        return values

    await turn("My name is Ada.")
    await turn("My daughter's name is Lina.")
    await turn("We decided to host the billing service on PostgreSQL 16.")
    await turn("what is 12*7 and 3+4?")  # tool calls and results get folded too
    for n in range(6):
        await turn(FILLER.format(n))

    values = await turn("What is my daughter's name?")
    texts = [m.text for m in values["messages"]]
    assert values["archived_turns"] >= 4 and not any("Lina" in t for t in texts[:-1])
    assert "Lina" in values["messages"][-1].text
    recalled = values["memory"]["recalled"]
    assert recalled[0]["text"] == "My daughter's name is Lina." and recalled[0]["turn"] == 2
    assert values["memory"]["pinned"][0]["text"] == "My name is Ada."
    system = system_message(values, "x").text  # type: ignore[arg-type]
    assert prompts.RECALLED_HEADING in system and prompts.PINNED_HEADING in system

    values = await turn("What is my name?")
    assert values["messages"][-1].text == "Your name is Ada."

    values = await turn("Search your memory for the billing database")
    results = [m for m in values["messages"] if isinstance(m, ToolMessage) and m.name == "recall"]
    assert results and "PostgreSQL 16" in results[-1].text
