"""Authorization review: a responsible department from outside the request sees the issue it
must plan and resolve, through every read path (the mutations already let it act)."""

from __future__ import annotations

from tests.issues.helpers import LI, ZHAO, report, seed_directory
from tests.support import Caller, SubgraphClient

OPS = Caller("ops-engineer", departments=("ops",))
"""A member of Berlin operations; ops takes no part in request ``cr1`` (mkt, rd)."""

REASSIGN = """
mutation($input: ReassignIssueInput!) {
  reassignIssue(input: $input) { issue { id } userErrors { code } }
}"""
ISSUE = "query($id: ID!) { issue(id: $id) { id responsibleDepartment { id } } }"
ISSUES = "{ issues { edges { node { id } } } }"
ENTITIES = """
query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Issue { id } } }
"""


async def _reassigned_to_ops(issues: SubgraphClient) -> str:
    await seed_directory(issues)
    issue_id: str = (await report(issues, caller=LI))["id"]
    data = await issues.execute(
        REASSIGN, {"input": {"issueId": issue_id, "responsibleDepartmentId": "ops"}}, caller=LI
    )
    assert data["reassignIssue"]["userErrors"] == []
    return issue_id


async def test_the_responsible_department_sees_the_issue_it_was_handed(
    issues: SubgraphClient,
) -> None:
    issue_id = await _reassigned_to_ops(issues)
    one = await issues.execute(ISSUE, {"id": issue_id}, caller=OPS)
    assert one["issue"] == {"id": issue_id, "responsibleDepartment": {"id": "ops"}}
    listed = await issues.execute(ISSUES, caller=OPS)
    assert [e["node"]["id"] for e in listed["issues"]["edges"]] == [issue_id]
    reps = [{"__typename": "Issue", "id": issue_id}]
    entities = await issues.execute(ENTITIES, {"reps": reps}, caller=OPS)
    assert entities["_entities"] == [{"id": issue_id}]


async def test_departments_outside_request_and_issue_still_see_nothing(
    issues: SubgraphClient,
) -> None:
    issue_id = await _reassigned_to_ops(issues)
    assert (await issues.execute(ISSUE, {"id": issue_id}, caller=ZHAO))["issue"] is None
    assert (await issues.execute(ISSUES, caller=ZHAO))["issues"]["edges"] == []
    reps = [{"__typename": "Issue", "id": issue_id}]
    assert (await issues.execute(ENTITIES, {"reps": reps}, caller=ZHAO))["_entities"] == [None]
