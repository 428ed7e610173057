"""``sqlite:///path.db``: sessions in one SQLite file (the embedded default)."""

from sessiongraph.checkpoints.sqlite.backend import SqliteBackend, sqlite_path

__all__ = ["SqliteBackend", "sqlite_path"]
