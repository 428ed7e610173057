"""The A2A door: the agent card at ``/.well-known/agent-card.json`` and the JSON-RPC endpoint
``POST /a2a`` (``SendMessage``, ``SendStreamingMessage``, ``GetTask``, ``CancelTask``, ... and their
v0.3 names ``message/send``, ``tasks/get``, ...).

The a2a-sdk's dispatcher parses and answers JSON-RPC; :class:`RunsRequestHandler` runs the tasks
through the run manager. The caller is authenticated (API key -> owner) and rate limited before
the dispatcher sees the request, like every other route.
"""

from __future__ import annotations

from a2a.server.context import ServerCallContext
from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.server.routes import DefaultServerCallContextBuilder
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH
from fastapi import APIRouter, Request
from starlette.responses import Response

from sessiongraph.api.deps import ApiDep, services
from sessiongraph.api.doors.a2a_card import RPC_PATH, agent_card
from sessiongraph.api.doors.a2a_handler import RunsRequestHandler
from sessiongraph.api.responses import JSON

router = APIRouter(tags=["a2a"])


class _CallerContext(DefaultServerCallContextBuilder):
    """Hands the authenticated caller (set by :func:`rpc`) to the request handler."""

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        context.state["api"] = request.state.door_api
        return context


_dispatcher = JsonRpcDispatcher(
    RunsRequestHandler(), context_builder=_CallerContext(), enable_v0_3_compat=True
)


@router.get(AGENT_CARD_WELL_KNOWN_PATH, summary="The A2A agent card")
async def card(request: Request) -> Response:
    """Public, as A2A discovery expects; its security schemes say how to call ``/a2a``."""
    return JSON(agent_card_to_dict(agent_card(services(request), str(request.base_url))))


@router.post(RPC_PATH, summary="A2A JSON-RPC endpoint")
async def rpc(api: ApiDep, request: Request) -> Response:
    """One JSON-RPC request; streaming methods answer with server-sent events."""
    request.state.door_api = api
    return await _dispatcher.handle_requests(request)
