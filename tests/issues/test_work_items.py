"""Work items of issues (services/issues/work_items.py): the derivation, then each kind
entering and leaving through the outbox of real moves, imports and calendar changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.issues.models import (
    Issue,
    IssueStatus,
    Severity,
    SlaClock,
    SlaClockState,
    SlaMetric,
)
from services.issues.sla.alerts import WARNING_TIMER
from services.issues.work_items import IssueWork, TimedClock, issue_items
from shared.calendars import AroundTheClock
from tests.issues.helpers import (
    BERLIN_OFFICE,
    LI,
    clock_of,
    report,
    seed_directory,
    seed_region,
)
from tests.issues.test_issue_log_spreadsheet import EN_HEADER, historical_row, upload, workbook
from tests.issues.test_lifecycle import (
    ACK,
    PLAN,
    REASSIGN,
    RESOLVE,
    RESUME,
    START,
    SUN,
    VERIFY,
    WAIT,
    ok,
)
from tests.support import Caller, SubgraphClient

# --- derivation -----------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ISSUE = Issue(
    id="i1",
    code="ISS-2026-0001",
    request_id="cr1",
    task_id=None,
    title="Customs hold",
    description="",
    impact="",
    severity=Severity.HIGH,
    urgent=False,
    status=IssueStatus.REPORTED,
    reporter_id="sun",
    lead_department_id="mkt",
    attempted_measures="",
    created_at=T0,
    updated_at=T0,
    responsible_department_id="rd",
)


def clock(metric: SlaMetric, minutes: int, **changes: Any) -> TimedClock:
    """A 24x7 clock started at T0 with warnings at 50 and 75 %."""
    base = SlaClock(
        id=f"c-{metric.value}",
        issue_id="i1",
        metric=metric,
        target_minutes=minutes,
        started_at=T0,
        due_at=T0 + timedelta(minutes=minutes),
        paused_minutes=0,
        paused_at=None,
        met_at=None,
        breached_at=None,
        state=SlaClockState.RUNNING,
        segment_started_at=T0,
    )
    return TimedClock(replace(base, **changes), AroundTheClock())


RESPONSE = clock(SlaMetric.RESPONSE, 120)
PLAN_CLOCK = clock(SlaMetric.PLAN, 1440)


def only(issue: Issue, *clocks: TimedClock) -> dict[str, Any]:
    [item] = issue_items(IssueWork(issue, clocks))
    return item.model_dump()


def test_a_reported_issue_is_the_lead_departments_to_acknowledge_on_the_response_clock() -> None:
    item = only(ISSUE, RESPONSE, PLAN_CLOCK)
    expected = {
        "kind": "ACKNOWLEDGE_ISSUE",
        "role": "LEAD_DEPARTMENT",
        "department_id": "mkt",
        "person_id": None,
        "title": "ISS-2026-0001 Customs hold",
        "target": "ISSUE",
        "target_id": "i1",
        "request_id": "cr1",
        "due_at": T0 + timedelta(minutes=120),
        "at_risk_at": T0 + timedelta(minutes=60),  # the first warning, 50 %
        "has_clock": True,
        "clock_paused": False,
        "urgency": 1,
    }
    assert {k: item[k] for k in expected} == expected


def test_the_plan_is_the_owners_if_named_else_the_responsible_departments() -> None:
    acknowledged = replace(ISSUE, status=IssueStatus.ACKNOWLEDGED)
    item = only(acknowledged, PLAN_CLOCK)
    assert (item["kind"], item["role"], item["department_id"]) == (
        "PLAN_ISSUE",
        "RESPONSIBLE_DEPARTMENT",
        "rd",
    )
    assert (item["due_at"], item["at_risk_at"]) == (
        T0 + timedelta(minutes=1440),
        T0 + timedelta(minutes=720),
    )
    owned = only(replace(acknowledged, owner_id="sun"), PLAN_CLOCK)
    assert (owned["role"], owned["person_id"], owned["department_id"]) == ("OWNER", "sun", None)


def test_resolving_has_no_clock_and_verifying_is_the_lead_departments() -> None:
    for status in (IssueStatus.PLAN_PROPOSED, IssueStatus.IN_PROGRESS):
        item = only(replace(ISSUE, status=status))
        assert (item["kind"], item["department_id"], item["due_at"], item["has_clock"]) == (
            "RESOLVE_ISSUE",
            "rd",
            None,
            False,
        )
    verify = only(replace(ISSUE, status=IssueStatus.RESOLVED))
    assert (verify["kind"], verify["role"], verify["department_id"]) == (
        "VERIFY_ISSUE",
        "LEAD_DEPARTMENT",
        "mkt",
    )
    for status in (IssueStatus.VERIFIED, IssueStatus.ARCHIVED):
        assert issue_items(IssueWork(replace(ISSUE, status=status), ())) == []


def test_waiting_is_the_reporters_with_the_interrupted_clock_paused() -> None:
    paused = clock(SlaMetric.PLAN, 1440, paused_at=T0 + timedelta(hours=1), consumed_minutes=60)
    waiting = replace(
        ISSUE, status=IssueStatus.WAITING, status_before_waiting=IssueStatus.ACKNOWLEDGED
    )
    item = only(waiting, paused)
    assert (item["kind"], item["role"], item["person_id"]) == ("ANSWER_ISSUE", "REPORTER", "sun")
    assert (item["due_at"], item["has_clock"], item["clock_paused"]) == (
        T0 + timedelta(minutes=1440),
        True,
        True,
    )
    from_work = replace(waiting, status_before_waiting=IssueStatus.IN_PROGRESS)
    assert (only(from_work, paused)["has_clock"], only(from_work)["clock_paused"]) == (False, False)


@pytest.mark.parametrize(
    ("severity", "urgent", "urgency"),
    [
        (Severity.CRITICAL, False, 1),
        (Severity.HIGH, False, 1),
        (Severity.MEDIUM, False, 2),
        (Severity.LOW, False, 3),
        (Severity.LOW, True, 0),
    ],
)
def test_urgency_is_the_green_channel_else_the_severity(
    severity: Severity, urgent: bool, urgency: int
) -> None:
    assert only(replace(ISSUE, severity=severity, urgent=urgent))["urgency"] == urgency


# --- through the outbox ---------------------------------------------------------------------


async def items_of(api: SubgraphClient, issue_id: str) -> list[dict[str, Any]]:
    """The latest set of the issue's items the outbox carries."""
    data = await api.runtime.pool.fetchval(
        "SELECT envelope->'data' FROM outbox WHERE event_type = 'work.items.changed'"
        " AND envelope->'data'->>'source' = $1 ORDER BY seq DESC LIMIT 1",
        f"ISSUE:{issue_id}",
    )
    assert data is not None, f"no work items published for {issue_id}"
    items: list[dict[str, Any]] = data["items"]
    return items


