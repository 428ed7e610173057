"""The thread registry through the session facade, on every backend (memory, SQLite, Redis, Postgres)."""

from __future__ import annotations

import pytest

from sessiongraph import Sessions, Settings
from sessiongraph.checkpoints.registry import ThreadExists, ThreadNotFound, ThreadQuery


def settings_for(url: str) -> Settings:
    """Offline settings on the backend at ``url``."""
    return Settings(checkpoint_url=url, model="offline")


async def test_create_get_and_duplicates(backend_url: str) -> None:
    async with Sessions.open(settings=settings_for(backend_url)) as sessions:
        created = await sessions.create_thread("t-1", metadata={"user": "ada", "n": 1}, owner="alice")
        assert (created.thread_id, created.status, created.owner) == ("t-1", "idle", "alice")
        assert created.metadata == {"user": "ada", "n": 1}
        fetched = await sessions.get_thread("t-1")
        assert fetched.metadata == created.metadata and fetched.created_at == pytest.approx(
            created.created_at
        )
        with pytest.raises(ThreadExists):
            await sessions.create_thread("t-1")
        same = await sessions.create_thread("t-1", metadata={"other": True}, if_exists="do_nothing")
        assert same.metadata == {"user": "ada", "n": 1}
        generated = await sessions.create_thread()
        assert generated.thread_id and generated.thread_id != "t-1"
        with pytest.raises(ThreadNotFound):
            await sessions.get_thread("nope")


async def test_search_by_metadata_with_paging_newest_first(backend_url: str) -> None:
    async with Sessions.open(settings=settings_for(backend_url)) as sessions:
        for index in range(5):
            await sessions.create_thread(f"ada-{index}", metadata={"user": "ada", "index": index})
        await sessions.create_thread("bob-0", metadata={"user": "bob", "index": 0})

        found = await sessions.list_threads(metadata={"user": "ada"})
        assert [t.thread_id for t in found] == [f"ada-{i}" for i in (4, 3, 2, 1, 0)]
        page = await sessions.list_threads(metadata={"user": "ada"}, limit=2, offset=1)
        assert [t.thread_id for t in page] == ["ada-3", "ada-2"]
        assert await sessions.list_threads(metadata={"user": "ada"}, limit=2, offset=4) == [
            await sessions.get_thread("ada-0")
        ]
        assert [t.thread_id for t in await sessions.list_threads(metadata={"user": "ada", "index": 2})] == [
            "ada-2"
        ]
        assert await sessions.list_threads(metadata={"user": "carol"}) == []
        everyone = await sessions.list_threads(limit=100)
        assert {t.thread_id for t in everyone} == {*(f"ada-{i}" for i in range(5)), "bob-0"}


async def test_update_merges_metadata_and_refreshes_the_thread(backend_url: str) -> None:
    async with Sessions.open(settings=settings_for(backend_url)) as sessions:
        first = await sessions.create_thread("t-old", metadata={"user": "ada", "topic": "maths"})
        await sessions.create_thread("t-new", metadata={"user": "ada"})
        updated = await sessions.update_thread("t-old", {"topic": "physics", "pinned": True})
        assert updated.metadata == {"user": "ada", "topic": "physics", "pinned": True}
        assert updated.updated_at >= first.updated_at
        assert (await sessions.get_thread("t-old")).metadata == updated.metadata
        assert [t.thread_id for t in await sessions.list_threads(metadata={"pinned": True})] == ["t-old"]
        # "Newest first" is by last update: the updated thread comes first now.
        assert [t.thread_id for t in await sessions.list_threads(metadata={"user": "ada"})] == [
            "t-old",
            "t-new",
        ]
        with pytest.raises(ThreadNotFound):
            await sessions.update_thread("nope", {"a": 1})


