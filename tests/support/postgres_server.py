"""A throwaway PostgreSQL server for tests: ``initdb`` into a temp dir, ``pg_ctl start`` on a free
port, removed on exit.

Debian's ``postgresql`` package provides the binaries (``/usr/lib/postgresql/<v>/bin``); when they
are missing and we are root, the harness installs the package with ``apt-get`` (a fresh CI
machine). PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user
(``runuser``) and the data directory is given to that user. Durability is off (``fsync=off``):
the data is thrown away anyway.

Example::

    with PostgresServer() as server:
        url = server.url  # postgresql://postgres@127.0.0.1:PORT/postgres
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from support.server_process import HOST, free_port

BIN_GLOB = "/usr/lib/postgresql/*/bin"
SERVER_USER = "postgres"
STARTUP_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be provided (not installed and not installable, or it failed)."""


def find_bin_dir(install: bool = True) -> Path:
    """The newest installed ``/usr/lib/postgresql/<v>/bin``; installs Debian's package if allowed."""
    found = sorted(
        (Path(d) for d in glob.glob(BIN_GLOB) if (Path(d) / "initdb").exists()),
        key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1]
    if not install or os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); "
            "install it with `apt-get install -y postgresql`"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"],
    ):
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(argv)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return find_bin_dir(install=False)


class PostgresServer:
    """A private PostgreSQL server (context manager); ``url`` points at its ``postgres`` database."""

    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.port: int | None = None
        self._dir: Path | None = None
        self._as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/postgres`` of the running server."""
        return self.database_url("postgres")

    @property
    def pid(self) -> int | None:
        """The postmaster's process id (its children serve the connections), or ``None``."""
        try:
            return int((self._dir / "data" / "postmaster.pid").read_text().split()[0]) if self._dir else None
        except (OSError, ValueError, IndexError):
            return None

    def database_url(self, database: str) -> str:
        """The URL of ``database`` on this server."""
        if self.port is None:
            raise RuntimeError("PostgresServer is not running")
        return f"postgresql://{SERVER_USER}@{HOST}:{self.port}/{database}"

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", SERVER_USER, "--"] if self._as_root else []
        return subprocess.run([*prefix, *argv], capture_output=True, text=True, cwd="/")

    def start(self, attempts: int = 3) -> None:
        """``initdb`` + ``pg_ctl start`` on a free port (retried on a new port if the start fails)."""
        self._dir = Path(tempfile.mkdtemp(prefix="sessiongraph-pg-"))
        data = self._dir / "data"
        if self._as_root:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self._dir, user.pw_uid, user.pw_gid)
        initdb = self._run(
            str(self.bin_dir / "initdb"), "-A", "trust", "-U", SERVER_USER, "-E", "UTF8", "-D", str(data)
        )
        if initdb.returncode != 0:
            self.stop()
            raise PostgresUnavailable(f"initdb failed:\n{initdb.stdout}{initdb.stderr}")
        error = ""
        for _ in range(attempts):
            self.port = free_port()
            options = self._options()
            started = self._run(
                str(self.bin_dir / "pg_ctl"), "-w", "-t", str(STARTUP_TIMEOUT_S), "-D", str(data),
                "-l", str(self._dir / "server.log"), "-o", options, "start",
            )  # fmt: skip
            if started.returncode == 0:
                return
            error = started.stdout + started.stderr + self._log_tail()
        self.stop()
        raise PostgresUnavailable(f"pg_ctl start failed:\n{error}")

    def _options(self) -> str:
        """The server's options (``pg_ctl -o``): this port and socket directory, no fsync."""
        return (
            f"-p {self.port} -k {self._dir} -c listen_addresses={HOST} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )

    def restart(self) -> None:
        """Restart the server on the same port (``pg_ctl restart -m fast``: every connection is
        cut, as when an operator restarts Postgres)."""
        if self._dir is None or self.port is None:
            raise RuntimeError("PostgresServer is not running")
        done = self._run(
            str(self.bin_dir / "pg_ctl"), "-w", "-t", str(STARTUP_TIMEOUT_S), "-D", str(self._dir / "data"),
            "-l", str(self._dir / "server.log"), "-m", "fast", "restart",
        )  # fmt: skip
        if done.returncode != 0:
            raise PostgresUnavailable(f"pg_ctl restart failed:\n{done.stdout}{done.stderr}{self._log_tail()}")

    def halt(self) -> None:
        """Stop the server but keep its data and port, as in an outage (``resume`` brings it back)."""
        if self._dir is None:
            raise RuntimeError("PostgresServer is not running")
        data = str(self._dir / "data")
        done = self._run(str(self.bin_dir / "pg_ctl"), "-w", "-D", data, "-m", "fast", "stop")
        if done.returncode != 0:
            raise PostgresUnavailable(f"pg_ctl stop failed:\n{done.stdout}{done.stderr}")

    def resume(self) -> None:
        """Start a halted server again on the same port."""
        if self._dir is None or self.port is None:
            raise RuntimeError("PostgresServer is not running")
        options = self._options()
        done = self._run(
            str(self.bin_dir / "pg_ctl"), "-w", "-t", str(STARTUP_TIMEOUT_S), "-D", str(self._dir / "data"),
            "-l", str(self._dir / "server.log"), "-o", options, "start",
        )  # fmt: skip
        if done.returncode != 0:
            raise PostgresUnavailable(f"pg_ctl start failed:\n{done.stdout}{done.stderr}{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return (self._dir / "server.log").read_text(errors="replace")[-3000:] if self._dir else ""
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server (immediately: the data goes anyway) and delete its directory."""
        if self._dir is not None:
            data = self._dir / "data"
            if (data / "postmaster.pid").exists():
                self._run(str(self.bin_dir / "pg_ctl"), "-w", "-D", str(data), "-m", "immediate", "stop")
            shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None
        self.port = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
