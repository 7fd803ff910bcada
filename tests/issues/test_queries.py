"""Reading issues: the list filter, and the issues of a task through federation."""

from __future__ import annotations

from tests.issues.helpers import LI, WANG, ZHAO, report
from tests.support import SubgraphClient

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
