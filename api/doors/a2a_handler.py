"""The A2A request handler: the SDK's JSON-RPC dispatcher (v1.0 and v0.3 method names) calls it,
and it runs every task through the run manager on the caller's threads.

``SendMessage`` starts a run on the message's ``contextId`` (a thread, created for the caller when
new); when the thread waits at an ``interrupt()`` the message text resumes it instead. A
``context`` object in the request's ``metadata`` is the run's context (e.g.
``{"require_plan_approval": true}``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator, Iterator
from typing import Any

from a2a.helpers.proto_helpers import get_message_text
from a2a.server.context import ServerCallContext
from a2a.server.events import Event
from a2a.server.request_handlers import RequestHandler
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    ListTasksRequest,
    ListTasksResponse,
    Message,
    SendMessageRequest,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
)
from a2a.utils.errors import (
    ExtendedAgentCardNotConfiguredError,
    InvalidParamsError,
    PushNotificationNotSupportedError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)

from sessiongraph.api.coordination import RunRecord
from sessiongraph.api.deps import Api
from sessiongraph.api.doors.a2a_tasks import chunk_event, run_end, run_task, status_event, struct_dict
from sessiongraph.api.doors.run_text import TextDelta, text_events
from sessiongraph.api.doors.turns import caller_thread, pending_interrupt, run_values, start_turn
from sessiongraph.api.errors import DOMAIN_ERRORS, ApiError, domain_detail
from sessiongraph.api.run_errors import RunNotFound
from sessiongraph.api.serialize import loads

CANCEL_WAIT_S = 30.0


@contextlib.contextmanager
def _as_a2a_errors() -> Iterator[None]:
    """The server's errors (busy thread, unknown thread, full server...) as JSON-RPC errors."""
    try:
        yield
    except ApiError as exc:
        raise InvalidParamsError(message=exc.detail) from None
    except tuple(DOMAIN_ERRORS) as exc:
        raise InvalidParamsError(message=domain_detail(exc)) from None


def _api(context: ServerCallContext) -> Api:
    return context.state["api"]


