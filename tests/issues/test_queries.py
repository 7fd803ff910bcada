"""Reading issues: the list filter, the issues of a task through federation, timelines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.issues.models import IssueAction
from services.issues.repository import add_timeline
from tests.issues.helpers import LI, PMO, WANG, ZHAO, report, seed_request
from tests.support import Caller, SubgraphClient, nodes

FILTERED = """
query($filter: IssueFilter) {
  issues(filter: $filter, first: 10) { edges { node { id status urgent } } }
}
"""

TASK_ISSUES = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on Task { id issues { totalCount edges { node { id task { id } } } } }
  }
}
"""


async def ids(api: SubgraphClient, **filter_: object) -> list[str]:
    data = await api.execute(FILTERED, {"filter": filter_}, caller=LI)
    return [e["node"]["id"] for e in data["issues"]["edges"]]


async def test_issues_filter_by_status_urgency_and_request(issues: SubgraphClient) -> None:
    calm = await report(issues)
    urgent = await report(issues, urgent=True)
    assert await ids(issues, urgent=True) == [urgent["id"]]
    assert await ids(issues, urgent=False) == [calm["id"]]
    assert await ids(issues, statuses=["REPORTED"]) == [urgent["id"], calm["id"]]
    assert await ids(issues, statuses=["ARCHIVED"]) == []
    assert await ids(issues, requestId="cr1", responsibleDepartmentId="mkt") == [
        urgent["id"],
        calm["id"],
    ]
    assert await ids(issues, requestId="cr2") == []


COUNTED = """
query($filter: IssueFilter, $first: Int!, $after: String) {
  issues(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id } }
  }
}
"""


async def test_issues_total_count_is_the_whole_filtered_visible_list(
    issues: SubgraphClient,
) -> None:
    await seed_request(issues, "cr2", lead="legal", participants=())
    for _ in range(3):
        await report(issues)
    await report(issues, urgent=True)
    await report(issues, ZHAO, requestId="cr2")  # on a request li's department has no part in

    async def page(caller: Caller, first: int, after: str | None = None, **filter_: object) -> Any:
        variables = {"filter": filter_, "first": first, "after": after}
        return (await issues.execute(COUNTED, variables, caller=caller))["issues"]

    first = await page(LI, 2, urgent=False)
    assert (first["totalCount"], len(first["edges"])) == (3, 2)
    rest = await page(LI, 2, first["pageInfo"]["endCursor"], urgent=False)
    assert (rest["totalCount"], len(rest["edges"])) == (3, 1)
    assert (await page(LI, 1))["totalCount"] == 4
    assert (await page(LI, 1, statuses=["ARCHIVED"]))["totalCount"] == 0
    assert (await page(PMO, 1))["totalCount"] == 5
    assert (await page(ZHAO, 10))["totalCount"] == 1


def task_issues(data: dict[str, Any]) -> list[tuple[str, int, list[str]]]:
    return [
        (e["id"], e["issues"]["totalCount"], [i["id"] for i in nodes(e["issues"])])
        for e in data["_entities"]
    ]


async def test_task_issues_through_entities_respect_visibility(issues: SubgraphClient) -> None:
    await seed_request(issues, "cr2", lead="legal", participants=())
    blocked = await report(issues, taskId="t1")
    await report(issues)  # on no task
    # An issue names its task on its own: this one says t1, on a request wang does not see.
    elsewhere = await report(issues, ZHAO, requestId="cr2", taskId="t1")
    reps = [{"__typename": "Task", "id": t} for t in ("t1", "t2")]
    data = await issues.execute(TASK_ISSUES, {"reps": reps}, caller=WANG)
    assert nodes(data["_entities"][0]["issues"]) == [{"id": blocked["id"], "task": {"id": "t1"}}]
    assert task_issues(data) == [("t1", 1, [blocked["id"]]), ("t2", 0, [])]
    outsider = await issues.execute(TASK_ISSUES, {"reps": reps}, caller=ZHAO)
    assert task_issues(outsider) == [("t1", 1, [elsewhere["id"]]), ("t2", 0, [])]
    everyone = await issues.execute(TASK_ISSUES, {"reps": reps}, caller=PMO)
    assert task_issues(everyone) == [("t1", 2, [elsewhere["id"], blocked["id"]]), ("t2", 0, [])]


TIMELINE = """
query($id: ID!, $after: String) {
  issue(id: $id) {
    timeline(first: 2, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { action note } }
    }
  }
}
"""


async def test_timeline_pages_oldest_first(issues: SubgraphClient) -> None:
    issue = await report(issues)
    async with issues.runtime.pool.acquire() as conn:
        for n in range(4):
            await add_timeline(
                conn,
                issue["id"],
                datetime.now(UTC),
                IssueAction.SLA_WARNING,
                actor_id=None,
                note=f"warning {n}",
            )
    notes: list[str] = []
    pages = []
    after = None
    while True:
        data = await issues.execute(TIMELINE, {"id": issue["id"], "after": after}, caller=LI)
        timeline = data["issue"]["timeline"]
        pages.append((len(timeline["edges"]), timeline["totalCount"]))
        notes += [e["note"] for e in nodes(timeline)]
        if not timeline["pageInfo"]["hasNextPage"]:
            break
        after = timeline["pageInfo"]["endCursor"]
    assert pages == [(2, 5), (2, 5), (1, 5)]
    assert notes[1:] == [f"warning {n}" for n in range(4)]
    assert [e["action"] for e in nodes(data["issue"]["timeline"])] == ["SLA_WARNING"]