async def holder(api: SubgraphClient, issue_id: str) -> tuple[str, str, str | None] | None:
    """(kind, role, person or department) of the issue's one item; None without one."""
    items = await items_of(api, issue_id)
    assert len(items) <= 1
    if not items:
        return None
    return items[0]["kind"], items[0]["role"], items[0]["person_id"] or items[0]["department_id"]


def moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@pytest.fixture
async def issue_id(issues: SubgraphClient) -> str:
    """An issue on ``cr1`` (lead: mkt) reported by an R&D engineer, directory seeded."""
    await seed_directory(issues)
    issue_id: str = (await report(issues, caller=SUN))["id"]
    return issue_id


async def test_each_move_hands_the_issue_on(issues: SubgraphClient, issue_id: str) -> None:
    [reported] = await items_of(issues, issue_id)
    response = await clock_of(issues, issue_id, "RESPONSE")
    warning = await issues.runtime.pool.fetchval(
        "SELECT due_at FROM timers WHERE kind = $1 AND subject = $2",
        WARNING_TIMER,
        f"{response.id}:50",
    )
    assert (reported["kind"], reported["department_id"], reported["has_clock"]) == (
        "ACKNOWLEDGE_ISSUE",
        "mkt",
        True,
    )
    assert moment(reported["due_at"]) == response.due_at
    assert moment(reported["at_risk_at"]) == warning  # at risk when the first warning goes out

    await ok(issues, ACK, LI, issueId=issue_id, responsibleDepartmentId="rd", ownerId="sun")
    [planning] = await items_of(issues, issue_id)
    assert (planning["kind"], planning["role"], planning["person_id"]) == (
        "PLAN_ISSUE",
        "OWNER",
        "sun",
    )
    assert moment(planning["due_at"]) == (await clock_of(issues, issue_id, "PLAN")).due_at

    Step = tuple[str, Caller, dict[str, Any], tuple[str, str, str] | None]
    steps: list[Step] = [
        (PLAN, SUN, {"plan": "re-file the papers"}, ("RESOLVE_ISSUE", "OWNER", "sun")),
        (START, SUN, {}, ("RESOLVE_ISSUE", "OWNER", "sun")),
        (WAIT, SUN, {"comment": "which papers?"}, ("ANSWER_ISSUE", "REPORTER", "sun")),
        (RESUME, SUN, {}, ("RESOLVE_ISSUE", "OWNER", "sun")),
        (RESOLVE, SUN, {"resolution": "released"}, ("VERIFY_ISSUE", "LEAD_DEPARTMENT", "mkt")),
        (VERIFY, LI, {"accepted": False, "comment": "held"}, ("RESOLVE_ISSUE", "OWNER", "sun")),
        (RESOLVE, SUN, {"resolution": "released"}, ("VERIFY_ISSUE", "LEAD_DEPARTMENT", "mkt")),
        (VERIFY, LI, {"accepted": True}, None),
    ]  # fmt: skip
    for mutation, caller, extra, expected in steps:
        await ok(issues, mutation, caller, issueId=issue_id, **extra)
        assert await holder(issues, issue_id) == expected


