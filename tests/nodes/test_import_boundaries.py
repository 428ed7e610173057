"""Real code never imports the offline test double: only the chat-model factory may."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OFFLINE = "sessiongraph.nodes.offline"
ALLOWED = {ROOT / "nodes" / "models.py"}
REAL_CODE = sorted(
    path
    for folder in ("nodes", "graphs", "sessiongraph", "api", "checkpoints")
    for path in (ROOT / folder).rglob("*.py")
    if (ROOT / "nodes" / "offline") not in path.parents
)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, ``from x import y`` counted as both ``x`` and ``x.y``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_only_the_model_factory_imports_the_offline_model() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(offline)
        for path in REAL_CODE
        if path not in ALLOWED
        and (offline := {m for m in imported_modules(path) if m == OFFLINE or m.startswith(f"{OFFLINE}.")})
    }
    assert offenders == {}


def test_the_model_factory_does_import_it() -> None:
    assert OFFLINE in imported_modules(ROOT / "nodes" / "models.py")
