"""The inbox over GraphQL: paging, unread filter and count, read marks."""

from __future__ import annotations

import asyncio
from typing import Any

from shared.events.contracts.tasks import RaciEntry
from tests.notify.conftest import Events, issue_reported, task_created
from tests.support import Caller, SubgraphClient

LI = Caller("li", departments=("mkt",))
ZHOU = Caller("zhou", departments=("ops",))

INBOX = """
query($unreadOnly: Boolean, $first: Int, $after: String) {
  myNotifications(unreadOnly: $unreadOnly, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id type title body link urgency createdAt readAt recipient { id } } }
  }
}
"""
MARK_READ = """
mutation($ids: [ID!]!) {
  markRead(input: {ids: $ids}) { notifications { id readAt } userErrors { field code } }
}
"""
MARK_ALL_READ = "mutation { markAllRead { count userErrors { code } } }"


async def notify_li(events: Events, count: int) -> None:
    for n in range(count):
        raci = [RaciEntry(role="R", person_id="li")]
        assert await events.handle(task_created(f"t{n}", raci, title=f"Task {n}"))
        # Ids are UUIDv7, ordered by millisecond only: a new millisecond fixes the order.
        await asyncio.sleep(0.002)


async def inbox(api: SubgraphClient, caller: Caller, **variables: Any) -> dict[str, Any]:
    data = await api.execute(INBOX, variables, caller=caller)
    result: dict[str, Any] = data["myNotifications"]
    return result


def titles(page: dict[str, Any]) -> list[str]:
    return [e["node"]["title"] for e in page["edges"]]


async def unread_count(api: SubgraphClient, caller: Caller) -> int:
    count: int = (await api.execute("{ unreadCount }", caller=caller))["unreadCount"]
    return count


async def test_inbox_pages_newest_first(notify_api: SubgraphClient, events: Events) -> None:
    await notify_li(events, 5)
    assert await events.handle(issue_reported("i1"))  # zhou's, not li's

    first = await inbox(notify_api, LI, first=2)
    assert first["totalCount"] == 5
    assert titles(first) == ["New task: Task 4", "New task: Task 3"]
    assert first["pageInfo"]["hasNextPage"]
    node = first["edges"][0]["node"]
    assert node["recipient"] == {"id": "li"}
    assert node["readAt"] is None
    assert node["link"] == "/tasks/t4"
    assert node["type"] == "tasks.task.created"

    rest = await inbox(notify_api, LI, first=10, after=first["pageInfo"]["endCursor"])
    assert titles(rest) == ["New task: Task 2", "New task: Task 1", "New task: Task 0"]
    assert not rest["pageInfo"]["hasNextPage"]
    assert (await inbox(notify_api, ZHOU))["totalCount"] == 1


async def test_unread_filter_and_count_follow_read_marks(
    notify_api: SubgraphClient, events: Events
) -> None:
    await notify_li(events, 3)
    page = await inbox(notify_api, LI)
    newest = page["edges"][0]["node"]["id"]
    assert await unread_count(notify_api, LI) == 3

    data = await notify_api.execute(MARK_READ, {"ids": [newest]}, caller=LI)
    payload = data["markRead"]
    assert payload["userErrors"] == []
    assert [n["id"] for n in payload["notifications"]] == [newest]
    assert payload["notifications"][0]["readAt"] is not None

    unread = await inbox(notify_api, LI, unreadOnly=True)
    assert unread["totalCount"] == 2
    assert titles(unread) == ["New task: Task 1", "New task: Task 0"]
    assert await unread_count(notify_api, LI) == 2
    assert (await inbox(notify_api, LI))["totalCount"] == 3


async def test_mark_read_refuses_others_and_unknown_ids_changing_nothing(
    notify_api: SubgraphClient, events: Events
) -> None:
    await notify_li(events, 1)
    assert await events.handle(issue_reported("i1"))
    mine = (await inbox(notify_api, LI))["edges"][0]["node"]["id"]
    theirs = (await inbox(notify_api, ZHOU))["edges"][0]["node"]["id"]

    for ids in ([mine, theirs], [mine, "no-such-id"]):
        data = await notify_api.execute(MARK_READ, {"ids": ids}, caller=LI)
        assert data["markRead"] == {
            "notifications": None,
            "userErrors": [{"field": "ids", "code": "NOT_FOUND"}],
        }
    assert await unread_count(notify_api, LI) == 1
    assert await unread_count(notify_api, ZHOU) == 1


async def test_mark_all_read_counts_only_what_changed(
    notify_api: SubgraphClient, events: Events
) -> None:
    await notify_li(events, 3)
    assert await events.handle(issue_reported("i1"))
    newest = (await inbox(notify_api, LI))["edges"][0]["node"]["id"]
    await notify_api.execute(MARK_READ, {"ids": [newest]}, caller=LI)

    data = await notify_api.execute(MARK_ALL_READ, caller=LI)
    assert data["markAllRead"] == {"count": 2, "userErrors": []}
    assert await unread_count(notify_api, LI) == 0
    assert await unread_count(notify_api, ZHOU) == 1  # someone else's stay unread
    again = await notify_api.execute(MARK_ALL_READ, caller=LI)
    assert again["markAllRead"]["count"] == 0
