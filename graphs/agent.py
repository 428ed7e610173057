"""Graph assembly: ``build_graph(...)`` and the module-level ``graph`` that LangGraph Studio loads.

::

    START -> [summarize] -> understand -> plan -> review_plan -> execute <-> tools
                                 |          ^                        |
                                 |          +------- reflect <-------+
                                 v                      |
                               answer <-----------------+   -> END

``graph`` is compiled WITHOUT a checkpointer so that ``langgraph dev`` (and the LangGraph
platform) can inject their own; sessions compile with the configured checkpointer and store.

Example::

    from langgraph.checkpoint.memory import InMemorySaver
    from sessiongraph.graphs.agent import build_graph

    def shout(text: str) -> str:
        \"\"\"Upper-case a text.\"\"\"
        return text.upper()

    agent = build_graph(tools=[shout], checkpointer=InMemorySaver())
    agent.invoke({"messages": [("user", "use shout 'hi'")]}, {"configurable": {"thread_id": "1"}})
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from sessiongraph.graphs.context import Context, context_from_runtime
from sessiongraph.graphs.state import AgentState, InputState
from sessiongraph.nodes.answer import make_answer
from sessiongraph.nodes.deps import NodeDeps
from sessiongraph.nodes.execute import make_execute, make_tools
from sessiongraph.nodes.models import count_tokens
from sessiongraph.nodes.plan import make_plan
from sessiongraph.nodes.reflect import make_reflect
from sessiongraph.nodes.retry import LLM_RETRY
from sessiongraph.nodes.review import review_plan
from sessiongraph.nodes.summarize import make_summarize, needs_summary
from sessiongraph.nodes.tool_limits import ToolLimits
from sessiongraph.nodes.tools import merge_tools
from sessiongraph.nodes.understand import make_understand
from sessiongraph.settings import Settings

GRAPH_NAME = "agent"

AgentGraph = CompiledStateGraph[AgentState, Context, InputState, AgentState]
"""The compiled agent graph's type."""


def build_graph(
    *,
    model: BaseChatModel | None = None,
    tools: Sequence[BaseTool | Callable[..., Any]] | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    store: BaseStore | None = None,
    name: str = GRAPH_NAME,
    settings: Settings | None = None,
) -> AgentGraph:
    """Assemble and compile the agent graph.

    Args:
        model: a chat model to use for every node; by default each run builds the model named
            by its context (``Context.model``), which defaults to the settings' model.
        tools: extra tools (``BaseTool`` or typed functions with a docstring) added to the
            built-ins; they are enabled by default and can be limited with ``Context.enabled_tools``.
        checkpointer: where the thread's checkpoints go (``None``: none, or injected by the platform).
        store: a long-term memory store made available to nodes.
        name: the compiled graph's name (the graph id shown in Studio).
        settings: where the default model and the OpenAI endpoint come from (default: the
            process settings, read when a run needs them).
    """
    all_tools = merge_tools(list(tools or []))
    deps = NodeDeps(model=model, tools=tuple(all_tools), settings=settings)

    def route_turn(state: AgentState, runtime: Runtime[Context]) -> Literal["summarize", "understand"]:
        context = context_from_runtime(runtime)
        chat_model = deps.chat_model(context)
        over = needs_summary(state, context, lambda msgs: count_tokens(chat_model, msgs))
        return "summarize" if over else "understand"

    builder = StateGraph(AgentState, input_schema=InputState, context_schema=Context)
    builder.add_node("summarize", make_summarize(deps))
    builder.add_node("understand", make_understand(deps), retry_policy=LLM_RETRY)
    builder.add_node("plan", make_plan(deps), retry_policy=LLM_RETRY)
    builder.add_node("review_plan", review_plan)
    builder.add_node("execute", make_execute(deps), retry_policy=LLM_RETRY)
    # LangGraph's add_node overloads have no (state, runtime, config) node; it injects both all the same.
    limits = ToolLimits(settings.tool_timeout_s, settings.tool_max_output_chars) if settings else ToolLimits()
    builder.add_node("tools", make_tools(all_tools, limits))  # type: ignore[call-overload]
    builder.add_node("reflect", make_reflect(deps), retry_policy=LLM_RETRY)
    builder.add_node("answer", make_answer(deps), retry_policy=LLM_RETRY)

    builder.add_conditional_edges(START, route_turn, ["summarize", "understand"])
    builder.add_edge("summarize", "understand")
    builder.add_conditional_edges("understand", after_understand, ["plan", "answer"])
    builder.add_edge("plan", "review_plan")
    builder.add_conditional_edges("review_plan", after_review, ["execute", "answer"])
    builder.add_conditional_edges("execute", after_execute, ["tools", "reflect"])
    builder.add_edge("tools", "execute")
    builder.add_conditional_edges("reflect", after_reflect, ["plan", "answer"])
    builder.add_edge("answer", END)
    return builder.compile(checkpointer=checkpointer, store=store, name=name)


def after_understand(state: AgentState) -> Literal["plan", "answer"]:
    """Plan only when the request needs tools; otherwise answer directly."""
    understanding = state.get("understanding")
    return "plan" if understanding and understanding.get("needs_tools") else "answer"


def after_review(state: AgentState) -> Literal["execute", "answer"]:
    """A rejected plan is not executed."""
    return "answer" if state.get("plan_review") == "rejected" else "execute"


def after_execute(state: AgentState) -> Literal["tools", "reflect"]:
    """Run the tools when execute just asked for them; otherwise judge the results."""
    messages = state.get("messages", [])
    last = messages[-1] if messages else None
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else "reflect"


def after_reflect(state: AgentState, runtime: Runtime[Context]) -> Literal["plan", "answer"]:
    """Replan while the verdict asks for it and the budget lasts."""
    reflection = state.get("reflection")
    budget_left = state.get("iteration", 0) < context_from_runtime(runtime).max_replans
    return "plan" if reflection and reflection.get("verdict") == "replan" and budget_left else "answer"


graph = build_graph()
"""The default agent, compiled without a checkpointer (``langgraph.json`` points here)."""
