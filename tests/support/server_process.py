"""Servers the tests run as child processes (``sessiongraph serve``, ``langgraph dev``, valkey).

A free loopback port, readiness by polling ``GET /ok``, and a stop that leaves none of the
server's processes behind. Example::

    port = free_port()
    url = f"http://{HOST}:{port}"
    with serving([*argv, "--port", str(port)], url=url, log=tmp_path / "server.log", boot_timeout_s=60):
        assert httpx.get(f"{url}/ok").status_code == 200
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import httpx

HOST = "127.0.0.1"
STOP_TIMEOUT_S = 15.0
POLL_INTERVAL_S = 0.2
LOG_TAIL_CHARS = 4000


class ServerDidNotStart(RuntimeError):
    """A child-process server exited or did not answer ``GET /ok`` in time; the message has its log."""


def free_port() -> int:
    """Ask the kernel for a currently unused loopback TCP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(
    argv: Sequence[str],
    *,
    url: str,
    log: Path,
    boot_timeout_s: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` in a process group of its own, its output in ``log``, until ``GET {url}/ok``
    answers; yield the process, and stop the whole group afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_ok(url, process, log, boot_timeout_s)
        yield process
    finally:
        stop(process)


def wait_until_ok(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    """Poll ``GET {url}/ok`` until it answers 200.

    Raises:
        ServerDidNotStart: if the process exits first or ``timeout_s`` passes (with the log's tail).
    """
    command = shlex.join(str(arg) for arg in process.args)  # type: ignore[union-attr]
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServerDidNotStart(f"{command} exited with {process.returncode}:\n{_tail(log)}")
            try:
                if client.get(f"{url}/ok").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(POLL_INTERVAL_S)  # poll interval, not synchronisation: readiness is the /ok answer
    raise ServerDidNotStart(f"{command} did not answer /ok within {timeout_s}s:\n{_tail(log)}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started by :func:`serving` and everything it started (its process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_S)
    with contextlib.suppress(ProcessLookupError):  # children that outlived the leader
        os.killpg(process.pid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group ``pgid`` is still running."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-LOG_TAIL_CHARS:]
