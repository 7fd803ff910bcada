"""The top-level ``tasks`` list: each filter alone and together, the three sorts paged through
ties, cursors of another sort, an inverted due range, free text in Chinese and English, the
search columns of older rows, and who sees what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.tasks.app import MIGRATIONS
from shared.db import migrate
from shared.events.envelope import new_event
from shared.graphql.pagination import encode_cursor
from tests.support import Caller, GraphQLFailure, SubgraphClient, counting_statements, nodes
from tests.tasks.helpers import (
    HANS,
    LI,
    PMO,
    RACI,
    ZHAO,
    create_task,
    deliver_envelope,
    in_days,
    seed_request,
    seeded,
    update,
)
from tests.tasks.test_raci import action_item

LIST = """
query($filter: TaskFilter, $sort: TaskSort! = DUE_SOONEST, $first: Int! = 20, $after: String) {
  tasks(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id title dueAt isOverdue } }
  }
}
"""

HANS_RESPONSIBLE = [
    {"role": "A", "personId": "li"},
    {"role": "R", "personId": "hans", "departmentId": "eu"},
    {"role": "C", "personId": "wang"},
]
"""A RACI whose R is in Berlin (eu) and whose C is a person; :data:`RACI` has R wang (rd),
C legal and I eu as departments only (so their heads zhao and hans hold those)."""


@pytest.fixture
async def api(tasks_api: SubgraphClient) -> SubgraphClient:
    api = await seeded(tasks_api)  # req-1: led by mkt, with rd and eu
    await seed_request(api.runtime, "req-2", ("rd",))
    return api


async def listed(api: SubgraphClient, caller: Caller = PMO, **variables: Any) -> dict[str, Any]:
    data = await api.execute(LIST, variables, caller=caller)
    found: dict[str, Any] = data["tasks"]
    return found


async def titles(api: SubgraphClient, caller: Caller = PMO, **chosen: Any) -> list[str]:
    """The titles the filter ``chosen`` keeps, in the default order; the total agrees."""
    found = await listed(api, caller, filter=chosen)
    assert found["totalCount"] == len(found["edges"])
    return [t["title"] for t in nodes(found)]


async def every_page(api: SubgraphClient, first: int, **variables: Any) -> list[str]:
    """The ids of the whole list, page by page; each page counts the whole list."""
    ids: list[str] = []
    totals = set()
    after = None
    while True:
        found = await listed(api, first=first, after=after, **variables)
        assert len(found["edges"]) <= first
        ids += [t["id"] for t in nodes(found)]
        totals.add(found["totalCount"])
        if not found["pageInfo"]["hasNextPage"]:
            assert totals == {len(ids)}
            return ids
        after = found["pageInfo"]["endCursor"]


async def five_tasks(api: SubgraphClient) -> None:
    """Five tasks over both requests, one of each kind the filters tell apart."""
    await create_task(
        api, title="Prepare launch materials", description="准备发布会材料", dueAt=in_days(1)
    )
    budget = await create_task(
        api,
        title="Budget review",
        description="预算复盘会议",
        dueAt=in_days(-2),
        raci=HANS_RESPONSIBLE,
    )
    assert (await update(api, taskId=budget["id"], status="BLOCKED"))["userErrors"] == []
    venue = await create_task(api, requestId="req-2", title="Venue booking", dueAt=in_days(-1))
    for status in ("IN_PROGRESS", "DONE"):
        assert (await update(api, taskId=venue["id"], status=status))["userErrors"] == []
    await create_task(
        api, requestId="req-2", title="Press release 新闻稿", dueAt=None, raci=HANS_RESPONSIBLE
    )
    item = action_item(title="Send the revised budget", due_at=datetime.now(UTC) + timedelta(3))
    envelope = new_event("requests", "requests.action_item.created", "ai-1", item)
    assert await deliver_envelope(api.runtime, envelope)


PREPARE, BUDGET, VENUE, PRESS, SEND = (
    "Prepare launch materials",
    "Budget review",
    "Venue booking",
    "Press release 新闻稿",
    "Send the revised budget",
)


async def test_each_filter_alone(api: SubgraphClient) -> None:
    await five_tasks(api)
    now = datetime.now(UTC).isoformat()
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({}, [BUDGET, VENUE, PREPARE, SEND, PRESS]),
        ({"requestId": "req-2"}, [VENUE, PRESS]),
        ({"assigneeId": "wang"}, [BUDGET, VENUE, PREPARE, SEND, PRESS]),
        ({"assigneeId": "wang", "role": "C"}, [BUDGET, PRESS]),
        ({"assigneeId": "hans"}, [BUDGET, VENUE, PREPARE, PRESS]),
        # eu, named alone as I, is its head's: hans
        ({"assigneeId": "hans", "role": "I"}, [VENUE, PREPARE]),
        ({"assigneeId": "zhao", "role": "C"}, [VENUE, PREPARE]),
        ({"assigneeId": "li", "role": "R"}, []),
        ({"departmentId": "legal"}, [VENUE, PREPARE]),
        ({"departmentId": "eu"}, [BUDGET, VENUE, PREPARE, PRESS]),
        ({"departmentId": "rd"}, [VENUE, PREPARE, SEND]),
        ({"statuses": ["BLOCKED", "DONE"]}, [BUDGET, VENUE]),
        ({"statuses": ["TODO"]}, [PREPARE, SEND, PRESS]),
        ({"statuses": []}, [BUDGET, VENUE, PREPARE, SEND, PRESS]),
        ({"dueAfter": now}, [PREPARE, SEND]),
        ({"dueBefore": now}, [BUDGET, VENUE]),
        ({"dueAfter": in_days(-1.5), "dueBefore": in_days(2)}, [VENUE, PREPARE]),
        ({"dueAfter": now, "dueBefore": now}, []),
        ({"overdue": True}, [BUDGET]),
        ({"overdue": False}, [VENUE, PREPARE, SEND, PRESS]),
        ({"source": "ACTION_ITEM"}, [SEND]),
        ({"source": "PLAN"}, [BUDGET, VENUE, PREPARE, PRESS]),
        ({"source": "RECURRING"}, []),
    ]
    for chosen, expected in cases:
        assert await titles(api, **chosen) == expected, chosen


async def test_filters_together_must_all_hold(api: SubgraphClient) -> None:
    await five_tasks(api)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"requestId": "req-1", "overdue": False, "source": "PLAN"}, [PREPARE]),
        ({"assigneeId": "hans", "statuses": ["BLOCKED"], "text": "复盘"}, [BUDGET]),
        ({"departmentId": "eu", "dueBefore": in_days(0)}, [BUDGET, VENUE]),
        ({"departmentId": "rd", "text": "budget"}, [SEND]),
        ({"assigneeId": "wang", "role": "R", "requestId": "req-2"}, [VENUE]),
        ({"departmentId": "legal", "overdue": True}, []),
    ]
    for chosen, expected in cases:
        assert await titles(api, **chosen) == expected, chosen


async def test_text_matches_title_and_description_in_chinese_and_english(
    api: SubgraphClient,
) -> None:
    await five_tasks(api)
    cases: list[tuple[str, list[str]]] = [
        ("budget", [BUDGET, SEND]),
        ("BUDGET review", [BUDGET]),
        ("复盘", [BUDGET]),  # inside 预算复盘会议
        ("发布", [PREPARE]),
        ("launch 材料", [PREPARE]),
        ("新闻稿", [PRESS]),
        ("稿", [PRESS]),  # too short for an n-gram: found as a substring
        ("budget 新闻稿", []),
        ("   ", [BUDGET, VENUE, PREPARE, SEND, PRESS]),  # no words: no filter
    ]
    for text, expected in cases:
        assert await titles(api, text=text) == expected, text


async def test_text_follows_every_change_of_title_and_description(api: SubgraphClient) -> None:
    task = await create_task(api, title="Draft the agenda", description="议程")
    await update(api, taskId=task["id"], title="Book the hall")
    assert await titles(api, text="agenda") == []
    assert await titles(api, text="hall 议程") == ["Book the hall"]
    await update(api, taskId=task["id"], description="场地预订")
    assert await titles(api, text="议程") == []
    assert await titles(api, text="场地") == ["Book the hall"]


async def test_tasks_stored_before_the_search_columns_are_filled_by_the_migration(
    api: SubgraphClient,
) -> None:
    await create_task(api, title="Quarterly close", description="季度结账")
    pool = api.runtime.pool
    # As a release without the columns left the row; the step runs again once unrecorded.
    await pool.execute("UPDATE tasks SET search_text = NULL, search_grams = NULL")
    await pool.execute(
        "DELETE FROM schema_migrations WHERE name = 'tasks/migrations/0006_fill_task_search.py'"
    )
    assert await titles(api, text="结账") == []
    assert await migrate(pool, MIGRATIONS) == ["tasks/migrations/0006_fill_task_search.py"]
    assert await titles(api, text="quarterly 结账") == ["Quarterly close"]


async def test_due_soonest_pages_through_equal_due_times_with_undated_last(
    api: SubgraphClient,
) -> None:
    same, later = in_days(5), in_days(6)
    created = {}
    for name, due in [("a", later), ("b", same), ("c", None), ("d", same), ("e", same)]:
        created[name] = (await create_task(api, title=name, dueAt=due))["id"]
    created["f"] = (await create_task(api, title="f", dueAt=None))["id"]
    expected = [created[n] for n in ("b", "d", "e", "a", "c", "f")]  # ties by id: creation
    for first in (1, 2, 4):
        assert await every_page(api, first) == expected, first


async def test_updated_newest_pages_through_equal_update_times(api: SubgraphClient) -> None:
    ids = [(await create_task(api, title=f"t{n}"))["id"] for n in range(5)]
    # Three changed in one instant, one later, one earlier.
    moment = datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=UTC)
    changed = [moment, moment, moment, moment + timedelta(hours=1), moment - timedelta(hours=1)]
    await api.runtime.pool.executemany(
        "UPDATE tasks SET updated_at = $2 WHERE id = $1", list(zip(ids, changed, strict=True))
    )
    expected = [ids[3], ids[2], ids[1], ids[0], ids[4]]
    for first in (1, 2):
        assert await every_page(api, first, sort="UPDATED_NEWEST") == expected, first


async def test_created_oldest_pages_in_creation_order(api: SubgraphClient) -> None:
    ids = [(await create_task(api, title=f"t{n}", dueAt=in_days(5 - n)))["id"] for n in range(5)]
    for first in (1, 2):
        assert await every_page(api, first, sort="CREATED_OLDEST") == ids


async def test_a_cursor_is_refused_with_another_sort_or_list(api: SubgraphClient) -> None:
    for n in range(2):
        await create_task(api, title=f"t{n}")
    cursor = (await listed(api, first=1))["pageInfo"]["endCursor"]
    with pytest.raises(GraphQLFailure, match="sorted by DUE_SOONEST, not UPDATED_NEWEST") as e:
        await listed(api, first=1, after=cursor, sort="UPDATED_NEWEST")
    assert "BAD_USER_INPUT" in str(e.value)
    # A request's tasks' cursor (by id only); a key of this sort with values of other types.
    task_id = (await listed(api, first=1))["edges"][0]["node"]["id"]
    with pytest.raises(GraphQLFailure, match="not a cursor of this list"):
        await listed(api, after=encode_cursor([task_id]))
    with pytest.raises(GraphQLFailure, match="not a cursor this API returned"):
        await listed(api, after=encode_cursor(["DUE_SOONEST", 5, task_id]))
    with pytest.raises(GraphQLFailure, match="PAGE_SIZE_EXCEEDED"):
        await listed(api, first=101)


async def test_an_inverted_due_range_or_a_role_of_nobody_is_refused(api: SubgraphClient) -> None:
    chosen = {"dueAfter": in_days(2), "dueBefore": in_days(1)}
    with pytest.raises(GraphQLFailure, match="dueAfter` must not be later than") as e:
        await listed(api, filter=chosen)
    assert "BAD_USER_INPUT" in str(e.value)
    with pytest.raises(GraphQLFailure, match="role` needs `filter"):
        await listed(api, filter={"role": "R"})


async def test_callers_see_the_tasks_of_the_requests_they_may_see(api: SubgraphClient) -> None:
    await five_tasks(api)
    everything = [BUDGET, VENUE, PREPARE, SEND, PRESS]
    assert await titles(api, PMO) == everything
    assert await titles(api, LI) == everything  # mkt leads both requests
    assert await titles(api, HANS) == [BUDGET, PREPARE, SEND]  # eu takes part in req-1 only
    # legal holds C on two tasks, but takes part in no request.
    assert await titles(api, ZHAO) == []
    assert await titles(api, ZHAO, departmentId="legal") == []


async def test_one_statement_a_page_and_the_count_only_when_asked(api: SubgraphClient) -> None:
    await create_task(api, raci=RACI)
    without_total = "{ tasks(filter: {overdue: false}) { edges { node { id } } } }"
    async with counting_statements(api.runtime) as counter, counter.recording() as statements:
        await api.execute(without_total, caller=LI)
    assert [s for s in statements if "count(*) FROM tasks" in s] == []
    assert len([s for s in statements if "FROM tasks t" in s]) == 1
    async with counting_statements(api.runtime) as counter, counter.recording() as statements:
        assert (await listed(api, LI, filter={"overdue": False}))["totalCount"] == 1
    assert len([s for s in statements if "FROM tasks t" in s]) == 2
