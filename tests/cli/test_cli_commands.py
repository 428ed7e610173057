"""``sessiongraph ask`` and ``sessiongraph threads ...`` run in-process against a real SQLite file."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from sessiongraph.cli import app
from sessiongraph.sessions import Sessions


def test_ask_remembers_within_a_thread(cli) -> None:
    first = cli(["ask", "--thread", "ada", "My name is Ada"])
    assert first.exit_code == 0, first.output
    assert "My name is Ada" in first.stdout

    second = cli(["ask", "--thread", "ada", "What is my name?"])
    assert second.exit_code == 0, second.output
    assert second.stdout.strip() == "Your name is Ada."


def test_ask_json_prints_last_message_and_thread(cli) -> None:
    result = cli(["ask", "-t", "calc", "--json", "12*7 and 3+4"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["thread_id"] == "calc"
    assert payload["status"] == "idle"
    assert payload["message"]["type"] == "ai"
    assert "84" in payload["message"]["content"] and "7" in payload["message"]["content"]


def test_threads_list_filters_by_metadata_and_limits(cli) -> None:
    assert cli(["threads", "create", "a1", "-m", "user=ada", "-m", "n=3"]).exit_code == 0
    assert cli(["threads", "create", "a2", "--metadata", "user=ada"]).exit_code == 0
    assert cli(["threads", "create", "b1", "--metadata", "user=bob"]).exit_code == 0

    everything = cli(["threads", "list"])
    assert everything.exit_code == 0, everything.output
    assert all(t in everything.stdout for t in ("a1", "a2", "b1"))

    ada = cli(["threads", "list", "--metadata", "user=ada"])
    assert "a1" in ada.stdout and "a2" in ada.stdout and "b1" not in ada.stdout

    typed = cli(["threads", "list", "-m", "user=ada", "-m", "n=3"])
    assert "a1" in typed.stdout and "a2" not in typed.stdout

    limited = cli(["threads", "list", "--limit", "1"])
    assert sum(t in limited.stdout for t in ("a1", "a2", "b1")) == 1

    assert "no threads" in cli(["threads", "list", "-m", "user=nobody"]).stdout


def test_threads_show_record_count_and_last_messages(cli) -> None:
    cli(["threads", "create", "s1", "-m", "user=ada"])
    cli(["ask", "-t", "s1", "My name is Ada"])
    cli(["ask", "-t", "s1", "What is my name?"])

    result = cli(["threads", "show", "s1", "--last", "2"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "thread s1" in out and "idle" in out and '"user": "ada"' in out
    assert "messages   4" in out
    assert "you: What is my name?" in out and "assistant: Your name is Ada." in out
    assert "My name is Ada" not in out.split("last 2 messages")[1]
    if hasattr(Sessions, "thread_stats"):  # size of the thread, when the facade reports it
        assert "stats" in out and "checkpoints" in out and "prompt_tokens" in out


def test_threads_delete_asks_unless_yes(cli) -> None:
    cli(["ask", "-t", "gone", "hello"])

    declined = cli(["threads", "delete", "gone"], input="n\n")
    assert declined.exit_code == 1
    assert cli(["threads", "show", "gone"]).exit_code == 0

    confirmed = cli(["threads", "delete", "gone"], input="y\n")
    assert confirmed.exit_code == 0 and "deleted gone" in confirmed.stdout
    assert cli(["threads", "show", "gone"]).exit_code == 2

    cli(["threads", "create", "gone2"])
    assert cli(["threads", "delete", "gone2", "--yes"]).exit_code == 0
    assert "gone2" not in cli(["threads", "list"]).stdout


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--checkpoint-url", "mongodb://x/y", "threads", "list"], "unknown scheme"),
        (["--checkpoint-url", "sqlite://relative.db", "threads", "list"], "sqlite:///relative/path.db"),
        (["--model", "gpt-4o", "threads", "list"], "unknown model"),
        (["threads", "show", "missing"], "thread 'missing' not found"),
        (["threads", "delete", "missing", "--yes"], "thread 'missing' not found"),
        (["threads", "list", "--metadata", "novalue"], "is not key=value"),
        (["threads", "list", "--status", "sleeping"], "use one of"),
    ],
)
def test_user_mistakes_exit_2_with_a_clear_message(sqlite_url: str, argv: list[str], needle: str) -> None:
    base = ["--checkpoint-url", sqlite_url, "--model", "offline"]
    result = CliRunner().invoke(app, [*base, *argv])
    assert result.exit_code == 2, result.output
    assert needle in " ".join(result.output.replace("│", " ").split())
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_existing_thread_cannot_be_created_twice(cli) -> None:
    assert cli(["threads", "create", "dup"]).exit_code == 0
    again = cli(["threads", "create", "dup"])
    assert again.exit_code == 2 and "already exists" in again.output


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("chat", "ask", "threads", "serve", "--checkpoint-url", "--model"):
        assert command in result.stdout
    serve_help = CliRunner().invoke(app, ["serve", "--help"])
    assert "--host" in serve_help.stdout and "--port" in serve_help.stdout


def test_unreachable_backend_is_one_line_not_a_traceback() -> None:
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        result = CliRunner().invoke(
            app, ["--checkpoint-url", f"redis://127.0.0.1:{port}/0", "threads", "list"]
        )
    assert result.exit_code == 1, result.output
    assert "cannot open the session backend" in result.stderr
    assert "Traceback" not in result.output
