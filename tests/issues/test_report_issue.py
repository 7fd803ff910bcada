"""The issues subgraph's first slice: reporting issues, who sees them, requests' issues."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.issues.helpers import (
    LI,
    PMO,
    REPORT,
    WANG,
    ZHAO,
    events_of,
    issue_input,
    outbox_types,
    report,
    seed_directory,
    seed_request,
)
from tests.support import Caller, SubgraphClient, nodes


async def test_report_stores_issue_and_clock_arms_timer_and_emits_event(
    issues: SubgraphClient,
) -> None:
    issue = await report(issues, urgent=True)
    assert issue["code"].startswith("ISS-")
    assert issue["code"].endswith("-0001")
    assert (issue["status"], issue["severity"], issue["urgent"]) == ("REPORTED", "HIGH", True)
    assert issue["reporter"] == {"id": "li"}
    assert issue["leadDepartment"] == {"id": "mkt"}
    assert issue["request"] == {"id": "cr1"}
    assert issue["attemptedMeasures"] == "called the broker twice"

    response, plan = issue["slaClocks"]
    assert (response["metric"], response["state"], response["targetMinutes"]) == (
        "RESPONSE",
        "RUNNING",
        120,
    )
    # Urgent: the green channel's plan is due within 2 hours, counted 24x7.
    assert (plan["metric"], plan["targetMinutes"], plan["calendar"]) == (
        "PLAN",
        120,
        "AROUND_THE_CLOCK",
    )
    started, due = (
        datetime.fromisoformat(response["startedAt"]),
        datetime.fromisoformat(response["dueAt"]),
    )
    assert started == datetime.fromisoformat(issue["createdAt"])
    assert due - started == timedelta(minutes=120)
    assert (response["pausedMinutes"], response["metAt"], response["breachedAt"]) == (0, None, None)
    assert 118 <= response["remainingMinutes"] <= 120

    pool = issues.runtime.pool
    clock_id = await pool.fetchval(
        "SELECT id FROM sla_clocks WHERE issue_id = $1 AND metric = 'RESPONSE'", issue["id"]
    )
    timer = await pool.fetchrow(
        "SELECT kind, due_at, fired_at FROM timers WHERE subject = $1", clock_id
    )
    assert timer is not None
    assert (timer["kind"], timer["due_at"], timer["fired_at"]) == ("sla.clock", due, None)
    warnings = await pool.fetch(
        "SELECT subject, due_at FROM timers WHERE kind = 'sla.warning' AND subject LIKE $1"
        " ORDER BY due_at",
        f"{clock_id}:%",
    )
    assert [(w["subject"], w["due_at"] - started) for w in warnings] == [
        (f"{clock_id}:50", timedelta(minutes=60)),
        (f"{clock_id}:75", timedelta(minutes=90)),
    ]

    envelope = await pool.fetchval(
        "SELECT envelope FROM outbox WHERE event_type = 'issues.issue.reported'"
    )
    assert envelope["subject"] == issue["id"]
    assert envelope["departments"] == ["mkt", "rd"]
    assert envelope["data"]["lead_department_id"] == "mkt"
    assert envelope["data"]["code"] == issue["code"]


async def test_codes_count_up(issues: SubgraphClient) -> None:
    first, second = await report(issues), await report(issues, caller=WANG)
    assert (first["code"][-4:], second["code"][-4:]) == ("0001", "0002")


@pytest.mark.parametrize(
    ("changes", "caller", "expected"),
    [
        ({"title": "   "}, LI, [("title", "INVALID")]),
        ({"requestId": "unknown"}, LI, [("requestId", "REQUEST_NOT_FOUND")]),
        ({}, ZHAO, [("requestId", "FORBIDDEN")]),
        ({"title": ""}, ZHAO, [("title", "INVALID"), ("requestId", "FORBIDDEN")]),
        ({"leadDepartmentId": "nowhere"}, LI, [("leadDepartmentId", "DEPARTMENT_NOT_FOUND")]),
        ({"leadDepartmentId": "ops"}, LI, [("leadDepartmentId", "LEAD_NOT_IN_REQUEST")]),
    ],
)
async def test_refusals_store_nothing(
    issues: SubgraphClient,
    changes: dict[str, Any],
    caller: Caller,
    expected: list[tuple[str, str]],
) -> None:
    await seed_directory(issues)  # ops is in the directory but takes no part in cr1
    before = await outbox_types(issues)
    data = await issues.execute(REPORT, {"input": issue_input(**changes)}, caller=caller)
    payload = data["reportIssue"]
    assert payload["issue"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == expected
    pool = issues.runtime.pool
    for table in ("issues", "sla_clocks", "timers", "issue_code_counters", "issue_timeline"):
        assert await pool.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    assert await outbox_types(issues) == before


async def test_the_reporter_may_name_a_lead_department_taking_part(
    issues: SubgraphClient,
) -> None:
    await seed_directory(issues)
    issue = await report(issues, leadDepartmentId="rd")
    assert (issue["leadDepartment"], issue["responsibleDepartment"]) == ({"id": "rd"}, {"id": "rd"})
    [reported] = await events_of(issues, "issues.issue.reported")
    assert reported["data"]["lead_department_id"] == "rd"
    default = await report(issues)
    assert default["leadDepartment"] == {"id": "mkt"}  # the request's lead


async def test_unknown_request_message_says_copies_lag(issues: SubgraphClient) -> None:
    data = await issues.execute(REPORT, {"input": issue_input(requestId="nope")}, caller=LI)
    assert "may lag" in data["reportIssue"]["userErrors"][0]["message"]


async def test_pmo_reports_on_any_request(issues: SubgraphClient) -> None:
    issue = await report(issues, caller=PMO)
    assert issue["leadDepartment"] == {"id": "mkt"}


ISSUE = "query($id: ID!) { issue(id: $id) { id code } }"
ISSUES = """
query($first: Int!, $after: String) {
  issues(first: $first, after: $after) {
    edges { cursor node { id } } pageInfo { hasNextPage endCursor }
  }
}
"""


async def listed(api: SubgraphClient, caller: Caller, first: int = 10) -> list[str]:
    data = await api.execute(ISSUES, {"first": first}, caller=caller)
    return [e["node"]["id"] for e in data["issues"]["edges"]]


async def test_issues_are_visible_only_to_taking_part_departments(
    issues: SubgraphClient,
) -> None:
    await seed_request(issues, "cr2", lead="legal", participants=("fin",))
    on_cr1 = await report(issues)
    on_cr2 = await report(issues, caller=ZHAO, requestId="cr2")

    for caller, visible in ((LI, on_cr1), (WANG, on_cr1), (ZHAO, on_cr2)):
        assert await listed(issues, caller) == [visible["id"]]
        mine = await issues.execute(ISSUE, {"id": visible["id"]}, caller=caller)
        assert mine["issue"]["id"] == visible["id"]
    hidden = await issues.execute(ISSUE, {"id": on_cr2["id"]}, caller=LI)
    assert hidden["issue"] is None
    assert await listed(issues, PMO) == [on_cr2["id"], on_cr1["id"]]  # newest first
    assert await listed(issues, Caller("nobody")) == []


async def test_issues_page_with_cursor(issues: SubgraphClient) -> None:
    ids = [(await report(issues))["id"] for _ in range(3)]
    first = await issues.execute(ISSUES, {"first": 2}, caller=LI)
    page = first["issues"]
    assert [e["node"]["id"] for e in page["edges"]] == ids[:0:-1]
    assert page["pageInfo"]["hasNextPage"] is True
    after = page["pageInfo"]["endCursor"]
    rest = await issues.execute(ISSUES, {"first": 2, "after": after}, caller=LI)
    assert [e["node"]["id"] for e in rest["issues"]["edges"]] == ids[:1]
    assert rest["issues"]["pageInfo"]["hasNextPage"] is False


async def test_first_is_capped(issues: SubgraphClient) -> None:
    response = await issues.post(ISSUES, {"first": 1000}, caller=LI)
    assert "`first` must be between 1 and" in response.json()["errors"][0]["message"]


ENTITIES = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on CollabRequest { id issues { edges { node { id code } } } }
  }
}
"""


async def test_collab_request_issues_through_entities(issues: SubgraphClient) -> None:
    await seed_request(issues, "cr2", lead="legal", participants=("fin",))
    older, newer = await report(issues), await report(issues)
    reps = [{"__typename": "CollabRequest", "id": i} for i in ("cr1", "cr2", "unknown")]

    data = await issues.execute(ENTITIES, {"reps": reps}, caller=LI)
    by_request = {e["id"]: [i["id"] for i in nodes(e["issues"])] for e in data["_entities"]}
    assert by_request == {"cr1": [newer["id"], older["id"]], "cr2": [], "unknown": []}

    outsider = await issues.execute(ENTITIES, {"reps": reps}, caller=ZHAO)
    assert all(e["issues"]["edges"] == [] for e in outsider["_entities"])


async def test_issue_entity_respects_visibility(issues: SubgraphClient) -> None:
    issue = await report(issues)
    query = "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Issue { code } } }"
    reps = [{"__typename": "Issue", "id": issue["id"]}]
    assert (await issues.execute(query, {"reps": reps}, caller=WANG))["_entities"] == [
        {"code": issue["code"]}
    ]
    assert (await issues.execute(query, {"reps": reps}, caller=ZHAO))["_entities"] == [None]
