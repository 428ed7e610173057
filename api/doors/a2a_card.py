"""The A2A agent card of the assistant: name, description, one skill for the conversation and one
per tool, streaming, the JSON-RPC interface (protocol 1.0) and, with API keys, the auth schemes."""

from __future__ import annotations

from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    APIKeySecurityScheme,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from a2a.utils.constants import PROTOCOL_VERSION_0_3, PROTOCOL_VERSION_1_0, TransportProtocol

from sessiongraph.api.deps import Services

RPC_PATH = "/a2a"
DESCRIPTION = (
    "A planning agent with tools and checkpointed sessions: it understands the request, plans, calls "
    "tools, reflects and answers. A contextId is a conversation thread that persists across messages; "
    "send metadata.context.require_plan_approval=true to approve its plan first (the task then asks "
    "for input: answer 'approve', 'reject' or an edit)."
)


def agent_card(services: Services, base_url: str) -> AgentCard:
    """The card of the served assistant, its JSON-RPC endpoint under ``base_url``."""
    assistant = services.assistants
    skills = [
        AgentSkill(
            id="conversation",
            name="Conversation",
            description="Multi-turn conversation that remembers earlier messages of the same contextId.",
            tags=["chat", "memory"],
            examples=["My name is Ada", "What is my name?"],
        )
    ]
    skills += [
        AgentSkill(id=tool.name, name=tool.name, description=tool.description, tags=["tool"])
        for tool in services.sessions.tools
    ]
    card = AgentCard(
        name=assistant.graph_id,
        description=DESCRIPTION,
        version="0.1.0",
        # One endpoint speaks both: v0.3 clients send the old method names (message/send, ...).
        supported_interfaces=[
            AgentInterface(
                url=f"{base_url.rstrip('/')}{RPC_PATH}",
                protocol_binding=TransportProtocol.JSONRPC.value,
                protocol_version=version,
            )
            for version in (PROTOCOL_VERSION_1_0, PROTOCOL_VERSION_0_3)
        ],
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=skills,
    )
    if services.settings.api_keys:
        card.security_schemes["bearer"].CopyFrom(
            SecurityScheme(http_auth_security_scheme=HTTPAuthSecurityScheme(scheme="bearer"))
        )
        card.security_schemes["apiKey"].CopyFrom(
            SecurityScheme(api_key_security_scheme=APIKeySecurityScheme(location="header", name="x-api-key"))
        )
        card.security_requirements.append(SecurityRequirement(schemes={"bearer": StringList()}))
    return card
