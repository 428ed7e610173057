"""What the nodes need besides state and context: the chat model to call and the tools to offer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from sessiongraph.graphs.context import Context
from sessiongraph.nodes.models import create_chat_model
from sessiongraph.settings import Settings


@dataclass(frozen=True)
class NodeDeps:
    """What the nodes need besides state and context: an optional fixed model and the tools."""

    model: BaseChatModel | None = None
    tools: Sequence[BaseTool] = field(default_factory=tuple)
    settings: Settings | None = None
    """Where the default model, temperature and endpoint come from (``None``: the process settings)."""

    def chat_model(self, context: Context) -> BaseChatModel:
        """The fixed model if one was given to ``build_graph``, else the context's model spec
        (empty: the settings' model)."""
        if self.model is not None:
            return self.model
        return create_chat_model(context.model, context.temperature, self.settings)

    def enabled_tools(self, context: Context) -> list[BaseTool]:
        """The tools the context enables, in registration order."""
        if context.enabled_tools is None:
            return list(self.tools)
        enabled = set(context.enabled_tools)
        return [t for t in self.tools if t.name in enabled]
