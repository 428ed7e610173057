"""``sessiongraph chat`` driven through stdin: streaming turns, slash commands, plan approval."""

from __future__ import annotations

from collections.abc import Callable

from click.testing import Result


def lines(*items: str) -> str:
    """Stdin for the REPL: one line per item."""
    return "".join(f"{item}\n" for item in items)


def test_chat_streams_answers_and_runs_slash_commands(cli: Callable[..., Result]) -> None:
    cli(["ask", "-t", "other", "My name is Bob"])
    result = cli(
        ["chat", "--thread", "main"],
        input=lines(
            "My name is Ada",
            "12*7 and 3+4",
            "/threads",
            "/state",
            "/history 3",
            "/switch nowhere",
            "/switch other",
            "What is my name?",
            "/switch main",
            "What is my name?",
            "/new fresh",
            "/bogus",
            "/help",
            "/quit",
        ),
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    # the plan and the tool steps are shown before the streamed answer
    assert "plan: 1. Compute 12*7 with the calculator" in out
    assert '↳ tool calculator({"expression": "12*7"}) → 84' in out
    assert "assistant: Here is what I found: 12*7 = 84; 3+4 = 7." in out
    # /threads lists both threads, /state and /history show this thread
    assert "other" in out and "main" in out
    assert "reflection  answer: every step produced a result" in out
    assert "checkpoints (newest first)" in out and "messages (7)" in out
    # /switch: unknown ids are refused, known threads keep their own memory
    assert "thread 'nowhere' not found" in out
    assert "assistant: Your name is Bob." in out
    assert "assistant: Your name is Ada." in out
    assert out.index("Your name is Bob.") < out.index("Your name is Ada.")
    assert "thread fresh (0 messages)" in out
    assert "unknown command /bogus" in out
    assert "/history [N]" in out
    assert "bye — continue later with: sessiongraph chat --thread fresh" in out

    shown = cli(["threads", "show", "main"])
    assert "messages   9" in shown.stdout


def test_chat_ends_cleanly_at_end_of_input(cli: Callable[..., Result]) -> None:
    result = cli(["chat", "-t", "eof"], input=lines("hello there"))
    assert result.exit_code == 0, result.output
    assert "You said: “hello there”" in result.stdout
    assert "bye" in result.stdout


def test_chat_plan_approval_approve_edit_reject(cli: Callable[..., Result]) -> None:
    result = cli(
        ["chat", "--thread", "review", "--approve-plans"],
        input=lines(
            "12*7 and 3+4",
            "maybe",  # not an answer: asked again
            "a",
            "What is 2+2?",
            "e",
            "Compute 2+2 with the calculator",
            "",
            "compute 5*5",
            "r",
            "too risky",
            "/quit",
        ),
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.count("Plan approval needed") == 3
    assert "answer a (approve), e (edit) or r (reject)" in out
    assert "plan approved" in out and "plan edited" in out and "plan rejected" in out
    assert "12*7 = 84" in out
    assert "2+2 = 4" in out
    assert "the plan was rejected (too risky)" in out

    state = cli(["threads", "show", "review"])
    assert "idle" in state.stdout


def test_chat_resumes_a_thread_left_waiting_for_approval(cli: Callable[..., Result]) -> None:
    first = cli(["chat", "-t", "paused", "--approve-plans"], input=lines("12*7"))
    assert first.exit_code == 0, first.output
    assert "Plan approval needed" in first.stdout
    assert "interrupted" in cli(["threads", "list"]).stdout

    second = cli(["chat", "-t", "paused", "--approve-plans"], input=lines("a", "/quit"))
    assert second.exit_code == 0, second.output
    assert "Plan approval needed" in second.stdout
    assert "12*7 = 84" in second.stdout
    assert "idle" in cli(["threads", "list"]).stdout
