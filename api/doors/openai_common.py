"""What the OpenAI chat and Responses doors share: models are the assistant, and OpenAI messages
become the graph's messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from sessiongraph.api.deps import Api
from sessiongraph.api.doors.openai_errors import ModelNotFound, OpenAIError

_ROLES = {"user": "user", "system": "system", "developer": "system", "assistant": "assistant"}
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})


def reject_unsupported(body: BaseModel, fields: Mapping[str, str]) -> None:
    """A 400 for a request field this door cannot honour (``fields``: name -> why), rather than
    silently answering something else."""
    extra = body.model_extra or {}
    for name, why in fields.items():
        if extra.get(name) not in (None, [], {}, "", 1):
            raise OpenAIError(400, f"{name} is not supported: {why}", param=name)


def model_ids(api: Api) -> list[str]:
    """The ids OpenAI clients may send as ``model``: the graph id, then the assistant id."""
    assistant = api.services.assistants
    return [assistant.graph_id, assistant.assistant_id]


def resolve_model(api: Api, model: str) -> str:
    """The assistant meant by ``model``, or :class:`ModelNotFound` (404)."""
    if model not in model_ids(api):
        raise ModelNotFound(model, model_ids(api))
    return api.services.assistants.assistant_id


def content_text(content: str | list[dict[str, Any]] | None, where: str) -> str:
    """The text of a message's content: a string, or text parts (other parts are a 400)."""
    if content is None or isinstance(content, str):
        return content or ""
    texts = []
    for part in content:
        if part.get("type") not in _TEXT_PARTS:
            raise OpenAIError(400, f"{where}: only text content parts are supported", param=where)
        texts.append(str(part.get("text", "")))
    return "".join(texts)


def graph_message(role: str, content: str | list[dict[str, Any]] | None, where: str) -> dict[str, str]:
    """One OpenAI message as a graph message (``developer`` is a system message)."""
    if role not in _ROLES:
        raise OpenAIError(
            400, f"{where}: role {role!r} is not supported here; send user, system or assistant messages"
        )
    return {"role": _ROLES[role], "content": content_text(content, where)}


def graph_messages(items: Iterable[tuple[str, Any]], where: str) -> list[dict[str, str]]:
    """(role, content) pairs as graph messages."""
    return [graph_message(role, content, f"{where}[{i}]") for i, (role, content) in enumerate(items)]
