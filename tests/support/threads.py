"""Thread configs of graphs run directly or through ``RemoteGraph``."""

from __future__ import annotations

import uuid
from typing import Any


def new_thread() -> dict[str, Any]:
    """The config of a fresh thread."""
    return {"configurable": {"thread_id": str(uuid.uuid4())}}
