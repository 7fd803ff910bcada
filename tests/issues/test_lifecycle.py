"""The issue lifecycle through GraphQL: the closed loop, who may make each move, refusals."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.issues.helpers import (
    LI,
    PMO,
    WANG,
    ZHAO,
    events_of,
    report,
    seed_directory,
    seed_request,
)
from tests.support import Caller, SubgraphClient, nodes

SUN = Caller("sun", departments=("rd",))
"""An engineer of the responsible department (R&D)."""

ISSUE_FIELDS = """
  id status plan resolution escalationLevel
  responsibleDepartment { id } owner { id } reportingDepartment { id } region { id }
  slaClocks { metric state metAt }
  timeline { edges { node { action fromStatus toStatus note actor { id } at } } }
"""


def mutation(name: str, input_type: str) -> str:
    return f"""
    mutation($input: {input_type}!) {{
      {name}(input: $input) {{ issue {{ {ISSUE_FIELDS} }} userErrors {{ field message code }} }}
    }}"""


ACK = mutation("acknowledgeIssue", "AcknowledgeIssueInput")
PLAN = mutation("proposePlan", "ProposePlanInput")
START = mutation("startWork", "IssueMoveInput")
WAIT = mutation("waitForReporter", "IssueMoveInput")
RESUME = mutation("resumeIssue", "IssueMoveInput")
RESOLVE = mutation("resolveIssue", "ResolveIssueInput")
VERIFY = mutation("verifyResolution", "VerifyResolutionInput")
ARCHIVE = mutation("archiveIssue", "IssueMoveInput")
REASSIGN = mutation("reassignIssue", "ReassignIssueInput")


async def call(
    api: SubgraphClient, query: str, caller: Caller, **input_: Any
) -> tuple[dict[str, Any] | None, list[tuple[str | None, str]]]:
    data = await api.execute(query, {"input": input_}, caller=caller)
    payload = next(iter(data.values()))
    return payload["issue"], [(e["field"], e["code"]) for e in payload["userErrors"]]


async def ok(api: SubgraphClient, query: str, caller: Caller, **input_: Any) -> dict[str, Any]:
    issue, errors = await call(api, query, caller, **input_)
    assert errors == []
    assert issue is not None
    return issue


@pytest.fixture
async def issue(issues: SubgraphClient) -> dict[str, Any]:
    """An issue on ``cr1`` (lead: mkt) reported by an R&D engineer, directory seeded."""
    await seed_directory(issues)
    return await report(issues, caller=SUN)


async def in_progress(api: SubgraphClient, issue_id: str) -> dict[str, Any]:
    await ok(api, ACK, LI, issueId=issue_id, responsibleDepartmentId="rd", ownerId="sun")
    await ok(api, PLAN, SUN, issueId=issue_id, plan="re-file the customs papers")
    return await ok(api, START, SUN, issueId=issue_id)


async def test_closed_loop_records_every_step_with_actor(
    issues: SubgraphClient, issue: dict[str, Any]
) -> None:
    assert issue["reportingDepartment"] == {"id": "rd"}
    acked = await ok(
        issues, ACK, LI, issueId=issue["id"], responsibleDepartmentId="rd", ownerId="sun"
    )
    assert (acked["status"], acked["responsibleDepartment"], acked["owner"]) == (
        "ACKNOWLEDGED",
        {"id": "rd"},
        {"id": "sun"},
    )
    assert [c["state"] for c in acked["slaClocks"]] == ["MET", "RUNNING"]
    planned = await ok(issues, PLAN, SUN, issueId=issue["id"], plan="re-file the papers")
    assert (planned["plan"], [c["state"] for c in planned["slaClocks"]]) == (
        "re-file the papers",
        ["MET", "MET"],
    )
    await ok(issues, START, SUN, issueId=issue["id"])
    resolved = await ok(issues, RESOLVE, SUN, issueId=issue["id"], resolution="units released")
    assert resolved["resolution"] == "units released"
    await ok(issues, VERIFY, LI, issueId=issue["id"], accepted=True, comment="checked")
    archived = await ok(issues, ARCHIVE, LI, issueId=issue["id"])

    steps = [
        (e["action"], e["fromStatus"], e["toStatus"], e["actor"]["id"])
        for e in nodes(archived["timeline"])
    ]
    assert steps == [
        ("REPORTED", None, "REPORTED", "sun"),
        ("ACKNOWLEDGED", "REPORTED", "ACKNOWLEDGED", "li"),
        ("PLAN_PROPOSED", "ACKNOWLEDGED", "PLAN_PROPOSED", "sun"),
        ("WORK_STARTED", "PLAN_PROPOSED", "IN_PROGRESS", "sun"),
        ("RESOLVED", "IN_PROGRESS", "RESOLVED", "sun"),
        ("VERIFIED", "RESOLVED", "VERIFIED", "li"),
        ("ARCHIVED", "VERIFIED", "ARCHIVED", "li"),
    ]
    assert all(e["at"] for e in nodes(archived["timeline"]))
    types = [
        "issues.issue.acknowledged",
        "issues.issue.plan_proposed",
        "issues.issue.work_started",
        "issues.issue.resolved",
        "issues.issue.verified",
        "issues.issue.archived",
    ]
    for type_ in types:
        [event] = await events_of(issues, type_)
        assert event["subject"] == issue["id"]
    [verified] = await events_of(issues, "issues.issue.verified")
    assert verified["data"]["responsible_department_id"] == "rd"
    assert verified["data"]["owner_id"] == "sun"


async def test_failed_verification_returns_to_work_with_the_reason(
    issues: SubgraphClient, issue: dict[str, Any]
) -> None:
    await in_progress(issues, issue["id"])
    await ok(issues, RESOLVE, SUN, issueId=issue["id"], resolution="units released")
    reopened = await ok(
        issues, VERIFY, LI, issueId=issue["id"], accepted=False, comment="still stuck at port"
    )
    assert reopened["status"] == "IN_PROGRESS"
    last = nodes(reopened["timeline"])[-1]
    assert (last["action"], last["note"], last["toStatus"]) == (
        "REOPENED",
        "still stuck at port",
        "IN_PROGRESS",
    )
    [event] = await events_of(issues, "issues.issue.reopened")
    assert event["data"]["comment"] == "still stuck at port"


async def test_waiting_returns_to_the_status_it_interrupted(
    issues: SubgraphClient, issue: dict[str, Any]
) -> None:
    await ok(issues, ACK, LI, issueId=issue["id"])
    waiting = await ok(issues, WAIT, LI, issueId=issue["id"], comment="need the bill of lading")
    assert waiting["status"] == "WAITING"
    assert [c["state"] for c in waiting["slaClocks"]] == ["MET", "PAUSED"]
    # The reporter answering resumes it.
    back = await ok(issues, RESUME, SUN, issueId=issue["id"])
    assert back["status"] == "ACKNOWLEDGED"
    assert [c["state"] for c in back["slaClocks"]] == ["MET", "RUNNING"]


async def test_reassign_names_a_new_department_and_notes_it(
    issues: SubgraphClient, issue: dict[str, Any]
) -> None:
    await ok(issues, ACK, LI, issueId=issue["id"], responsibleDepartmentId="rd")
    moved = await ok(issues, REASSIGN, LI, issueId=issue["id"], responsibleDepartmentId="ops")
    assert moved["responsibleDepartment"] == {"id": "ops"}
    assert moved["owner"] is None
    assert nodes(moved["timeline"])[-1]["note"].startswith("responsible: ops")
    [event] = await events_of(issues, "issues.issue.reassigned")
    assert event["data"]["responsible_department_id"] == "ops"
    assert event["data"]["previous_responsible_department_id"] == "rd"


async def snapshot(api: SubgraphClient, issue_id: str) -> Any:
    pool = api.runtime.pool
    return (
        await pool.fetchrow("SELECT * FROM issues WHERE id = $1", issue_id),
        await pool.fetch("SELECT * FROM sla_clocks WHERE issue_id = $1 ORDER BY id", issue_id),
        await pool.fetchval("SELECT count(*) FROM issue_timeline"),
        await pool.fetchval("SELECT count(*) FROM outbox"),
        await pool.fetch("SELECT kind, subject, version FROM timers ORDER BY subject"),
    )


ROLE_REFUSALS = [
    (ACK, WANG, {}, "LEAD_DEPARTMENT_ONLY", "only the lead department (mkt) may acknowledge"),
    (ACK, PMO, {}, "LEAD_DEPARTMENT_ONLY", "only the lead department (mkt) may acknowledge"),
    (VERIFY, WANG, {"accepted": True}, "LEAD_DEPARTMENT_ONLY", "may verify"),
    (ARCHIVE, SUN, {}, "LEAD_DEPARTMENT_ONLY", "may archive"),
    (REASSIGN, SUN, {"responsibleDepartmentId": "ops"}, "LEAD_DEPARTMENT_ONLY", "may reassign"),
    (PLAN, LI, {"plan": "p"}, "RESPONSIBLE_DEPARTMENT_ONLY", "department (rd) may propose a plan"),
    (START, LI, {}, "RESPONSIBLE_DEPARTMENT_ONLY", "may start work"),
    (RESOLVE, LI, {"resolution": "r"}, "RESPONSIBLE_DEPARTMENT_ONLY", "may resolve"),
    (WAIT, ZHAO, {"comment": "x"}, "NOT_FOUND", "does not exist"),
]


@pytest.mark.parametrize(("query", "caller", "extra", "code", "message"), ROLE_REFUSALS)
async def test_role_rules_refuse_and_change_nothing(
    issues: SubgraphClient,
    issue: dict[str, Any],
    query: str,
    caller: Caller,
    extra: dict[str, Any],
    code: str,
    message: str,
) -> None:
    await ok(issues, ACK, LI, issueId=issue["id"], responsibleDepartmentId="rd")
    before = await snapshot(issues, issue["id"])
    data = await issues.execute(query, {"input": {"issueId": issue["id"], **extra}}, caller=caller)
    payload = next(iter(data.values()))
    assert payload["issue"] is None
    # The role rule comes first; a move also out of order says so as well.
    assert payload["userErrors"][0]["code"] == code
    assert message in payload["userErrors"][0]["message"]
    assert await snapshot(issues, issue["id"]) == before


STATUS_REFUSALS = [
    (ACK, LI, {}),
    (START, SUN, {}),
    (RESOLVE, SUN, {"resolution": "done"}),
    (VERIFY, LI, {"accepted": True}),
    (ARCHIVE, LI, {}),
    (RESUME, LI, {}),
]


@pytest.mark.parametrize(("query", "caller", "extra"), STATUS_REFUSALS)
async def test_moves_out_of_order_are_refused_and_change_nothing(
    issues: SubgraphClient,
    issue: dict[str, Any],
    query: str,
    caller: Caller,
    extra: dict[str, Any],
) -> None:
    await ok(issues, ACK, LI, issueId=issue["id"], responsibleDepartmentId="rd")
    before = await snapshot(issues, issue["id"])
    _, errors = await call(issues, query, caller, issueId=issue["id"], **extra)
    assert errors == [(None, "INVALID_TRANSITION")]
    assert await snapshot(issues, issue["id"]) == before


async def refused(
    api: SubgraphClient, query: str, caller: Caller, issue_id: str, **input_: Any
) -> list[tuple[str | None, str]]:
    """The userErrors of a move that must be refused, having checked it changed nothing."""
    before = await snapshot(api, issue_id)
    issue, errors = await call(api, query, caller, issueId=issue_id, **input_)
    assert issue is None
    assert await snapshot(api, issue_id) == before
    return errors


OTTO = Caller("otto", departments=("ops",))
"""Of a department taking part in the request, but not in the issue."""


async def test_a_non_party_who_sees_the_issue_may_not_put_it_on_hold_or_resume_it(
    issues: SubgraphClient,
) -> None:
    await seed_directory(issues)
    await seed_request(issues, "cr3", lead="mkt", participants=("rd", "ops"))
    issue = await report(issues, caller=SUN, requestId="cr3")
    await ok(issues, ACK, LI, issueId=issue["id"], responsibleDepartmentId="rd")
    seen = await issues.execute(QUERY_STATUS, {"id": issue["id"]}, caller=OTTO)
    assert seen["issue"] == {"status": "ACKNOWLEDGED"}
    errors = await refused(issues, WAIT, OTTO, issue["id"], comment="x")
    assert errors == [(None, "ISSUE_PARTIES_ONLY")]
    await ok(issues, WAIT, SUN, issueId=issue["id"], comment="papers")
    assert await refused(issues, RESUME, OTTO, issue["id"]) == [(None, "ISSUE_PARTIES_ONLY")]


QUERY_STATUS = "query($id: ID!) { issue(id: $id) { status } }"


async def test_plan_and_hold_before_acknowledgement_are_refused(
    issues: SubgraphClient, issue: dict[str, Any]
) -> None:
    """Before the lead acknowledges, marketing (the lead) is also the responsible one."""
    plan = await refused(issues, PLAN, LI, issue["id"], plan="new broker")
    assert plan == [(None, "INVALID_TRANSITION")]
    hold = await refused(issues, WAIT, LI, issue["id"], comment="papers")
    assert hold == [(None, "INVALID_TRANSITION")]


async def test_a_second_plan_and_holding_twice_are_refused(
    issues: SubgraphClient, issue: dict[str, Any]
) -> None:
    await ok(issues, ACK, LI, issueId=issue["id"], responsibleDepartmentId="rd")
    await ok(issues, PLAN, SUN, issueId=issue["id"], plan="re-file the customs papers")
    again = await refused(issues, PLAN, SUN, issue["id"], plan="another")
    assert again == [(None, "INVALID_TRANSITION")]
    await ok(issues, WAIT, SUN, issueId=issue["id"], comment="papers")
    twice = await refused(issues, WAIT, SUN, issue["id"], comment="again")
    assert twice == [(None, "INVALID_TRANSITION")]


INPUT_REFUSALS = [
    (PLAN, SUN, {"plan": "  "}, [("plan", "INVALID")]),
    (WAIT, SUN, {"comment": ""}, [("comment", "INVALID")]),
    (REASSIGN, LI, {"responsibleDepartmentId": "nowhere"}, [
        ("responsibleDepartmentId", "DEPARTMENT_NOT_FOUND")
    ]),
    (REASSIGN, LI, {"responsibleDepartmentId": "ops", "ownerId": "sun"}, [
        ("ownerId", "OWNER_NOT_IN_DEPARTMENT")
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("query", "caller", "extra", "expected"), INPUT_REFUSALS)
async def test_invalid_input_is_refused_and_changes_nothing(
    issues: SubgraphClient,
    issue: dict[str, Any],
    query: str,
    caller: Caller,
    extra: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    await ok(issues, ACK, LI, issueId=issue["id"], responsibleDepartmentId="rd")
    before = await snapshot(issues, issue["id"])
    _, errors = await call(issues, query, caller, issueId=issue["id"], **extra)
    assert errors == expected
    assert await snapshot(issues, issue["id"]) == before


async def test_rejecting_a_resolution_needs_a_reason(
    issues: SubgraphClient, issue: dict[str, Any]
) -> None:
    await in_progress(issues, issue["id"])
    await ok(issues, RESOLVE, SUN, issueId=issue["id"], resolution="released")
    before = await snapshot(issues, issue["id"])
    _, errors = await call(issues, VERIFY, LI, issueId=issue["id"], accepted=False)
    assert errors == [("comment", "INVALID")]
    assert await snapshot(issues, issue["id"]) == before


async def test_two_verifications_at_once_one_wins_the_other_is_refused(
    issues: SubgraphClient, issue: dict[str, Any]
) -> None:
    await in_progress(issues, issue["id"])
    await ok(issues, RESOLVE, SUN, issueId=issue["id"], resolution="released")
    li_too = Caller("li2", departments=("mkt",))
    results = await asyncio.gather(
        call(issues, VERIFY, LI, issueId=issue["id"], accepted=True),
        call(issues, VERIFY, li_too, issueId=issue["id"], accepted=False, comment="not yet"),
    )
    outcomes = sorted((issue_ is not None, tuple(errors)) for issue_, errors in results)
    assert outcomes == [(False, ((None, "INVALID_TRANSITION"),)), (True, ())]
    winner = next(i for i, _ in results if i is not None)
    rows = await issues.runtime.pool.fetch(
        "SELECT action FROM issue_timeline WHERE action IN ('VERIFIED', 'REOPENED')"
    )
    assert len(rows) == 1
    assert winner["status"] in ("VERIFIED", "IN_PROGRESS")


async def test_unknown_issue_is_not_found(issues: SubgraphClient) -> None:
    _, errors = await call(issues, ACK, LI, issueId="nope")
    assert errors == [("issueId", "NOT_FOUND")]
