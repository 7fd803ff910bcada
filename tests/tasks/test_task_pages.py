"""The tasks subgraph's nested connections. ``CollabRequest.tasks``: pages in creation order,
the total counted only when asked, the request's visibility, one statement for the pages of
many requests. Progress reports: an order that mixes directions; series instances: by due
time, with undated ones last."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from shared.graphql.pagination import encode_cursor
from tests.support import GraphQLFailure, SubgraphClient, counting_statements, nodes
from tests.tasks.helpers import HANS, LI, PMO, WANG, ZHAO, create_task, seed_request, seeded, update
from tests.tasks.test_recurring import create_series
from tests.tasks.test_reports import submit

PAGE = """
query($r: [_Any!]!, $first: Int!, $after: String) {
  _entities(representations: $r) {
    ... on CollabRequest {
      id
      tasks(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { cursor node { id title } }
      }
    }
  }
}
"""

WITHOUT_TOTAL = """
query($r: [_Any!]!) {
  _entities(representations: $r) {
    ... on CollabRequest { tasks { pageInfo { hasNextPage } edges { node { id } } } }
  }
}
"""


def requests(*ids: str) -> list[dict[str, str]]:
    return [{"__typename": "CollabRequest", "id": i} for i in ids]


@pytest.fixture
async def api(tasks_api: SubgraphClient) -> SubgraphClient:
    return await seeded(tasks_api)


async def page(
    api: SubgraphClient, first: int, after: str | None = None, caller: Any = LI
) -> dict[str, Any]:
    variables = {"r": requests("req-1"), "first": first, "after": after}
    data = await api.execute(PAGE, variables, caller=caller)
    tasks: dict[str, Any] = data["_entities"][0]["tasks"]
    return tasks


async def test_pages_follow_creation_order_and_count_the_whole_list(api: SubgraphClient) -> None:
    created = [(await create_task(api, title=f"Task {n}"))["id"] for n in range(5)]
    seen: list[str] = []
    pages = []
    after = None
    while True:
        found = await page(api, 2, after)
        pages.append((len(found["edges"]), found["pageInfo"]["hasNextPage"], found["totalCount"]))
        seen += [t["id"] for t in nodes(found)]
        assert found["pageInfo"]["endCursor"] == found["edges"][-1]["cursor"]
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    assert pages == [(2, True, 5), (2, True, 5), (1, False, 5)]
    assert seen == created


async def test_the_default_page_is_20_tasks(api: SubgraphClient) -> None:
    for n in range(21):
        await create_task(api, title=f"Task {n}")
    data = await api.execute(WITHOUT_TOTAL, {"r": requests("req-1")}, caller=LI)
    tasks = data["_entities"][0]["tasks"]
    assert len(tasks["edges"]) == 20
    assert tasks["pageInfo"]["hasNextPage"] is True


async def test_a_request_the_caller_may_not_see_has_no_tasks(api: SubgraphClient) -> None:
    await create_task(api)
    hidden = await page(api, 10, caller=ZHAO)
    assert (hidden["totalCount"], hidden["edges"], hidden["pageInfo"]["hasNextPage"]) == (
        0,
        [],
        False,
    )
    assert (await page(api, 10, caller=PMO))["totalCount"] == 1


async def test_page_size_and_cursor_are_checked(api: SubgraphClient) -> None:
    await create_task(api)
    with pytest.raises(GraphQLFailure, match="PAGE_SIZE_EXCEEDED"):
        await page(api, 101)
    # Not a cursor at all; a key with other types; a key of a list with another order.
    for cursor in ("bm90IGEgY3Vyc29y", encode_cursor([5]), encode_cursor(["2026-03-02", "x"])):
        with pytest.raises(GraphQLFailure, match="not a cursor this API returned"):
            await page(api, 1, cursor)


async def test_the_pages_of_many_requests_are_one_statement(api: SubgraphClient) -> None:
    for request_id in ("req-2", "req-3"):
        await seed_request(api.runtime, request_id)
    for request_id in ("req-1", "req-2", "req-3"):
        for n in range(3):
            await create_task(api, requestId=request_id, title=f"{request_id} {n}")
    variables = {"r": requests("req-1", "req-2", "req-3"), "first": 2, "after": None}
    async with counting_statements(api.runtime) as counter, counter.recording() as statements:
        data = await api.execute(PAGE, variables, caller=PMO)
    assert [(e["tasks"]["totalCount"], len(e["tasks"]["edges"])) for e in data["_entities"]] == [
        (3, 2),
        (3, 2),
        (3, 2),
    ]
    [read] = [s for s in statements if "FROM tasks" in s]
    assert "count(*)" in read
    uncounted = {"r": variables["r"]}
    async with counting_statements(api.runtime) as counter, counter.recording() as statements:
        await api.execute(WITHOUT_TOTAL, uncounted, caller=PMO)
    [read] = [s for s in statements if "FROM tasks" in s]
    assert "count(*)" not in read


REPORTS = """
query($r: [_Any!]!, $after: String) {
  _entities(representations: $r) {
    ... on CollabRequest {
      progressReports(first: 1, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { node { periodStart department { id } } }
      }
    }
  }
}
"""


async def every_page(api: SubgraphClient, query: str, path: str, **variables: Any) -> list[Any]:
    """The nodes of every page of one request's list, following the cursors."""
    found: list[Any] = []
    after = None
    while True:
        data = await api.execute(query, {**variables, "after": after}, caller=PMO)
        connection = data["_entities"][0][path]
        found += nodes(connection)
        if not connection["pageInfo"]["hasNextPage"]:
            return found
        after = connection["pageInfo"]["endCursor"]