async def test_waiting_pauses_the_plan_clock_in_the_reporters_item(
    issues: SubgraphClient, issue_id: str
) -> None:
    await ok(issues, ACK, LI, issueId=issue_id, responsibleDepartmentId="rd")
    assert await holder(issues, issue_id) == ("PLAN_ISSUE", "RESPONSIBLE_DEPARTMENT", "rd")
    await ok(issues, WAIT, LI, issueId=issue_id, comment="need the invoice")
    [waiting] = await items_of(issues, issue_id)
    plan = await clock_of(issues, issue_id, "PLAN")
    assert (waiting["kind"], waiting["person_id"]) == ("ANSWER_ISSUE", "sun")
    assert (waiting["has_clock"], waiting["clock_paused"]) == (True, True)
    assert moment(waiting["due_at"]) == plan.due_at
    await ok(issues, RESUME, SUN, issueId=issue_id)
    [resumed] = await items_of(issues, issue_id)
    assert (resumed["kind"], resumed["clock_paused"]) == ("PLAN_ISSUE", False)
    assert moment(resumed["due_at"]) == (await clock_of(issues, issue_id, "PLAN")).due_at


async def test_reassigning_moves_the_item_to_the_new_department(
    issues: SubgraphClient, issue_id: str
) -> None:
    await ok(issues, ACK, LI, issueId=issue_id, responsibleDepartmentId="rd", ownerId="sun")
    await ok(issues, REASSIGN, LI, issueId=issue_id, responsibleDepartmentId="ops")
    [item] = await items_of(issues, issue_id)
    assert (item["kind"], item["role"], item["department_id"], item["person_id"]) == (
        "PLAN_ISSUE",
        "RESPONSIBLE_DEPARTMENT",
        "ops",
        None,
    )
    # Berlin's office hours now count the plan: the item is due when the moved clock is.
    assert moment(item["due_at"]) == (await clock_of(issues, issue_id, "PLAN")).due_at


async def test_urgent_issues_come_first(issues: SubgraphClient) -> None:
    await seed_directory(issues)
    urgent = await report(issues, urgent=True, severity="LOW")
    low = await report(issues, severity="LOW")
    assert [i["urgency"] for i in await items_of(issues, urgent["id"])] == [0]
    assert [i["urgency"] for i in await items_of(issues, low["id"])] == [3]


async def test_a_calendar_change_republishes_the_recounted_deadlines(
    issues: SubgraphClient, issue_id: str
) -> None:
    before = (await clock_of(issues, issue_id, "RESPONSE")).due_at
    await seed_region(issues, "sh", BERLIN_OFFICE)  # Shanghai's office keeps Berlin's hours
    after = (await clock_of(issues, issue_id, "RESPONSE")).due_at
    assert after != before
    [item] = await items_of(issues, issue_id)
    assert moment(item["due_at"]) == after


async def test_the_spreadsheet_import_publishes_what_it_creates_and_changes(
    issues: SubgraphClient,
) -> None:
    body = workbook([
        EN_HEADER,
        historical_row("ISS-2025-0007", "2025-03-03 10:00"),  # acknowledged: to plan
        historical_row("ISS-2025-0009", None),  # never answered
    ])  # fmt: skip
    stored = await upload(issues, body, dry_run=False)
    assert stored.status_code == 200, stored.text
    ids = {
        r["code"]: r["id"] for r in await issues.runtime.pool.fetch("SELECT id, code FROM issues")
    }
    planning = await items_of(issues, ids["ISS-2025-0007"])
    assert [(i["kind"], i["department_id"], i["has_clock"]) for i in planning] == [
        ("PLAN_ISSUE", "mkt", True)
    ]
    plan = await clock_of(issues, ids["ISS-2025-0007"], "PLAN")
    assert (plan.state, moment(planning[0]["due_at"])) == (SlaClockState.BREACHED, plan.due_at)
    assert await holder(issues, ids["ISS-2025-0009"]) == (
        "ACKNOWLEDGE_ISSUE",
        "LEAD_DEPARTMENT",
        "mkt",
    )