async def test_status_follows_the_turns(backend_url: str) -> None:
    async with Sessions.open(settings=settings_for(backend_url)) as sessions:
        await sessions.invoke("t-s", "compute 12*7", context={"require_plan_approval": True})
        assert (await sessions.get_thread("t-s")).status == "interrupted"
        assert [t.thread_id for t in await sessions.list_threads(status="interrupted")] == ["t-s"]
        await sessions.resume("t-s", "approve", context={"require_plan_approval": True})
        assert (await sessions.get_thread("t-s")).status == "idle"
        assert await sessions.list_threads(status="interrupted") == []


async def test_delete_removes_the_thread_and_its_checkpoints(backend_url: str) -> None:
    async with Sessions.open(settings=settings_for(backend_url)) as sessions:
        await sessions.invoke("t-del", "My name is Ada")
        await sessions.invoke("t-keep", "My name is Bob")
        saver = sessions.graph.checkpointer
        assert saver is not None
        config = {"configurable": {"thread_id": "t-del", "checkpoint_ns": ""}}
        assert [c async for c in saver.alist(config)]

        await sessions.delete_thread("t-del")

        assert [c async for c in saver.alist(config)] == []
        assert await saver.aget_tuple(config) is None
        assert (await sessions.get_state("t-del")).values == {}
        with pytest.raises(ThreadNotFound):
            await sessions.get_thread("t-del")
        with pytest.raises(ThreadNotFound):
            await sessions.delete_thread("t-del")
        assert [t.thread_id for t in await sessions.list_threads()] == ["t-keep"]
        kept = await sessions.invoke("t-keep", "What is my name?")
        assert kept["messages"][-1].content == "Your name is Bob."
        # The id can be reused: a new conversation starts from nothing.
        fresh = await sessions.invoke("t-del", "What is my name?")
        assert fresh["messages"][-1].content == "You have not told me your name yet."


async def test_registry_and_checkpoints_persist_across_reopen(sqlite_url: str) -> None:
    async with Sessions.open(settings=settings_for(sqlite_url)) as sessions:
        await sessions.create_thread("t-p", metadata={"user": "ada"})
        await sessions.invoke("t-p", "My name is Ada")
    async with Sessions.open(settings=settings_for(sqlite_url)) as sessions:
        info = await sessions.get_thread("t-p")
        assert info.metadata == {"user": "ada"} and info.status == "idle"
        values = await sessions.invoke("t-p", "What is my name?")
        assert values["messages"][-1].content == "Your name is Ada."


async def test_a_metadata_filter_matches_values_exactly(backend_url: str) -> None:
    async with Sessions.open(settings=settings_for(backend_url)) as sessions:
        await sessions.create_thread("both", metadata={"tags": ["a", "b"], "n": 1})
        await sessions.create_thread("one", metadata={"tags": ["a"], "n": "1"})

        assert [t.thread_id for t in await sessions.list_threads(metadata={"tags": ["a"]})] == ["one"]
        assert [t.thread_id for t in await sessions.list_threads(metadata={"n": 1})] == ["both"]
        assert await sessions.count_threads(ThreadQuery(metadata={"n": "1"})) == 1


async def found(sessions: Sessions, metadata: dict[str, object], **query: object) -> list[str]:
    """Ids of the threads matching ``metadata`` (newest first), checked against their count."""
    search = ThreadQuery(metadata=metadata, limit=100, **query)  # type: ignore[arg-type]
    ids = [t.thread_id for t in await sessions.backend.registry.search(search)]
    assert await sessions.count_threads(search) == len(ids)
    return ids


