"""Bad input never makes a 5xx (issue 9, "Bad input"): schemathesis fuzzes every operation of a live
server's /openapi.json with auth on, checking ``not_a_server_error`` and that each response
conforms to the document; the server log must show no unhandled exception. And an unhandled
exception answers 500 without breaking the client's keep-alive connection.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable

import httpx
import pytest
import requests
import schemathesis
from apiharness import LiveServer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

KEYS = {"key-alice": "alice"}
EXAMPLES = 2
"""Examples per operation and mode: the whole fuzz stays around half a minute on 2 cores."""
ENDLESS = frozenset({"GET /threads/{thread_id}/stream", "POST /threads/{thread_id}/stream/events"})
"""Streams that stay open for as long as the client listens: a whole-body read would only time out."""


def fuzz_operation(
    server: LiveServer, operation: schemathesis.APIOperation, mode: GenerationMode
) -> list[str]:
    """Run ``EXAMPLES`` generated requests of ``mode`` against ``operation``; the failures found."""
    failures: list[str] = []
    session = requests.Session()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def check(case: schemathesis.Case) -> None:
        try:
            case.call_and_validate(
                base_url=server.url,
                session=session,
                headers={"x-api-key": "key-alice"},
                checks=[not_a_server_error, response_schema_conformance],
                timeout=30,
            )
        except (AssertionError, BaseExceptionGroup) as failure:  # schemathesis raises a FailureGroup
            failures.append(f"{operation.label} ({mode.value}): {failure}"[:3000])

    with contextlib.suppress(Unsatisfiable):  # no invalid request can be made for this operation
        check()
    return failures


def test_fuzzing_every_operation_finds_no_server_error(
    make_server: Callable[..., LiveServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server(api_keys=KEYS, rate_limit="0", auth_failure_limit="0")
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [op for op in (r.ok() for r in schema.get_all_operations()) if op.label not in ENDLESS]
    assert len(operations) > 30
    failures: list[str] = []
    with caplog.at_level(logging.ERROR):
        for operation in operations:
            failures += fuzz_operation(server, operation, GenerationMode.POSITIVE)
            if operation.body:  # bodies are where bad input hides; other negatives are slow to find
                failures += fuzz_operation(server, operation, GenerationMode.NEGATIVE)
    assert not failures, "\n\n".join(failures)
    unhandled = [r for r in caplog.records if "unhandled error" in r.getMessage() or r.exc_info]
    assert not unhandled, [r.getMessage() for r in unhandled]


async def test_after_an_unhandled_error_the_connection_still_works(sqlite_server: LiveServer) -> None:
    sessions = sqlite_server.server.config.app.state.services.sessions

    async def broken(*_: object, **__: object) -> int:
        raise RuntimeError("a bug")

    original = sessions.count_threads
    sessions.count_threads = broken
    try:
        async with httpx.AsyncClient(
            base_url=sqlite_server.url, limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)
        ) as http:
            failed = await http.post("/threads/count", json={})
            assert failed.status_code == 500 and "RuntimeError" in failed.json()["detail"]
            for _ in range(3):  # the same keep-alive connection carries on
                assert (await http.get(f"/threads/{uuid.uuid4()}")).status_code == 404
                assert (await http.get("/ok")).status_code == 200
    finally:
        sessions.count_threads = original
