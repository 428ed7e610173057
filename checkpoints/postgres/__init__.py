"""``postgresql://user@host:port/db``: sessions in PostgreSQL, shared by API replicas and workers."""

from sessiongraph.checkpoints.postgres.backend import PostgresBackend

__all__ = ["PostgresBackend"]