async def test_metadata_filters_compare_values_of_every_json_type(backend_url: str) -> None:
    async with Sessions.open(settings=settings_for(backend_url)) as sessions:
        config = {"model": "x", "options": {"temperature": 1, "stop": [1, 2]}}
        await sessions.create_thread(
            "typed", metadata={"n": 2.5, "on": True, "gone": None, "config": config, "tags": []}
        )
        await sessions.create_thread(
            "other", metadata={"n": "2.5", "on": False, "config": {"model": "x"}, "tags": ["a"]}
        )

        assert await found(sessions, {"n": 2.5}) == ["typed"]
        assert await found(sessions, {"n": "2.5"}) == ["other"]
        assert await found(sessions, {"on": True}) == ["typed"]
        assert await found(sessions, {"on": False}) == ["other"]
        assert await found(sessions, {"on": "true"}) == []
        # null matches a key set to null, not a missing key.
        assert await found(sessions, {"gone": None}) == ["typed"]
        # Objects compare whatever the order of their keys; arrays keep theirs; a part is not the whole.
        reordered = {"options": {"stop": [1, 2], "temperature": 1}, "model": "x"}
        assert await found(sessions, {"config": reordered}) == ["typed"]
        assert await found(sessions, {"config": {"model": "x", "options": {"stop": [2, 1]}}}) == []
        assert await found(sessions, {"config": {"model": "x"}}) == ["other"]
        assert await found(sessions, {"tags": []}) == ["typed"]


async def test_every_metadata_key_of_a_filter_must_match(backend_url: str) -> None:
    async with Sessions.open(settings=settings_for(backend_url)) as sessions:
        await sessions.create_thread("a", metadata={"user": "ada", "team": "red", "level": 1}, owner="alice")
        await sessions.create_thread("b", metadata={"user": "ada", "team": "blue", "level": 1}, owner="alice")
        await sessions.create_thread("c", metadata={"user": "bob", "team": "red", "level": 1}, owner="bob")

        assert await found(sessions, {"user": "ada", "team": "red"}) == ["a"]
        assert await found(sessions, {"team": "red", "level": 1}) == ["c", "a"]
        assert await found(sessions, {"level": 1, "user": "ada"}) == ["b", "a"]
        assert await found(sessions, {"user": "ada", "team": "red", "level": 2}) == []
        assert await found(sessions, {"team": "red"}, owner="alice") == ["a"]
        assert await found(sessions, {"level": 1}, thread_ids=["a", "c"]) == ["c", "a"]
        assert await found(sessions, {"level": 1, "team": "red"}, thread_ids=["b", "c"]) == ["c"]
        assert await found(sessions, {"level": 1}, status="busy") == []
        assert await found(sessions, {"level": 1}, sort_by="created_at", sort_order="asc") == ["a", "b", "c"]
        page = ThreadQuery(metadata={"level": 1}, limit=1, offset=1)
        assert [t.thread_id for t in await sessions.backend.registry.search(page)] == ["b"]
        # Created a, b, c: sorting by id must not just give the creation order back.
        await sessions.create_thread("0", metadata={"level": 1})
        by_id = {"sort_by": "thread_id"}
        assert await found(sessions, {"level": 1}, **by_id, sort_order="asc") == ["0", "a", "b", "c"]
        assert await found(sessions, {"level": 1}, **by_id, sort_order="desc") == ["c", "b", "a", "0"]


async def test_search_follows_metadata_updates_turns_and_deletes(backend_url: str) -> None:
    async with Sessions.open(settings=settings_for(backend_url)) as sessions:
        await sessions.create_thread("t-1", metadata={"user": "ada", "stage": "draft"})
        await sessions.create_thread("t-2", metadata={"user": "ada", "stage": "draft"})

        await sessions.update_thread("t-1", {"stage": "final", "score": 3})
        assert await found(sessions, {"stage": "draft"}) == ["t-2"]
        assert await found(sessions, {"stage": "final"}) == ["t-1"]
        assert await found(sessions, {"user": "ada", "score": 3}) == ["t-1"]
        assert await found(sessions, {"user": "ada"}) == ["t-1", "t-2"]

        # A turn refreshes the thread: it comes first among the matches.
        await sessions.invoke("t-2", "hello")
        assert await found(sessions, {"user": "ada"}) == ["t-2", "t-1"]

        await sessions.delete_thread("t-2")
        assert await found(sessions, {"user": "ada"}) == ["t-1"]
        assert await found(sessions, {"stage": "draft"}) == []
        # A new thread under the old id matches its own metadata only.
        await sessions.create_thread("t-2", metadata={"user": "bob"})
        assert await found(sessions, {"stage": "draft"}) == []
        assert await found(sessions, {"user": "bob"}) == ["t-2"]