async def test_progress_reports_page_newest_period_first_then_by_department(
    api: SubgraphClient,
) -> None:
    task = await create_task(api)
    weeks = [("2026-03-02", "2026-03-08"), ("2026-03-09", "2026-03-15")]
    for start, end in weeks:
        for caller, department in ((HANS, "eu"), (WANG, "rd")):
            period = {"periodStart": start, "periodEnd": end}
            payload = await submit(
                api, task["id"], caller=caller, departmentId=department, **period
            )
            assert payload["userErrors"] == []
    found = await every_page(api, REPORTS, "progressReports", r=requests("req-1"))
    assert [(r["periodStart"], r["department"]["id"]) for r in found] == [
        ("2026-03-09", "eu"),
        ("2026-03-09", "rd"),
        ("2026-03-02", "eu"),
        ("2026-03-02", "rd"),
    ]


INSTANCES = """
query($r: [_Any!]!, $after: String) {
  _entities(representations: $r) {
    ... on CollabRequest {
      recurringTasks { edges { node { instances(first: 1, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { id dueAt } }
      } } } }
    }
  }
}
"""


async def test_series_instances_page_by_due_time_with_cleared_ones_last(
    api: SubgraphClient,
) -> None:
    created = await create_series(api)
    assert created["userErrors"] == []
    instances = nodes(created["recurringTask"]["instances"])
    undated = instances[0]["id"]
    assert (await update(api, taskId=undated, dueAt=None))["userErrors"] == []
    found: list[Any] = []
    after = None
    while True:
        data = await api.execute(INSTANCES, {"r": requests("req-1"), "after": after}, caller=LI)
        [series] = nodes(data["_entities"][0]["recurringTasks"])
        found += nodes(series["instances"])
        if not series["instances"]["pageInfo"]["hasNextPage"]:
            break
        after = series["instances"]["pageInfo"]["endCursor"]
    dated = sorted(
        (t for t in instances if t["id"] != undated),
        key=lambda t: (datetime.fromisoformat(t["dueAt"]), t["id"]),
    )
    assert [t["id"] for t in found] == [*(t["id"] for t in dated), undated]
    assert found[-1]["dueAt"] is None