class RunsRequestHandler(RequestHandler):
    """A2A methods on top of :class:`RunManager` (see the module docstring)."""

    async def _start(self, api: Api, params: SendMessageRequest) -> RunRecord:
        message = params.message
        text = get_message_text(message)
        if not text:
            raise InvalidParamsError(message="message: send at least one text part")
        # A message that names its task belongs to that task's context (a thread).
        task_context = (await self._task_run(api, message.task_id)).thread_id if message.task_id else None
        context_id = message.context_id or task_context or str(uuid.uuid4())
        try:
            thread_id = str(uuid.UUID(context_id))
        except ValueError:
            raise InvalidParamsError(
                message=f"contextId {context_id!r} is not a UUID (a thread id)"
            ) from None
        if task_context is not None and task_context != thread_id:
            raise InvalidParamsError(message=f"task {message.task_id} belongs to context {task_context}")
        metadata = {**struct_dict(message.metadata), **struct_dict(params.metadata)}
        run_context = metadata.get("context")
        with _as_a2a_errors():
            info = await caller_thread(api, thread_id, create=True)
            turn: dict[str, Any] = {"context": run_context if isinstance(run_context, dict) else None}
            if await pending_interrupt(api, info) is not None:
                return await start_turn(api, info, resume=text, metadata={"door": "a2a"}, **turn)
            messages = [{"role": "user", "content": text}]
            return await start_turn(api, info, messages=messages, metadata={"door": "a2a"}, **turn)

    async def _task_run(self, api: Api, task_id: str) -> RunRecord:
        try:
            run = await api.manager.find_run(task_id)
        except RunNotFound:
            raise TaskNotFoundError(message=f"task {task_id} not found") from None
        if api.caller.owner is not None and run.owner != api.caller.owner:
            raise TaskNotFoundError(message=f"task {task_id} not found")
        return run

    async def _task(self, api: Api, run: RunRecord, request: Message | None = None) -> Task:
        fresh = await self._task_run(api, run.run_id)
        if fresh.active:
            return run_task(fresh, None, request)
        result = loads(await api.manager.result(fresh))
        return run_task(fresh, run_end(fresh, result if isinstance(result, dict) else {}), request)

    async def on_message_send(self, params: SendMessageRequest, context: ServerCallContext) -> Task | Message:
        """Start the task; wait for it unless ``returnImmediately``."""
        api = _api(context)
        run = await self._start(api, params)
        if not params.configuration.return_immediately:
            await run_values(api, run)
        return await self._task(api, run, params.message)

    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        """The task, then its answer as artifact chunks, then its final status."""
        api = _api(context)
        run = await self._start(api, params)
        subscription = await api.manager.subscribe(run.run_id, 0)
        yield run_task(run, None, params.message)
        async for event in self._events(run, text_events(subscription)):
            yield event

    async def _events(self, run: RunRecord, source: Any) -> AsyncGenerator[Event]:
        streamed = False
        async for item in source:
            if isinstance(item, TextDelta):
                yield chunk_event(run, item.text, append=streamed, last=False)
                streamed = True
                continue
            if item.outcome == "completed":
                # The last chunk closes the artifact (and carries the whole answer if none streamed).
                yield chunk_event(run, "" if streamed else item.text, append=streamed, last=True)
            yield status_event(run, item)

    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        """The events of a task still going on (from its start)."""
        api = _api(context)
        run = await self._task_run(api, params.id)
        if not run.active:
            raise UnsupportedOperationError(message=f"task {run.run_id} is over; use GetTask")
        subscription = await api.manager.subscribe(run.run_id, 0)
        yield run_task(run, None)
        async for event in self._events(run, text_events(subscription)):
            yield event

    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task | None:
        """The task as it is now."""
        api = _api(context)
        return await self._task(api, await self._task_run(api, params.id))

    async def on_cancel_task(self, params: CancelTaskRequest, context: ServerCallContext) -> Task | None:
        """Cancel the run (its checkpoints stay) and return the ``canceled`` task."""
        api = _api(context)
        run = await self._task_run(api, params.id)
        if not await api.manager.cancel(run, "interrupt"):
            raise TaskNotCancelableError(message=f"task {run.run_id} is already {run.status}")
        await api.manager.wait(run.run_id, CANCEL_WAIT_S)
        return await self._task(api, run)

    async def on_list_tasks(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        """The tasks (runs) of one context (thread), newest first."""
        api = _api(context)
        if not params.context_id:
            raise InvalidParamsError(message="ListTasks needs a contextId")
        with _as_a2a_errors():
            info = await caller_thread(api, params.context_id)
        size = params.page_size or 50
        runs = await api.manager.list_runs(info.thread_id, limit=size)
        tasks = [await self._task(api, run) for run in runs]
        return ListTasksResponse(tasks=tasks, page_size=size, total_size=len(tasks))

    async def on_create_task_push_notification_config(
        self, params: TaskPushNotificationConfig, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        """Not supported: stream the task or poll it."""
        raise PushNotificationNotSupportedError

    async def on_get_task_push_notification_config(
        self, params: GetTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        """Not supported."""
        raise PushNotificationNotSupportedError

    async def on_list_task_push_notification_configs(
        self, params: ListTaskPushNotificationConfigsRequest, context: ServerCallContext
    ) -> ListTaskPushNotificationConfigsResponse:
        """Not supported."""
        raise PushNotificationNotSupportedError

    async def on_delete_task_push_notification_config(
        self, params: DeleteTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> None:
        """Not supported."""
        raise PushNotificationNotSupportedError

    async def on_get_extended_agent_card(
        self, params: GetExtendedAgentCardRequest, context: ServerCallContext
    ) -> AgentCard:
        """There is no extended card."""
        raise ExtendedAgentCardNotConfiguredError
