"""``postgresql://user@host:port/db``: sessions in PostgreSQL, shared by API replicas and workers
(which coordinate their runs through the same database: see :mod:`.schema`, version 4)."""

from sessiongraph.checkpoints.postgres.backend import PostgresBackend

__all__ = ["PostgresBackend"]
