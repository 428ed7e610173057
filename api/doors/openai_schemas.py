"""Request bodies of the OpenAI-compatible door (the fields used here; others are accepted and
ignored, as OpenAI clients send many)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class ChatMessage(_Body):
    """One message of ``messages``: content is a string or a list of content parts."""

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(_Body):
    """``stream_options``."""

    include_usage: bool = False


class ChatCompletionCreate(_Body):
    """``POST /v1/chat/completions``."""

    model: str = Field(description="An assistant id or a graph id (see GET /v1/models).")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    metadata: dict[str, str] | None = Field(
        default=None,
        description="metadata.thread_id (like the X-Thread-Id header) keeps the chat on a thread.",
    )


class ConversationRef(_Body):
    """``conversation`` given as an object."""

    id: str


class ResponseCreate(_Body):
    """``POST /v1/responses``."""

    model: str
    input: str | list[dict[str, Any]]
    conversation: str | ConversationRef | None = None
    previous_response_id: str | None = None
    stream: bool = False
    store: bool = True
    metadata: dict[str, str] | None = None

    @property
    def conversation_id(self) -> str | None:
        """``conversation`` as an id."""
        if isinstance(self.conversation, ConversationRef):
            return self.conversation.id
        return self.conversation


class ConversationCreate(_Body):
    """``POST /v1/conversations``."""

    metadata: dict[str, str] | None = None
    items: list[dict[str, Any]] | None = None


class ConversationUpdate(_Body):
    """``POST /v1/conversations/{id}``."""

    metadata: dict[str, str]
