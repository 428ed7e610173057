"""What every shared :class:`StreamBroker` must do, checked the same way on Redis and PostgreSQL
(each test module supplies brokers of its own store)."""

from __future__ import annotations

from sessiongraph.api.coordination.interfaces import StreamBroker


async def replays_and_closes_across(publisher: StreamBroker, reader: StreamBroker, deadline_s: float) -> None:
    """Events published through one broker reach another's subscribers with their ids: replay
    after a given id, live ones only, the close signal, and a closed run's buffer kept."""
    await publisher.open("run")
    for i in (1, 2, 3):
        await publisher.publish("run", "values", f"{i}".encode())
    replay = await reader.subscribe("run", 1)
    live = await reader.subscribe("run", None)
    assert not await reader.wait_closed("run", 0.01)
    await publisher.publish("run", "end", b"null")
    await publisher.close("run")
    assert await reader.wait_closed("run", deadline_s)
    replayed = [e async for e in replay]
    assert [(e.seq, e.event, e.data) for e in replayed] == [
        (2, "values", b"2"),
        (3, "values", b"3"),
        (4, "end", b"null"),
    ]
    assert [e.seq async for e in live if e is not None] == [4]
    assert [e async for e in await reader.subscribe("run", None)] == []
    assert [e.seq async for e in await reader.subscribe("run", 3)] == [4]
    assert [e async for e in await reader.subscribe("unknown", 0)] == []
    assert await reader.wait_closed("unknown", 0.01)
    await publisher.publish("run", "late", b"1")
    assert [e.seq async for e in await reader.subscribe("run", 0)] == [1, 2, 3, 4]


async def heartbeats_while_silent(broker: StreamBroker) -> None:
    """A subscriber gets ``None`` (a heartbeat) while the run is silent, then its events."""
    await broker.open("quiet")
    items = aiter(await broker.subscribe("quiet", 0))
    assert await anext(items) is None
    await broker.publish("quiet", "metadata", b"{}")
    assert (await anext(items)).seq == 1  # type: ignore[union-attr]
    await broker.close("quiet")
    assert [e async for e in items if e is not None] == []
