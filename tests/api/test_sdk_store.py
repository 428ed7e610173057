"""Every method of langgraph-sdk's store client against a live server (SQLite and Redis)."""

from __future__ import annotations

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient


async def test_put_get_search_namespaces_delete(client: LangGraphClient) -> None:
    await client.store.put_item(["users", "ada", "prefs"], "theme", {"colour": "green", "size": 3})
    await client.store.put_item(["users", "ada", "prefs"], "lang", {"colour": "none", "size": 1})
    await client.store.put_item(["users", "bob"], "theme", {"colour": "red"})
    item = await client.store.get_item(["users", "ada", "prefs"], "theme")
    assert item["value"] == {"colour": "green", "size": 3} and item["namespace"] == ["users", "ada", "prefs"]
    await client.store.put_item(["users", "ada", "prefs"], "theme", {"colour": "blue", "size": 3})
    assert (await client.store.get_item(["users", "ada", "prefs"], "theme"))["value"]["colour"] == "blue"

    found = (await client.store.search_items(["users"], limit=10))["items"]
    assert sorted((*i["namespace"], i["key"]) for i in found) == [
        ("users", "ada", "prefs", "lang"),
        ("users", "ada", "prefs", "theme"),
        ("users", "bob", "theme"),
    ]
    filtered = (await client.store.search_items(["users", "ada"], filter={"colour": "blue"}))["items"]
    assert [i["key"] for i in filtered] == ["theme"]
    assert len((await client.store.search_items(["users"], limit=1, offset=1))["items"]) == 1

    namespaces = (await client.store.list_namespaces(prefix=["users"]))["namespaces"]
    assert sorted(map(tuple, namespaces)) == [("users", "ada", "prefs"), ("users", "bob")]
    shallow = (await client.store.list_namespaces(max_depth=2))["namespaces"]
    assert sorted(map(tuple, shallow)) == [("users", "ada"), ("users", "bob")]
    assert (await client.store.list_namespaces(suffix=["prefs"]))["namespaces"] == [["users", "ada", "prefs"]]

    await client.store.delete_item(["users", "bob"], "theme")
    assert await client.store.get_item(["users", "bob"], "theme") is None


async def test_the_servers_own_namespace_is_off_limits(client: LangGraphClient) -> None:
    with pytest.raises(httpx.HTTPStatusError) as bad:
        await client.store.put_item(["__sessiongraph__", "assistants"], "k", {"v": 1})
    assert bad.value.response.status_code == 422 and "reserved" in bad.value.response.json()["detail"]
