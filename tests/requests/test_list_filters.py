"""The `requests` list's filters and orders, and the `people` text search, over HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.requests.app import MIGRATIONS
from services.requests.list_upkeep import UPKEEP_SUBJECT, UPKEEP_TIMER
from services.requests.worker import TIMER_HANDLERS
from shared.db import migrate
from shared.timer_firing import sweep
from shared.timers import arm_timer
from tests.requests.helpers import (
    ANNA,
    CANCEL,
    CREATE,
    LI,
    PMO,
    SUBMIT,
    UPDATE,
    WANG,
    ZHAO,
    active_request,
    create_request,
    move,
    request_input,
)
from tests.support import ADMIN, Caller, SubgraphClient

FILL_STEP = "requests/migrations/0013_fill_search.py"

REQUESTS = """
query Filtered($filter: RequestFilter, $sort: RequestSort! = CREATED_NEWEST, $first: Int!,
               $after: String) {
  requests(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id code } }
  }
}
"""

# Literal filters, so that the differential test (tests/compiled) compares both read paths on
# each predicate too; "Q4" is its sample text.
LITERAL_FILTERS = """
query LiteralFilters($text: String!) {
  byText: requests(filter: {text: $text}, first: 5) { totalCount edges { node { id } } }
  byWhere: requests(first: 5, filter: {regionId: "hq", participatingDepartmentId: "rd",
                                       statuses: [DRAFT, ACTIVE], phase: PREPARATION}) {
    totalCount edges { cursor node { id } }
  }
  byLead: requests(first: 5, filter: {leadDepartmentId: "mkt", kind: PROJECT,
                                      createdAfter: "2020-01-01T00:00:00Z",
                                      updatedBefore: "2100-01-01T00:00:00Z"}) {
    totalCount edges { node { id } }
  }
}
"""

PEOPLE = """
query People($text: String, $departmentId: ID, $first: Int! = 20, $after: String) {
  people(text: $text, departmentId: $departmentId, first: $first, after: $after) {
    totalCount pageInfo { endCursor } edges { node { id } }
  }
}
"""

UPSERT_PERSON = """
mutation($input: UpsertPersonInput!) { upsertPerson(input: $input) { userErrors { code } } }
"""


async def create_as(api: SubgraphClient, caller: Caller, **changes: Any) -> dict[str, Any]:
    """A request created by ``caller`` (a member of its lead department)."""
    data = await api.execute(CREATE, {"input": request_input(**changes)}, caller=caller)
    assert data["createRequest"]["userErrors"] == []
    request: dict[str, Any] = data["createRequest"]["request"]
    return request


async def listed(
    api: SubgraphClient, caller: Caller = PMO, first: int = 20, **variables: Any
) -> tuple[list[str], int]:
    """The ids of the first page and the total count."""
    data = await api.execute(REQUESTS, {"first": first, **variables}, caller=caller)
    found = data["requests"]
    return [e["node"]["id"] for e in found["edges"]], found["totalCount"]


async def ids_of(api: SubgraphClient, caller: Caller = PMO, **chosen: Any) -> list[str]:
    """The ids of every request matching ``chosen``, checked against the count."""
    ids, total = await listed(api, caller, filter=chosen)
    assert total == len(ids)
    return ids


async def every_page(api: SubgraphClient, sort: str, first: int, caller: Caller = PMO) -> list[str]:
    """The whole list in ``sort``, page after page of ``first``."""
    seen: list[str] = []
    after = None
    while True:
        variables = {"sort": sort, "first": first, "after": after}
        data = await api.execute(REQUESTS, variables, caller=caller)
        page = data["requests"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]


async def run_upkeep(api: SubgraphClient) -> None:
    """Make the worker's list upkeep due and fire it, as its sweep would."""
    async with api.runtime.pool.acquire() as conn:
        await arm_timer(conn, UPKEEP_TIMER, UPKEEP_SUBJECT, datetime.now(UTC), {})
    assert await sweep(api.runtime, TIMER_HANDLERS) == 1


