"""A real, local OpenAI-compatible HTTP server for tests: the project's offline brain behind HTTP.

``POST /v1/chat/completions`` (plain and ``stream: true`` SSE) and ``GET /v1/models`` are served by
uvicorn in a background thread on a free ``127.0.0.1`` port. Every request is checked with
:func:`support.openai_rules.check_openai_request` and answered with an OpenAI-style 400 when it
breaks a rule, so a test that drives ``ChatOpenAI`` against the stub also proves that the
conversation the agent sends would be accepted by OpenAI. Replies come from
:class:`sessiongraph.nodes.offline.OfflineChatModel`, called with the request's ``tools`` and
``tool_choice``.

Every request body is kept in ``server.requests`` (and the rejected ones, with their violations,
in ``server.rejected``). Fault injection: ``fail_when(body) -> status | None``, or the marker
``[stub:500]`` (any 3-digit status) in the last user message; ``[stub:sleep=0.5]`` there makes
every reply wait that many seconds (a slow model, to hold runs in flight).

Example::

    from langchain_openai import ChatOpenAI
    from support.openai_stub import OpenAIStubServer

    with OpenAIStubServer() as stub:
        model = ChatOpenAI(base_url=stub.base_url, api_key="x", model="stub")
        model.invoke("what is 6*7?")
        assert stub.requests[0]["messages"][0]["content"] == "what is 6*7?"
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import uvicorn
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_openai.chat_models.base import _convert_dict_to_message
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from sessiongraph.nodes.offline import OfflineChatModel
from sessiongraph.nodes.offline import logic as offline_logic
from support.openai_rules import check_openai_request

FailWhen = Callable[[dict[str, Any]], int | None]
_MARKER = re.compile(r"\[stub:(\d{3})\]")
_SLEEP = re.compile(r"\[stub:sleep=([0-9.]+)\]")
_READY_TIMEOUT_S = 10.0


class OpenAIStubServer:
    """An OpenAI-compatible chat-completions server on a free local port (a context manager)."""

    def __init__(self, *, fail_when: FailWhen | None = None, model: OfflineChatModel | None = None) -> None:
        self.fail_when = fail_when
        self.model = model or OfflineChatModel()
        self.requests: list[dict[str, Any]] = []
        """Every request body received by ``/v1/chat/completions``, in arrival order."""
        self.rejected: list[tuple[dict[str, Any], list[str]]] = []
        """The requests answered with 400 and the rules they broke."""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    @property
    def base_url(self) -> str:
        """The OpenAI base URL to give a client, e.g. ``http://127.0.0.1:53211/v1``."""
        return f"http://127.0.0.1:{self._port}/v1"

    def start(self) -> OpenAIStubServer:
        """Start serving; returns once the server accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off", access_log=False)
        self._server = _ReadyServer(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="openai-stub", daemon=True
        )
        self._thread.start()
        if not self._server.ready.wait(_READY_TIMEOUT_S) or not self._server.started:
            self.stop()
            raise RuntimeError("the OpenAI stub server did not start")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_READY_TIMEOUT_S)
        self._server = self._thread = None

    def __enter__(self) -> OpenAIStubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def violations(self) -> list[list[str]]:
        """The rule violations of every recorded request (all empty when every request was valid)."""
        return [check_openai_request(body) for body in self.requests]

    # --- the ASGI app ----------------------------------------------------------------------

    def app(self) -> Starlette:
        """The Starlette app serving the OpenAI routes."""
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    async def _models(self, request: Request) -> Response:
        model = {"id": "stub", "object": "model", "created": 0, "owned_by": "sessiongraph-tests"}
        return JSONResponse({"object": "list", "data": [model]})

    async def _chat_completions(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.", param=None)
        self.requests.append(body)
        violations = check_openai_request(body)
        if violations:
            self.rejected.append((body, violations))
            return _error(400, "; ".join(violations))
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        slow = _SLEEP.search(_text(users[-1].get("content"))) if users else None
        if slow:
            await asyncio.sleep(float(slow.group(1)))
        status = self._injected_failure(body)
        if status is not None:
            return _error(status, f"injected failure ({status})", kind="server_error", param=None)
        reply = self._reply(body)
        if body.get("stream"):
            return StreamingResponse(self._sse(body, reply), media_type="text/event-stream")
        return JSONResponse(_completion(body, reply))

    def _injected_failure(self, body: dict[str, Any]) -> int | None:
        if self.fail_when is not None:
            status = self.fail_when(body)
            if status is not None:
                return status
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        found = _MARKER.search(_text(users[-1].get("content"))) if users else None
        return int(found.group(1)) if found else None

    def _reply(self, body: dict[str, Any]) -> AIMessage:
        messages = [_to_langchain(m) for m in body["messages"]]
        result = self.model._generate(messages, tools=body.get("tools"), tool_choice=body.get("tool_choice"))
        reply = result.generations[0].message
        assert isinstance(reply, AIMessage)
        return reply

    async def _sse(self, body: dict[str, Any], reply: AIMessage) -> AsyncIterator[str]:
        head = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "created": int(time.time()),
            "model": body["model"],
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return _sse_data({**head, "object": "chat.completion.chunk", "choices": [choice]})

        yield chunk({"role": "assistant", "content": ""})
        for index, call in enumerate(reply.tool_calls):
            function = {"name": call["name"], "arguments": ""}
            yield chunk(
                {"tool_calls": [{"index": index, "id": call["id"], "type": "function", "function": function}]}
            )
            arguments = json.dumps(call["args"])
            for part in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
        for token in offline_logic.tokens_of(_text(reply.content)):
            yield chunk({"content": token})
        yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            yield _sse_data(
                {**head, "object": "chat.completion.chunk", "choices": [], "usage": _usage(reply)}
            )
        yield "data: [DONE]\n\n"


class _ReadyServer(uvicorn.Server):
    """A uvicorn server that signals (``ready``) once its startup finished, whether or not it failed."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()


def _to_langchain(message: Mapping[str, Any]) -> BaseMessage:
    converted = _convert_dict_to_message(message)
    # OpenAI carries no tool status; the project's tools report failures as "Error: ...".
    if isinstance(converted, ToolMessage) and _text(converted.content).startswith("Error"):
        converted.status = "error"
    return converted


def _completion(body: dict[str, Any], reply: AIMessage) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": _text(reply.content) or None, "refusal": None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["args"])},
            }
            for c in reply.tool_calls
        ]
    elif message["content"] is None:
        message["content"] = ""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": _usage(reply),
        "system_fingerprint": None,
    }


def _usage(reply: AIMessage) -> dict[str, int]:
    usage = reply.usage_metadata or {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    return {
        "prompt_tokens": usage["input_tokens"],
        "completion_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
    }


def _error(
    status: int, message: str, *, kind: str = "invalid_request_error", param: str | None = "messages"
) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": None}}, status)


def _sse_data(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, Mapping) else str(part) for part in content)
