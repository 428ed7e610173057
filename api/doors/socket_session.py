"""One WebSocket connection to a thread: commands in, run events out.

The client sends JSON commands:

- ``{"type": "run", ...}`` with the body of ``POST /threads/{id}/runs/stream`` (``assistant_id``
  defaults to the served graph);
- ``{"type": "resume", "resume": <value>, ...}``: a run whose ``command`` resumes the interrupt;
- ``{"type": "cancel", "run_id": ..., "action": "interrupt" | "rollback"}`` (default: every run this
  connection started that is still going).

The server sends each run's events as the SSE stream has them, one JSON message per event:
``{"event": "metadata" | <mode> | "error" | "end", "data": ..., "run_id": ...}``; a rejected command
gets an ``error`` event with ``run_id: null``, and a cancel gets ``{"event": "cancel", ...}``.
Several runs may share the connection. When the socket closes, runs started with
``on_disconnect: "cancel"`` are cancelled; the others go on, as they do over SSE.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import anyio
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from sessiongraph.api.coordination import RunRecord
from sessiongraph.api.deps import Api
from sessiongraph.api.errors import DOMAIN_ERRORS, ApiError, domain_detail, validation_detail
from sessiongraph.api.schemas import RunCreate
from sessiongraph.api.serialize import dumps, loads
from sessiongraph.lifecycle import CancelAction


class SocketSession:
    """Serves one accepted WebSocket on ``thread_id`` for the caller of ``api``."""

    def __init__(self, api: Api, socket: WebSocket, thread_id: str) -> None:
        self.api = api
        self.socket = socket
        self.thread_id = thread_id
        self._runs: dict[str, tuple[RunRecord, RunCreate]] = {}
        self._forwarders: set[asyncio.Task[None]] = set()
        self._send_lock = asyncio.Lock()

    async def serve(self) -> None:
        """Handle commands until the client closes the socket, then apply ``on_disconnect``."""
        try:
            while True:
                message = await self.socket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                raw = message.get("text") or (message.get("bytes") or b"").decode("utf-8", "replace")
                await self._command(raw)
        except WebSocketDisconnect:
            pass
        finally:
            with anyio.CancelScope(shield=True):
                await self._disconnected()

    async def _send(self, event: str, data: Any, run_id: str | None) -> None:
        async with self._send_lock:
            await self.socket.send_text(dumps({"event": event, "data": data, "run_id": run_id}).decode())

    async def _command(self, text: str) -> None:
        try:
            await self.api.services.limiter.hit(self.api.caller.key)
            message = loads(text)
            if not isinstance(message, dict):
                raise ApiError("send a JSON object with a 'type': run, resume or cancel")
            kind = message.pop("type", "run")
            if kind == "cancel":
                await self._cancel(message.get("run_id"), message.get("action", "interrupt"))
            elif kind in ("run", "resume"):
                await self._run(message, resume=kind == "resume")
            else:
                raise ApiError(f"unknown command type {kind!r}; use run, resume or cancel")
        except ValidationError as exc:
            await self._send(
                "error", {"error": "ValidationError", "message": validation_detail(exc.errors())}, None
            )
        except ApiError as exc:
            await self._send("error", {"error": type(exc).__name__, "message": exc.detail}, None)
        except tuple(DOMAIN_ERRORS) as exc:
            await self._send("error", {"error": type(exc).__name__, "message": domain_detail(exc)}, None)
        except ValueError as exc:  # not JSON
            await self._send("error", {"error": "ValueError", "message": f"not a JSON command: {exc}"}, None)

    async def _run(self, message: dict[str, Any], *, resume: bool) -> None:
        message.setdefault("assistant_id", self.api.services.assistants.graph_id)
        if resume:
            message["command"] = {"resume": message.pop("resume", None)}
        body = RunCreate.model_validate(message)
        info = await self.api.thread(self.thread_id)
        run = await self.api.services.runs.start_on(info, body, caller_key=self.api.caller.key)
        self._runs[run.run_id] = (run, body)
        task = asyncio.create_task(self._forward(run))
        self._forwarders.add(task)
        task.add_done_callback(self._forwarders.discard)

    async def _forward(self, run: RunRecord) -> None:
        subscription = await self.api.manager.subscribe(run.run_id, 0)
        try:
            async for item in subscription:
                if item is not None:
                    await self._send(item.event, loads(item.data), run.run_id)
        finally:
            await subscription.aclose()

    async def _cancel(self, run_id: str | None, action: CancelAction) -> None:
        if action not in ("interrupt", "rollback"):
            raise ApiError(f"action {action!r}: use interrupt or rollback")
        if run_id is None:
            targets = [run for run, _ in self._runs.values() if run.active]
        elif run_id in self._runs:
            targets = [self._runs[run_id][0]]
        else:
            targets = [await self.api.manager.get_run(self.thread_id, run_id)]  # another client's run
        done = [r.run_id for r in targets if await self.api.manager.cancel(r, action)]
        await self._send("cancel", {"cancelled": done, "action": action}, run_id)

    async def _disconnected(self) -> None:
        for task in list(self._forwarders):
            task.cancel()
        for run, body in self._runs.values():
            if body.on_disconnect == "cancel":
                with contextlib.suppress(Exception):
                    await self.api.manager.cancel(run, "interrupt")
