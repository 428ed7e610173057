"""The JS SDK (``@langchain/langgraph-sdk``, what React's useStream and agent-chat-ui use) doing what
useStream does against a live server: see ``js/use_stream_scenario.mjs``.

The package is installed with npm once into a cache directory (``SESSIONGRAPH_JS_CACHE``, default
``~/.cache/sessiongraph/js-sdk-<version>``); node 20+ and npm must be on the machine (under
``CI=true`` their absence fails the test instead of skipping it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from apiharness import LiveServer

JS_SDK_VERSION = "1.15.0"
SCENARIO = Path(__file__).parent / "js" / "use_stream_scenario.mjs"


def _missing(message: str) -> None:
    if os.environ.get("CI", "").lower() in {"true", "1", "yes"}:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def js_sdk_dir() -> Path:
    """A directory with ``@langchain/langgraph-sdk`` installed (npm, cached across runs)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _missing("node and npm are needed for the JS SDK test")
    default = Path.home() / ".cache" / "sessiongraph" / f"js-sdk-{JS_SDK_VERSION}"
    target = Path(os.environ.get("SESSIONGRAPH_JS_CACHE", default))
    if not (target / "node_modules" / "@langchain" / "langgraph-sdk" / "package.json").is_file():
        target.mkdir(parents=True, exist_ok=True)
        (target / "package.json").write_text(json.dumps({"name": "sessiongraph-js-tests", "private": True}))
        install = subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                f"@langchain/langgraph-sdk@{JS_SDK_VERSION}",
            ],
            cwd=target,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if install.returncode != 0:
            _missing(f"npm install failed: {install.stderr[-2000:]}")
    return target


def test_use_stream_scenario(js_sdk_dir: Path, sqlite_server: LiveServer) -> None:
    script = js_sdk_dir / SCENARIO.name
    shutil.copyfile(SCENARIO, script)  # node resolves the package next to the script
    done = subprocess.run(
        ["node", str(script), sqlite_server.url], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ok"] and report["replay"] == report["live"]
