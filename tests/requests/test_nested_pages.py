"""The requests subgraph's lists are pages: a request's history and decisions, a meeting's
attendees (an order that mixes directions), the directory's people."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.requests.helpers import CHEN, LI, active_request
from tests.requests.test_meetings import SCHEDULE, meeting_input, run
from tests.support import SubgraphClient, nodes

HISTORY = """
query($id: ID!, $after: String) {
  request(id: $id) {
    history(first: 3, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { action } }
    }
    decisions { totalCount edges { node { action } } }
  }
}
"""

ATTENDEES = """
query($id: ID!, $after: String) {
  meeting(id: $id) {
    attendees(first: 2, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { required person { id } } }
    }
  }
}
"""

PEOPLE = """
query($department: ID, $first: Int!, $after: String) {
  people(departmentId: $department, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id name } }
  }
}
"""


async def every_page(
    api: SubgraphClient,
    query: str,
    variables: dict[str, Any],
    connection: Callable[[dict[str, Any]], dict[str, Any]],
) -> list[tuple[int, int | None, list[Any]]]:
    """Each page of a list, following the cursors: its size, total and nodes."""
    pages = []
    after = None
    while True:
        data = await api.execute(query, {**variables, "after": after}, caller=LI)
        found = connection(data)
        pages.append((len(found["edges"]), found["totalCount"], nodes(found)))
        if not found["pageInfo"]["hasNextPage"]:
            return pages
        after = found["pageInfo"]["endCursor"]


async def test_history_pages_oldest_first_and_decisions_are_its_approvals(
    api: SubgraphClient,
) -> None:
    request = await active_request(api)
    pages = await every_page(api, HISTORY, {"id": request["id"]}, lambda d: d["request"]["history"])
    assert [(size, total) for size, total, _ in pages] == [(3, 4), (1, 4)]
    actions = [entry["action"] for _, _, found in pages for entry in found]
    assert actions == ["CREATED", "SUBMITTED", "APPROVED", "ACTIVATED"]
    data = await api.execute(HISTORY, {"id": request["id"]}, caller=LI)
    decisions = data["request"]["decisions"]
    assert (decisions["totalCount"], nodes(decisions)) == (1, [{"action": "APPROVED"}])


async def test_attendees_page_required_first_then_by_person(api: SubgraphClient) -> None:
    rid = (await active_request(api))["id"]
    invited = [
        {"personId": "zhao", "required": False},
        {"personId": "wang"},
        {"personId": "bob", "required": False},
        {"personId": "li"},
        {"personId": "anna", "required": False},
    ]
    payload = await run(api, SCHEDULE, CHEN, **meeting_input(rid, attendees=invited))
    assert payload["userErrors"] == []
    meeting_id = payload["meeting"]["id"]
    pages = await every_page(
        api, ATTENDEES, {"id": meeting_id}, lambda d: d["meeting"]["attendees"]
    )
    assert [(size, total) for size, total, _ in pages] == [(2, 5), (2, 5), (1, 5)]
    order = [(a["required"], a["person"]["id"]) for _, _, found in pages for a in found]
    assert order == [
        (True, "li"),
        (True, "wang"),
        (False, "anna"),
        (False, "bob"),
        (False, "zhao"),
    ]


async def test_people_page_by_name_then_id(api: SubgraphClient) -> None:
    async with api.runtime.pool.acquire() as conn:  # two people of the same name
        for person_id in ("li-2", "li-3"):
            await conn.execute(
                "INSERT INTO people (id, name, email, department_id, region_id, time_zone)"
                " SELECT $1, name, $1 || '@x.example', department_id, region_id, time_zone"
                " FROM people WHERE id = 'li'",
                person_id,
            )
    whole = await api.execute(PEOPLE, {"first": 100}, caller=LI)
    everyone = nodes(whole["people"])
    assert everyone == sorted(everyone, key=lambda p: (p["name"], p["id"]))
    pages = await every_page(api, PEOPLE, {"first": 2}, lambda d: d["people"])
    assert [p for _, _, found in pages for p in found] == everyone
    assert {total for _, total, _ in pages} == {len(everyone)}
    mkt = await every_page(api, PEOPLE, {"first": 2, "department": "mkt"}, lambda d: d["people"])
    names = [p["id"] for _, _, found in mkt for p in found]
    assert {"li", "li-2", "li-3", "chen"} <= set(names)
    assert "wang" not in names
