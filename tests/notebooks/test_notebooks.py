"""Every notebook in notebooks/ runs top to bottom without errors (nbclient, the venv's ipykernel).

Each notebook runs in a temp working dir, so whatever it writes (``data/*.db``) stays out of the
repo. The ``python3`` kernel is pinned to this interpreter with a kernelspec in a temp
``JUPYTER_PATH`` (which takes precedence over user and system kernelspecs), so a ``python3`` kernel
registered elsewhere on the machine cannot run the notebook with another Python.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 120

EXPECTED_FILES = {"01_graph_development.ipynb": ["data/notebook.db"]}
EXPECTED_OUTPUTS = {
    "01_graph_development.ipynb": [
        "graph TD;",
        "review_plan",
        "Your name is Ada.",
        "6*7 = 42",
        "42.|",  # streamed token by token
        "My name is Grace",
        "Your name is Grace.",
        "status: interrupted",
        "review: edited",
        "review: rejected",
    ],
}


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A ``python3`` kernelspec that runs ipykernel on this interpreter; returns its name."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (sessiongraph venv)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    return "python3"


def test_notebooks_are_found() -> None:
    assert [p.name for p in NOTEBOOKS] == sorted(EXPECTED_OUTPUTS)


def test_notebooks_are_stored_without_outputs() -> None:
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path, venv_kernel: str) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    notebook = nbformat.read(path, as_version=4)
    # One extra cell proves which interpreter the kernel runs.
    notebook.cells.append(nbformat.v4.new_code_cell("import sys; print('kernel python:', sys.executable)"))
    client = NotebookClient(
        notebook,
        kernel_name=venv_kernel,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    texts: list[str] = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", (
                f"{path.name}: {output.get('ename')}: {output.get('evalue')}"
            )
            if output["output_type"] == "stream":
                texts.append(output["text"])
            elif "data" in output:
                texts.extend(str(v) for v in output["data"].values())
    text = "".join(texts)
    for expected in EXPECTED_OUTPUTS[path.name]:
        assert expected in text, f"{path.name}: {expected!r} not in the outputs"
    assert f"kernel python: {sys.executable}" in text
    for name in EXPECTED_FILES.get(path.name, []):
        assert (workdir / name).exists(), f"{path.name} should write {name} in its working dir"
