"""Reading issues: the list filter, and the issues of a task through federation."""

from __future__ import annotations

from typing import Any

from tests.issues.helpers import LI, PMO, WANG, ZHAO, report, seed_request
from tests.support import Caller, SubgraphClient

FILTERED = """
query($filter: IssueFilter) {
  issues(filter: $filter, first: 10) { edges { node { id status urgent } } }
}
"""

TASK_ISSUES = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) { ... on Task { id issues { id task { id } } } }
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


async def test_task_issues_through_entities_respect_visibility(issues: SubgraphClient) -> None:
    blocked = await report(issues, taskId="t1")
    await report(issues)  # on no task
    reps = [{"__typename": "Task", "id": t} for t in ("t1", "t2")]
    data = await issues.execute(TASK_ISSUES, {"reps": reps}, caller=WANG)
    assert data["_entities"] == [
        {"id": "t1", "issues": [{"id": blocked["id"], "task": {"id": "t1"}}]},
        {"id": "t2", "issues": []},
    ]
    outsider = await issues.execute(TASK_ISSUES, {"reps": reps}, caller=ZHAO)
    assert [e["issues"] for e in outsider["_entities"]] == [[], []]
