"""The offline chat model: deterministic, no network and no key, for tests, demos and notebooks.

It is a test double, not a node helper: the chat-model factory
(:func:`sessiongraph.nodes.models.create_chat_model`) is the only real module that imports it.
``model.py`` holds the ``BaseChatModel`` (tools, structured output, streaming) and ``logic.py``
its reasoning, deterministic functions from a conversation to a reply.

Example::

    from sessiongraph.nodes.offline import OfflineChatModel

    OfflineChatModel().invoke("hello").content  # 'You said: “hello”. (offline model, message 1 in view)'
"""

from __future__ import annotations

from sessiongraph.nodes.offline.logic import OFFLINE_MODEL_NAME
from sessiongraph.nodes.offline.model import OFFLINE_METADATA, OfflineChatModel

__all__ = ["OFFLINE_METADATA", "OFFLINE_MODEL_NAME", "OfflineChatModel"]
