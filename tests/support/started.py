"""Start a test server, or fail (under ``CI=true``) or skip the tests that need it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Protocol, TypeVar

import pytest


class TestServer(Protocol):
    """What the harness's servers offer."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


ServerT = TypeVar("ServerT", bound=TestServer)


def in_ci() -> bool:
    """True under CI (``CI=true``), where a server that cannot start must fail tests, not skip them."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


@contextlib.contextmanager
def started(server: ServerT, name: str, unavailable: type[Exception]) -> Iterator[ServerT]:
    """``server`` started and stopped afterwards; if it raises ``unavailable`` on start, fail
    under CI, otherwise skip."""
    try:
        server.start()
    except unavailable as exc:
        message = f"{name} test server unavailable: {exc}"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield server
    finally:
        server.stop()