async def refused(api: SubgraphClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = (await api.post(query, variables, caller=PMO)).json()
    assert body["data"] is None, body
    error: dict[str, Any] = body["errors"][0]
    return error


async def test_each_filter_alone_and_together(api: SubgraphClient) -> None:
    launch = await create_request(api, title="2024新品推广 Launch", participantDepartmentIds=["rd"])
    review = await active_request(
        api, kind="OPERATIONS", title="季度复盘会", participantDepartmentIds=["rd"]
    )
    berlin = await create_as(
        api,
        ANNA,
        title="Berlin roadshow",
        participantDepartmentIds=["mkt"],
        leadDepartmentId="sales-eu",
    )
    outage = await create_request(
        api,
        kind="EMERGENCY",
        title="Outage",
        background="服务器宕机 in the plant",
        participantDepartmentIds=["sales-us"],
    )
    assert (await move(api, SUBMIT, LI, requestId=launch["id"]))["userErrors"] == []
    [a, b, c, d] = [r["id"] for r in (launch, review, berlin, outage)]

    assert await ids_of(api, kind="OPERATIONS") == [b]
    assert await ids_of(api, status="SUBMITTED") == [a]
    assert await ids_of(api, statuses=["SUBMITTED", "ACTIVE"]) == [b, a]
    assert await ids_of(api, statuses=[]) == [d, c, b, a]
    assert await ids_of(api, phase="EXECUTION") == [b]
    assert await ids_of(api, leadDepartmentId="sales-eu") == [c]
    assert await ids_of(api, participatingDepartmentId="rd") == [b, a]
    assert await ids_of(api, participatingDepartmentId="mkt") == [d, c, b, a]
    assert await ids_of(api, participatingDepartmentId="sales-us") == [d]
    assert await ids_of(api, regionId="eu") == [c]
    assert await ids_of(api, regionId="hq") == [d, b, a]
    assert await ids_of(api, regionId="us") == []
    # text: title, background, goals' metric, code; Chinese and English, any case
    assert await ids_of(api, text="复盘") == [b]
    assert await ids_of(api, text="新品") == [a]
    assert await ids_of(api, text="LAUNCH 推广") == [a]
    assert await ids_of(api, text="宕机") == [d]
    assert await ids_of(api, text="answer time") == [d, c, b, a]
    assert await ids_of(api, text=outage["code"].lower()) == [d]
    assert await ids_of(api, text="launch 复盘") == []
    assert await ids_of(api, text="   ") == [d, c, b, a]

    times = await api.runtime.pool.fetch(
        "SELECT id, created_at, updated_at FROM collab_requests ORDER BY id"
    )
    created = {r["id"]: r["created_at"].isoformat() for r in times}
    updated = {r["id"]: r["updated_at"].isoformat() for r in times}
    assert await ids_of(api, createdAfter=created[b]) == [d, c, b]
    assert await ids_of(api, createdBefore=created[b]) == [a]
    assert await ids_of(api, createdAfter=created[b], createdBefore=created[d]) == [c, b]
    latest = max(updated.values())
    assert await ids_of(api, updatedAfter=latest) == [k for k, v in updated.items() if v == latest]
    assert set(await ids_of(api, updatedBefore=latest)) == {
        k for k, v in updated.items() if v < latest
    }

    together: dict[str, Any] = {
        "participatingDepartmentId": "rd",
        "regionId": "hq",
        "text": "launch",
    }
    assert await ids_of(api, **together) == [a]
    assert await ids_of(api, **together, status="DRAFT") == []
    assert await ids_of(api, kind="PROJECT", leadDepartmentId="mkt", phase="PREPARATION") == [a]


async def test_visibility_holds_under_every_filter(api: SubgraphClient) -> None:
    mine = await create_request(api, title="Launch", participantDepartmentIds=["rd", "sales-eu"])
    theirs = await create_as(
        api,
        ANNA,
        title="Launch abroad",
        participantDepartmentIds=["mkt"],
        leadDepartmentId="sales-eu",
    )
    for chosen in (
        {},
        {"text": "launch"},
        {"participatingDepartmentId": "rd"},
        {"regionId": "hq"},
        {"statuses": ["DRAFT"]},
    ):
        assert await ids_of(api, ZHAO, **chosen) == []  # legal takes part in nothing
    assert await ids_of(api, WANG, text="launch") == [mine["id"]]  # rd takes part in one
    assert await ids_of(api, WANG, leadDepartmentId="sales-eu") == []
    assert await ids_of(api, ANNA, text="launch") == [theirs["id"], mine["id"]]
    assert await ids_of(api, ANNA, participatingDepartmentId="rd") == [mine["id"]]


async def test_created_orders_page_without_gaps(api: SubgraphClient) -> None:
    created = [(await create_request(api))["id"] for _ in range(5)]
    for first in (1, 2):
        assert await every_page(api, "CREATED_OLDEST", first) == created
        assert await every_page(api, "CREATED_NEWEST", first) == created[::-1]
        assert await every_page(api, "CREATED_OLDEST", first, caller=WANG) == created
    assert (await listed(api, sort="CREATED_OLDEST", first=2))[1] == 5


async def test_updated_newest_breaks_ties_by_id_across_pages(api: SubgraphClient) -> None:
    created = [(await create_request(api))["id"] for _ in range(5)]
    pool = api.runtime.pool
    # two pairs changed at the same instant: the id breaks each tie, newest first
    same = datetime(2026, 11, 1, 8, 30, 0, 123456, tzinfo=UTC)
    await pool.execute(
        "UPDATE collab_requests SET updated_at = $2 WHERE id = ANY($1)", created[:2], same
    )
    later = same + timedelta(days=1)
    await pool.execute(
        "UPDATE collab_requests SET updated_at = $2 WHERE id = ANY($1)", created[3:], later
    )
    edited = await move(api, UPDATE, LI, requestId=created[0], title="edited last")
    assert edited["userErrors"] == []
    expected = [created[0], created[2], created[4], created[3], created[1]]
    for first in (1, 2):
        assert await every_page(api, "UPDATED_NEWEST", first) == expected
        assert await every_page(api, "UPDATED_NEWEST", first, caller=LI) == expected


def milestone(day: str) -> dict[str, str]:
    return {"title": f"by {day}", "dueDate": day}


SPAN = {"startsOn": "2026-01-05", "endsOn": "2027-12-31"}


async def test_nearest_milestone_puts_the_soonest_first_and_none_last(api: SubgraphClient) -> None:
    soon = date.today() + timedelta(days=30)
    later = soon + timedelta(days=60)
    past = "2026-02-01"

    async def with_milestones(*days: date | str) -> str:
        chosen = [milestone(str(day)) for day in days]
        request = await create_request(api, milestones=chosen, **SPAN)
        return str(request["id"])

    none_ahead = await with_milestones(past)
    soon_a = await with_milestones(past, later, soon)  # the earliest ahead, not the first
    without = await with_milestones()
    soon_b = await with_milestones(soon)
    cancelled = await with_milestones(soon)
    done = await move(api, CANCEL, LI, requestId=cancelled, comment="no longer needed")
    assert done["userErrors"] == []
    moved = await with_milestones(soon)
    edited = await move(api, UPDATE, LI, requestId=moved, milestones=[milestone(str(later))])
    assert edited["userErrors"] == []
    soon_c = await with_milestones(soon)
    expected = [soon_a, soon_b, soon_c, moved, none_ahead, without, cancelled]
    for first in (1, 2, 3):
        assert await every_page(api, "NEAREST_MILESTONE", first) == expected
    assert await every_page(api, "NEAREST_MILESTONE", 2, caller=WANG) == expected


async def test_a_milestone_whose_day_ended_stops_counting(api: SubgraphClient) -> None:
    """The upkeep timer moves the order on once a milestone's day is over."""
    soon = date.today() + timedelta(days=10)
    later = soon + timedelta(days=10)
    first = await create_request(
        api, milestones=[milestone(str(soon)), milestone(str(later))], **SPAN
    )
    second = await create_request(api, milestones=[milestone(str(soon + timedelta(1)))], **SPAN)
    assert await every_page(api, "NEAREST_MILESTONE", 5) == [first["id"], second["id"]]
    pool = api.runtime.pool
    # as if ten days went by: the first milestone's day, the request's key, was yesterday
    await pool.execute(
        "UPDATE milestones SET due_date = current_date - 1 WHERE request_id = $1 AND due_date = $2",
        first["id"],
        soon,
    )
    await pool.execute(
        "UPDATE collab_requests SET next_milestone_on = current_date - 1 WHERE id = $1",
        first["id"],
    )
    await run_upkeep(api)
    assert await every_page(api, "NEAREST_MILESTONE", 5) == [second["id"], first["id"]]
    due = await pool.fetchval("SELECT due_at FROM timers WHERE kind = $1", UPKEEP_TIMER)
    assert timedelta(0) < due - datetime.now(UTC) <= timedelta(hours=1)  # back within the hour


async def test_rows_stored_without_search_columns_are_filled(api: SubgraphClient) -> None:
    """Migration 0013 fills the search columns of the rows stored before them."""
    request = await create_request(api, title="季度复盘 review")
    pool = api.runtime.pool
    await pool.execute("UPDATE collab_requests SET search_text = NULL, search_grams = NULL")
    await pool.execute("UPDATE people SET search_text = NULL, search_grams = NULL")
    assert await ids_of(api, text="复盘") == []
    # as a release without the columns left the rows; the step runs again once unrecorded
    await pool.execute("DELETE FROM schema_migrations WHERE name = $1", FILL_STEP)
    assert await migrate(pool, MIGRATIONS) == [FILL_STEP]
    assert await ids_of(api, text="复盘 REVIEW") == [request["id"]]
    assert await people_found(api, "wang") == ["wang"]


async def test_a_cursor_of_another_order_is_refused(api: SubgraphClient) -> None:
    for _ in range(2):
        await create_request(api)
    by_update = await api.execute(REQUESTS, {"first": 1, "sort": "UPDATED_NEWEST"}, caller=PMO)
    cursor = by_update["requests"]["pageInfo"]["endCursor"]
    for sort in ("CREATED_NEWEST", "NEAREST_MILESTONE"):
        error = await refused(api, REQUESTS, {"first": 1, "sort": sort, "after": cursor})
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["message"] == (
            f"`after` is a cursor of this list sorted by UPDATED_NEWEST, not {sort}: pass it"
            f" with `sort: UPDATED_NEWEST`, or leave `after` out to start the {sort} list"
        )
    newest = await api.execute(REQUESTS, {"first": 1}, caller=PMO)
    cursor = newest["requests"]["pageInfo"]["endCursor"]
    error = await refused(api, REQUESTS, {"first": 1, "sort": "CREATED_OLDEST", "after": cursor})
    assert error["message"] == (  # a bare cursor is the default order's
        "`after` is a cursor of this list sorted by CREATED_NEWEST, not CREATED_OLDEST: pass it"
        " with `sort: CREATED_NEWEST`, or leave `after` out to start the CREATED_OLDEST list"
    )
    people = await api.execute(PEOPLE, {"first": 1}, caller=PMO)
    not_ours = people["people"]["pageInfo"]["endCursor"]
    error = await refused(api, REQUESTS, {"first": 1, "after": not_ours})
    assert error["message"] == "`after` is not a cursor this API returned"


@pytest.mark.parametrize("field", ["created", "updated"])
async def test_an_inverted_range_is_refused(api: SubgraphClient, field: str) -> None:
    chosen = {
        f"{field}After": "2026-06-01T00:00:00Z",
        f"{field}Before": "2026-05-01T00:00:00+08:00",
    }
    error = await refused(api, REQUESTS, {"first": 5, "filter": chosen})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == f"`{field}Before` may not be earlier than `{field}After`"
    await create_request(api)
    empty: dict[str, Any] = {
        f"{field}After": "2026-06-01T00:00:00Z",
        f"{field}Before": "2026-06-01T08:00:00+08:00",
    }
    assert await ids_of(api, **empty) == []  # an empty range is no mistake


async def test_literal_filters_read_the_same_rows(api: SubgraphClient) -> None:
    draft = await create_request(api, title="Q4 launch")
    data = await api.execute(LITERAL_FILTERS, {"text": "q4"}, caller=LI)
    assert [e["node"]["id"] for e in data["byText"]["edges"]] == [draft["id"]]
    assert data["byWhere"]["totalCount"] == 1
    assert data["byLead"]["totalCount"] == 1


async def people_found(api: SubgraphClient, text: str, **variables: Any) -> list[str]:
    data = await api.execute(PEOPLE, {"text": text, **variables}, caller=PMO)
    found = data["people"]
    ids = [e["node"]["id"] for e in found["edges"]]
    assert found["totalCount"] == len(ids)
    return ids


async def test_people_are_found_by_name_and_e_mail(api: SubgraphClient) -> None:
    person = {
        "id": "wangli",
        "name": "王丽",
        "email": "wang.li@x.example",
        "departmentId": "mkt",
        "regionId": "hq",
        "timeZone": "Asia/Shanghai",
    }
    added = await api.execute(UPSERT_PERSON, {"input": person}, caller=ADMIN)
    assert added["upsertPerson"]["userErrors"] == []
    assert set(await people_found(api, "wang")) == {"wang", "wangli"}
    assert await people_found(api, "WANG.LI") == ["wangli"]
    assert await people_found(api, "丽") == ["wangli"]  # one character: no n-gram, still found
    assert await people_found(api, "王丽") == ["wangli"]
    assert await people_found(api, "wang", departmentId="rd") == ["wang"]
    assert await people_found(api, "becker anna") == ["anna"]
    assert await people_found(api, "nobody") == []
    # paging a search by name, then id
    everyone = await people_found(api, "example")
    assert len(everyone) == 9  # the test directory's eight and 王丽
    first = await api.execute(PEOPLE, {"text": "example", "first": 3}, caller=PMO)
    rest = await api.execute(
        PEOPLE,
        {"text": "example", "first": 20, "after": first["people"]["pageInfo"]["endCursor"]},
        caller=PMO,
    )
    paged = [e["node"]["id"] for page in (first, rest) for e in page["people"]["edges"]]
    assert paged == everyone
    # a rename is searched under its new name at once
    renamed = await api.execute(UPSERT_PERSON, {"input": {**person, "name": "王芳"}}, caller=ADMIN)
    assert renamed["upsertPerson"]["userErrors"] == []
    assert await people_found(api, "王丽") == []
    assert await people_found(api, "王芳") == ["wangli"]
