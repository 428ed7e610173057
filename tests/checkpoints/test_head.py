"""The id of a thread's newest checkpoint, read without loading it, is the one the saver loads."""

from __future__ import annotations

from checkpoint_turns import TURNS, OpenSessions, run_turns


async def test_head_checkpoint_id_is_the_newest_state(open_sessions: OpenSessions) -> None:
    async with open_sessions() as sessions:
        assert await sessions.backend.head_checkpoint_id("nobody") is None
        await run_turns(sessions, "t", TURNS[:2])
        newest = (await sessions.get_state("t")).config["configurable"]["checkpoint_id"]
        assert await sessions.backend.head_checkpoint_id("t") == newest
        # A fork writes a newer checkpoint, which becomes the head.
        oldest = (await sessions.get_history("t"))[-1].config["configurable"]["checkpoint_id"]
        await sessions.fork("t", oldest)
        forked = (await sessions.get_state("t")).config["configurable"]["checkpoint_id"]
        assert forked != newest
        assert await sessions.backend.head_checkpoint_id("t") == forked
