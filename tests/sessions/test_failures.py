"""A failing tool or model leaves the thread usable: failed turns roll back, the next turn works."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_openai import ChatOpenAI
from support.openai_stub import OpenAIStubServer

from sessiongraph import Context, Sessions, Settings
from sessiongraph.nodes.messages import latest_request
from sessiongraph.nodes.offline import OfflineChatModel

MODEL_DOWN = "[model-down]"


class ModelDown(RuntimeError):
    """The chat model failed (raised by :class:`FlakyModel`)."""


class FlakyModel(OfflineChatModel):
    """The offline model, failing whenever the newest user message contains ``[model-down]``.

    With ``after_tools`` it fails only once the turn has tool results (mid tool loop).
    """

    after_tools: bool = False

    def _reply(self, messages: list[BaseMessage], tools: Any, tool_choice: Any) -> AIMessage:
        if MODEL_DOWN in latest_request(messages) and (
            not self.after_tools or isinstance(messages[-1], ToolMessage)
        ):
            raise ModelDown("the model is unavailable")
        return super()._reply(messages, tools, tool_choice)


def explode(text: str) -> str:
    """A tool that always fails."""
    raise RuntimeError(f"kaboom on {text}")


def contents(values: dict[str, Any]) -> list[tuple[str, str]]:
    """(type, content) of each message of a state."""
    return [(m.type, m.content) for m in values.get("messages", [])]


async def test_a_failing_tool_is_recorded_and_the_thread_goes_on(sqlite_url: str) -> None:
    async with Sessions.open(sqlite_url, tools=[explode]) as sessions:
        thread = (await sessions.create_thread()).thread_id
        context = Context(enabled_tools=["explode", "calculator"], max_replans=0)
        values = await sessions.invoke(thread, "use explode 'x'", context=context)
        failed = [m for m in values["messages"] if isinstance(m, ToolMessage)]
        assert [(m.status, m.content) for m in failed] == [("error", "Error: RuntimeError: kaboom on x")]
        assert "explode failed" in values["messages"][-1].content
        assert (await sessions.get_thread(thread)).status == "idle"
        values = await sessions.invoke(thread, "compute 2+2", context=context)
        assert values["messages"][-1].content == "Here is what I found: 2+2 = 4."


@pytest.mark.parametrize("after_tools", [False, True])
async def test_a_model_error_rolls_the_turn_back(backend_url: str, after_tools: bool) -> None:
    async with Sessions.open(backend_url, model=FlakyModel(after_tools=after_tools)) as sessions:
        thread = (await sessions.create_thread()).thread_id
        before = await sessions.invoke(thread, "My name is Ada")
        head = (await sessions.get_state(thread)).config["configurable"]["checkpoint_id"]

        with pytest.raises(ModelDown):
            await sessions.invoke(thread, f"compute 2+2 {MODEL_DOWN}")

        info = await sessions.get_thread(thread)
        state = await sessions.get_state(thread)
        assert info.status == "error"
        assert contents(state.values) == contents(before)
        assert state.next == ()
        assert state.config["configurable"]["checkpoint_id"] != head  # a copy of the old head
        after = await sessions.invoke(thread, "What is my name?")
        assert after["messages"][-1].content == "Your name is Ada."
        assert len(after["messages"]) == 4
        assert (await sessions.get_thread(thread)).status == "idle"


async def test_a_failed_first_turn_leaves_an_empty_usable_thread(sqlite_url: str) -> None:
    async with Sessions.open(sqlite_url, model=FlakyModel()) as sessions:
        thread = (await sessions.create_thread()).thread_id
        with pytest.raises(ModelDown):
            await sessions.invoke(thread, f"hello {MODEL_DOWN}")
        assert (await sessions.get_thread(thread)).status == "error"
        assert (await sessions.get_state(thread)).values == {}
        values = await sessions.invoke(thread, "hello")
        assert contents(values)[0] == ("human", "hello")
        assert len(values["messages"]) == 2


async def test_a_model_error_while_streaming_rolls_back_too(sqlite_url: str) -> None:
    async with Sessions.open(sqlite_url, model=FlakyModel()) as sessions:
        thread = (await sessions.create_thread()).thread_id
        await sessions.invoke(thread, "My name is Ada")
        with pytest.raises(ModelDown):
            async for _ in sessions.astream_events(thread, f"hi {MODEL_DOWN}"):
                pass
        assert (await sessions.get_thread(thread)).status == "error"
        assert len((await sessions.get_state(thread)).values["messages"]) == 2


def fail_after_tools(body: dict[str, Any]) -> int | None:
    """Stub fault injection: HTTP 500 once the turn has tool results and the user asked for it."""
    users = [m for m in body["messages"] if m["role"] == "user"]
    failing = users and MODEL_DOWN in users[-1]["content"]
    return 500 if failing and body["messages"][-1]["role"] == "tool" else None


async def test_an_openai_server_error_rolls_back_and_the_next_request_is_valid(sqlite_url: str) -> None:
    with OpenAIStubServer(fail_when=fail_after_tools) as stub:
        model = ChatOpenAI(base_url=stub.base_url, api_key="x", model="stub", max_retries=0)
        async with Sessions.open(sqlite_url, model=model) as sessions:
            thread = (await sessions.create_thread()).thread_id
            before = await sessions.invoke(thread, "My name is Ada")
            with pytest.raises(openai.InternalServerError):
                await sessions.invoke(thread, f"compute 2+2 {MODEL_DOWN}")
            state = await sessions.get_state(thread)
            assert contents(state.values) == contents(before)
            assert (await sessions.get_thread(thread)).status == "error"

            sent = len(stub.requests)
            after = await sessions.invoke(thread, "What is my name? Also compute 3+4")
            assert after["messages"][-1].content == "Here is what I found: 3+4 = 7."
            assert len(stub.requests) > sent
        failed = [body for body in stub.requests if fail_after_tools(body)]
        assert failed  # the injected failure was hit (and retried by the node's RetryPolicy)
        assert stub.rejected == []
        assert all(v == [] for v in stub.violations())
        assert all(MODEL_DOWN not in str(body["messages"]) for body in stub.requests[sent:])


async def test_a_client_error_from_the_model_is_not_retried(sqlite_url: str) -> None:
    with OpenAIStubServer(fail_when=lambda body: 400 if "[bad]" in str(body["messages"]) else None) as stub:
        model = ChatOpenAI(base_url=stub.base_url, api_key="x", model="stub", max_retries=0)
        async with Sessions.open(sqlite_url, model=model) as sessions:
            with pytest.raises(openai.BadRequestError):
                await sessions.invoke("t-400", "hello [bad]")
        assert len(stub.requests) == 1


@pytest.mark.parametrize("context", [Context(model="openai:stub"), Context()])
async def test_session_settings_choose_the_model_and_endpoint(
    sqlite_url: str, openai_stub: OpenAIStubServer, monkeypatch: pytest.MonkeyPatch, context: Context
) -> None:
    # Where the process-wide settings would send the request instead: a closed local port.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    settings = Settings(checkpoint_url=sqlite_url, openai_base_url=openai_stub.base_url, model="openai:stub")
    async with Sessions.open(settings=settings) as sessions:
        values = await sessions.invoke("t-settings", "hello", context=context)
    assert values["messages"][-1].content.startswith("You said")
    assert openai_stub.requests and {body["model"] for body in openai_stub.requests} == {"stub"}


class SwitchableModel(OfflineChatModel):
    """The offline model, failing (once the turn has tool results) while ``down`` is set."""

    down: bool = True

    def _reply(self, messages: list[BaseMessage], tools: Any, tool_choice: Any) -> AIMessage:
        if self.down and isinstance(messages[-1], ToolMessage):
            raise ModelDown("the model is unavailable")
        return super()._reply(messages, tools, tool_choice)


async def test_a_new_message_after_a_failed_resume_works(sqlite_url: str) -> None:
    approval = Context(require_plan_approval=True)
    model = SwitchableModel()
    async with Sessions.open(sqlite_url, model=model) as sessions:
        await sessions.invoke("t-r", "compute 2+2", context=approval)
        with pytest.raises(ModelDown):
            await sessions.resume("t-r", "approve", context=approval)
        assert (await sessions.get_thread("t-r")).status == "error"
        model.down = False
        values = await sessions.invoke("t-r", "compute 3+3")
        assert values["messages"][-1].content == "Here is what I found: 3+3 = 6."
        assert (await sessions.get_thread("t-r")).status == "idle"


async def test_a_failed_resume_can_be_retried(sqlite_url: str) -> None:
    approval = Context(require_plan_approval=True)
    model = SwitchableModel()
    async with Sessions.open(sqlite_url, model=model) as sessions:
        await sessions.invoke("t-r", "compute 2+2", context=approval)
        with pytest.raises(ModelDown):
            await sessions.resume("t-r", "approve", context=approval)
        state = await sessions.get_state("t-r")
        assert state.next == ("review_plan",)
        assert len(state.interrupts) == 1
        model.down = False
        values = await sessions.resume("t-r", "approve", context=approval)
        assert values["messages"][-1].content == "Here is what I found: 2+2 = 4."
