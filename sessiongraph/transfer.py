"""Copy threads between backends, or back them up: one JSON object per line and thread.

A line holds the thread's registry record (id, metadata, owner, TTL, times) and its
conversation as the next turn sees it: ``messages`` (LangChain's ``messages_to_dict`` form),
``summary`` and ``summarized_messages``. Checkpoint history and a pending plan-approval interrupt
are not carried over: the imported thread starts from one checkpoint holding that conversation.

Example (SQLite -> Postgres)::

    sessiongraph --checkpoint-url sqlite:///data/sessiongraph.db threads export -o threads.jsonl
    sessiongraph --checkpoint-url postgresql://app@db/sessions threads import threads.jsonl
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.messages import messages_from_dict, messages_to_dict

from sessiongraph.checkpoints.registry import ThreadInfo, ThreadQuery
from sessiongraph.lifecycle import thread_config
from sessiongraph.sessions import Sessions

FORMAT = "sessiongraph.thread/1"
"""The ``format`` field of every line; an import refuses lines of another format."""
PAGE = 200
FINAL_NODE = "answer"
"""The imported state is written as this node's output, so the thread waits for its next turn."""


class ImportFormatError(ValueError):
    """A line is not a thread export of this format; the message names the line."""


@dataclass
class ImportReport:
    """What an import did."""

    imported: int = 0
    skipped: int = 0
    """Threads that existed already in the target (kept as they were)."""


async def export_threads(sessions: Sessions) -> AsyncIterator[str]:
    """Every thread as one JSON line (no newline), oldest first."""
    offset = 0
    while True:
        query = ThreadQuery(limit=PAGE, offset=offset, sort_by="created_at", sort_order="asc")
        page = await sessions.search_threads(query)
        for info in page:
            yield json.dumps(await _record(sessions, info), separators=(",", ":"), default=str)
        if len(page) < PAGE:
            return
        offset += PAGE


async def _record(sessions: Sessions, info: ThreadInfo) -> dict[str, Any]:
    values = await sessions.latest_values(info.thread_id) or {}
    record = info.to_dict()
    record.pop("status")  # an imported thread is idle: no run or interrupt travels with it
    return {
        "format": FORMAT,
        **record,
        "messages": messages_to_dict(values.get("messages", [])),
        "summary": values.get("summary", ""),
        "summarized_messages": values.get("summarized_messages", 0),
    }


async def import_threads(sessions: Sessions, lines: Iterable[str]) -> ImportReport:
    """Create each exported thread with its conversation; threads that exist are skipped."""
    report = ImportReport()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = _parse(line, number)
        info = ThreadInfo(
            thread_id=str(record["thread_id"]),
            created_at=float(record["created_at"]),
            updated_at=float(record["updated_at"]),
            metadata=dict(record.get("metadata") or {}),
            owner=record.get("owner"),
            ttl_minutes=record.get("ttl_minutes"),
        )
        if not await sessions.backend.registry.insert_if_absent(replace(info, status="busy")):
            report.skipped += 1
            continue
        values: dict[str, Any] = {
            "messages": messages_from_dict(record.get("messages") or []),
            "summary": record.get("summary") or "",
            "summarized_messages": int(record.get("summarized_messages") or 0),
        }
        if values["messages"] or values["summary"]:
            await sessions.graph.aupdate_state(thread_config(info.thread_id), values, as_node=FINAL_NODE)
        # The original times, not the import's: TTLs and "newest first" go on as before.
        await sessions.backend.registry.save(info)
        await sessions.backend.refresh_expiry(info.thread_id, ttl_changed=True)
        report.imported += 1
    return report


def _parse(line: str, number: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"line {number}: not JSON ({exc.msg})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ImportFormatError(f'line {number}: not a thread export (expected "format": {FORMAT!r})')
    missing = [k for k in ("thread_id", "created_at", "updated_at") if k not in record]
    if missing:
        raise ImportFormatError(f"line {number}: missing {', '.join(missing)}")
    return record
