"""What the tasks service asks of people (``myWork``, services/tasks/work_items.py): first the
pure derivation, then the whole sets it publishes as ``work.items.changed``, read from its
outbox after real mutations and consumed events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from services.tasks.models import RaciAssignment, RaciRole, TaskStatus
from services.tasks.reminders.schedule import instant_before
from services.tasks.reports.models import ReportPlan
from services.tasks.reports.periods import next_deadline
from services.tasks.reports.timers import DEADLINE_TIMER
from services.tasks.work_items import report_items, task_items
from services.tasks.work_repository import ReportingState, TaskState
from shared.calendars import BusinessHours, WorkCalendar
from shared.events.contracts.requests import ActionItemCreated, RequestUpdated
from shared.events.contracts.work import WorkKind, WorkRole, WorkTarget
from shared.events.envelope import new_event
from tests.support import Caller, SubgraphClient
from tests.tasks.helpers import (
    HANS,
    LI,
    SET_RACI,
    SHANGHAI,
    WANG,
    create_task,
    deliver,
    deliver_envelope,
    end_request,
    fire_armed,
    request_data,
    seeded,
    set_report_plan,
    update,
)
from tests.tasks.test_raci_spreadsheet import download, sheets, upload, workbook
from tests.tasks.test_recurring import create_series

SHANGHAI_HOURS = BusinessHours(WorkCalendar.model_validate(SHANGHAI))
DUE = datetime(2026, 3, 13, 9, 0, tzinfo=UTC)
"""Friday 13 March 2026, 17:00 in Shanghai."""

# --- tasks, pure ---------------------------------------------------------------------------------


def task_state(**changes: Any) -> TaskState:
    base = TaskState(
        id="t-1",
        request_id="req-1",
        title="Prepare launch materials",
        status=TaskStatus.TODO,
        due_at=DUE,
        reminder_offsets=(120, 1440),
        request_finished=False,
        responsible=(
            RaciAssignment(RaciRole.R, "wang", "rd"),
            RaciAssignment(RaciRole.R, None, "eu"),
        ),
        calendar=SHANGHAI_HOURS,
    )
    return replace(base, **changes)


def test_each_r_holder_has_an_item_at_risk_from_the_first_reminder() -> None:
    person, department = task_items(task_state())
    # The first reminder is the largest offset: 24 working hours back on Shanghai's calendar.
    at_risk = instant_before(SHANGHAI_HOURS, DUE, 1440)
    assert at_risk < DUE - timedelta(hours=24)  # working hours, not clock hours
    assert person.model_dump() == {
        "key": "R:person:wang",
        "kind": WorkKind.DO_TASK,
        "role": WorkRole.RESPONSIBLE,
        "title": "Prepare launch materials",
        "target": WorkTarget.TASK,
        "target_id": "t-1",
        "request_id": "req-1",
        "person_id": "wang",
        "department_id": None,  # the person acts, not the department named beside them
        "heads_only": False,
        "due_at": DUE,
        "visible_from": None,
        "at_risk_at": at_risk,
        "clock_paused": False,
        "has_clock": False,
        "urgency": 2,
    }
    assert (department.key, department.person_id, department.department_id) == (
        "R:department:eu",
        None,
        "eu",
    )
    assert department.heads_only is False  # its members act too


def test_without_offsets_a_task_is_at_risk_a_day_before_and_without_due_never() -> None:
    [item, _] = task_items(task_state(reminder_offsets=()))
    assert item.at_risk_at == DUE - timedelta(hours=24)
    [item, _] = task_items(task_state(due_at=None))
    assert (item.due_at, item.at_risk_at) == (None, None)


@pytest.mark.parametrize("status", [TaskStatus.DONE, TaskStatus.CANCELLED])
def test_a_closed_task_asks_nothing(status: TaskStatus) -> None:
    assert task_items(task_state(status=status)) == []


@pytest.mark.parametrize("status", [TaskStatus.IN_PROGRESS, TaskStatus.BLOCKED])
def test_open_tasks_keep_their_items(status: TaskStatus) -> None:
    assert len(task_items(task_state(status=status))) == 2


def test_a_task_of_an_ended_request_asks_nothing() -> None:
    assert task_items(task_state(request_finished=True)) == []


def test_a_person_named_twice_has_one_item() -> None:
    twice = (RaciAssignment(RaciRole.R, "wang", "rd"), RaciAssignment(RaciRole.R, "wang", "eu"))
    assert [i.key for i in task_items(task_state(responsible=twice))] == ["R:person:wang"]


# --- progress reports, pure ----------------------------------------------------------------------

PLAN = ReportPlan("req-1", "WEEKLY", 5, time(17, 0), "Asia/Shanghai")
"""Weekly reports due Fridays 17:00 Shanghai time."""
SET_AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
"""Monday 2 March 2026, 09:00 in Shanghai."""
WEEK_1 = (date(2026, 3, 2), date(2026, 3, 8))
WEEK_2 = (date(2026, 3, 9), date(2026, 3, 15))
WEEK_3 = (date(2026, 3, 16), date(2026, 3, 22))
TUESDAY_1 = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
TUESDAY_2 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def reporting(*submitted: tuple[str, tuple[date, date]], **changes: Any) -> ReportingState:
    base = ReportingState(
        plan=PLAN,
        plan_set_at=SET_AT,
        known=True,
        code="CR-2026-0001",
        title="Q4 launch",
        finished=False,
        lead_department_id="mkt",
        participant_department_ids=("mkt", "rd", "eu"),
        submitted=frozenset((d, first, last) for d, (first, last) in submitted),
    )
    return replace(base, **changes)


def keys(state: ReportingState, now: datetime) -> list[str]:
    return [i.key for i in report_items(state, now, 240)]


def test_each_executing_department_owes_the_current_period() -> None:
    rd, eu = report_items(reporting(), TUESDAY_1, 240)
    assert rd.model_dump() == {
        "key": "rd:2026-03-02",
        "kind": WorkKind.SUBMIT_REPORT,
        "role": WorkRole.EXECUTING_DEPARTMENT,
        "title": "CR-2026-0001 Q4 launch: progress report for 2026-03-02 to 2026-03-08",
        "target": WorkTarget.REQUEST,
        "target_id": "req-1",
        "request_id": "req-1",
        "person_id": None,
        "department_id": "rd",
        "heads_only": False,
        "due_at": datetime(2026, 3, 6, 9, 0, tzinfo=UTC),  # Friday 17:00 Shanghai
        "visible_from": datetime(2026, 3, 1, 16, 0, tzinfo=UTC),  # Monday 00:00 Shanghai
        "at_risk_at": datetime(2026, 3, 6, 5, 0, tzinfo=UTC),  # the reminder, 4 h before
        "clock_paused": False,
        "has_clock": False,
        "urgency": 2,
    }
    assert eu.key == "eu:2026-03-02"  # the lead, mkt, runs the meeting and does not report


def test_the_set_reaches_the_first_period_still_owed() -> None:
    assert keys(reporting(("rd", WEEK_1)), TUESDAY_1) == ["eu:2026-03-02"]
    # Every week-1 report is in: the deadline will pass silently, so week 2 is already there
    # (shown once it starts).
    both = reporting(("rd", WEEK_1), ("eu", WEEK_1))
    assert keys(both, TUESDAY_1) == ["rd:2026-03-09", "eu:2026-03-09"]
    ahead = reporting(("rd", WEEK_1), ("eu", WEEK_1), ("rd", WEEK_2), ("eu", WEEK_2))
    assert keys(ahead, TUESDAY_1) == ["rd:2026-03-16", "eu:2026-03-16"]


def test_a_missed_report_stays_overdue_until_it_is_submitted() -> None:
    assert keys(reporting(), TUESDAY_2) == [
        "rd:2026-03-02",
        "eu:2026-03-02",
        "rd:2026-03-09",
        "eu:2026-03-09",
    ]
    late = reporting(("rd", WEEK_1))
    assert keys(late, TUESDAY_2) == ["eu:2026-03-02", "rd:2026-03-09", "eu:2026-03-09"]
    # A report of a week not yet chased counts only for that week.
    assert keys(reporting(("rd", WEEK_3)), TUESDAY_2)[:2] == ["rd:2026-03-02", "eu:2026-03-02"]


def test_the_chase_starts_with_the_first_deadline_after_the_plan() -> None:
    after_week_1 = datetime(2026, 3, 7, 1, 0, tzinfo=UTC)  # Saturday: week 1's deadline passed
    assert keys(reporting(plan_set_at=after_week_1), TUESDAY_2) == [
        "rd:2026-03-09",
        "eu:2026-03-09",
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"finished": True},
        {"known": False},
        {"participant_department_ids": ("mkt",)},
        {"participant_department_ids": ()},
    ],
)
def test_no_report_items_for_an_ended_unknown_or_unstaffed_request(
    changes: dict[str, Any],
) -> None:
    assert report_items(reporting(**changes), TUESDAY_2, 240) == []


# --- the published sets --------------------------------------------------------------------------


@pytest.fixture
async def api(tasks_api: SubgraphClient) -> SubgraphClient:
    return await seeded(tasks_api)


async def published(api: SubgraphClient, source: str) -> list[list[dict[str, Any]]]:
    """Every set published for ``source``, oldest first."""
    rows = await api.runtime.pool.fetch(
        "SELECT envelope->'data' AS data FROM outbox WHERE event_type = 'work.items.changed'"
        " AND envelope->>'subject' = $1 ORDER BY seq",
        source,
    )
    sets: list[list[dict[str, Any]]] = [r["data"]["items"] for r in rows]
    assert all(r["data"]["source"] == source for r in rows)
    return sets


async def latest(api: SubgraphClient, source: str) -> list[dict[str, Any]]:
    sets = await published(api, source)
    assert sets, f"nothing published for {source}"
    return sets[-1]


def holders(items: list[dict[str, Any]]) -> list[tuple[str | None, str | None]]:
    return [(i["person_id"], i["department_id"]) for i in items]


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_new_task_is_its_rs_until_done(api: SubgraphClient) -> None:
    task = await create_task(api)
    source = f"TASK:{task['id']}"
    [item] = await latest(api, source)
    assert (item["key"], item["kind"], item["role"]) == ("R:person:wang", "DO_TASK", "RESPONSIBLE")
    assert (item["target"], item["target_id"], item["request_id"]) == ("TASK", task["id"], "req-1")
    assert item["title"] == "Prepare launch materials"
    due = instant(task["dueAt"])
    assert instant(item["due_at"]) == due
    # wang works in Shanghai: the first default reminder, 24 working hours before.
    assert instant(item["at_risk_at"]) == instant_before(SHANGHAI_HOURS, due, 1440)

    assert (await update(api, taskId=task["id"], status="IN_PROGRESS"))["userErrors"] == []
    assert (await update(api, caller=WANG, taskId=task["id"], status="DONE"))["userErrors"] == []
    assert [holders(s) for s in await published(api, source)] == [
        [("wang", None)],
        [("wang", None)],
        [],  # done: settled
    ]


async def test_a_refused_change_publishes_nothing(api: SubgraphClient) -> None:
    task = await create_task(api)
    refused = await update(api, taskId=task["id"], status="DONE")  # not started yet
    assert refused["userErrors"] != []
    assert len(await published(api, f"TASK:{task['id']}")) == 1


async def test_cancelling_settles_reopening_and_moving_the_due_time_republish(
    api: SubgraphClient,
) -> None:
    task = await create_task(api, reminderOffsetsMinutes=[60])
    source = f"TASK:{task['id']}"
    assert (await update(api, taskId=task["id"], status="CANCELLED"))["userErrors"] == []
    assert await latest(api, source) == []
    due = datetime(2030, 1, 4, 10, 0, tzinfo=UTC)  # a Friday, 18:00 in Shanghai
    assert (await update(api, taskId=task["id"], status="TODO"))["userErrors"] == []
    assert (await update(api, taskId=task["id"], dueAt=due.isoformat()))["userErrors"] == []
    [item] = await latest(api, source)
    assert instant(item["due_at"]) == due
    # The task's own offset: one working hour before 18:00 Shanghai.
    assert instant(item["at_risk_at"]) == due - timedelta(hours=1)


async def set_raci(api: SubgraphClient, task_id: str, assignments: list[dict[str, Any]]) -> None:
    data = await api.execute(
        SET_RACI, {"input": {"taskId": task_id, "assignments": assignments}}, caller=LI
    )
    assert data["setRaci"]["userErrors"] == []


async def test_moving_r_moves_the_item(api: SubgraphClient) -> None:
    task = await create_task(api)
    source = f"TASK:{task['id']}"
    accountable = {"role": "A", "personId": "li"}
    await set_raci(api, task["id"], [accountable, {"role": "R", "departmentId": "eu"}])
    [item] = await latest(api, source)
    assert (item["key"], item["person_id"], item["department_id"]) == (
        "R:department:eu",
        None,
        "eu",
    )
    assert item["heads_only"] is False
    await set_raci(api, task["id"], [accountable, {"role": "R", "personId": "hans"}])
    assert holders(await latest(api, source)) == [("hans", None)]


async def test_an_action_item_turned_task_is_its_owners(api: SubgraphClient) -> None:
    item = ActionItemCreated(
        id="ai-1",
        request_id="req-1",
        meeting_id="m-1",
        title="Send the revised budget",
        owner_id="sun",
        department_id="rd",
        due_at=datetime.now(UTC) + timedelta(days=10),
        chair_id="li",
    )
    envelope = new_event("requests", "requests.action_item.created", "ai-1", item)
    assert await deliver_envelope(api.runtime, envelope)
    task_id = await api.runtime.pool.fetchval("SELECT id FROM tasks WHERE source_ref = 'ai-1'")
    [work] = await latest(api, f"TASK:{task_id}")
    assert (work["person_id"], work["title"]) == ("sun", "Send the revised budget")


async def test_recurring_occurrences_are_their_departments(api: SubgraphClient) -> None:
    assert (await create_series(api))["userErrors"] == []
    rows = await api.runtime.pool.fetch(
        "SELECT id, source_ref FROM tasks WHERE source = 'RECURRING' ORDER BY id"
    )
    assert rows
    for row in rows:
        owner = {"sh": "rd", "de": "eu", "consolidation": "mkt"}[row["source_ref"].split(":")[-1]]
        assert holders(await latest(api, f"TASK:{row['id']}")) == [(None, owner)]


async def test_a_raci_sheet_import_publishes_the_tasks_it_changes(api: SubgraphClient) -> None:
    first = await create_task(api)
    rows = sheets((await download(api)).content)["RACI责任矩阵"]
    # Columns: id, title, eu, legal, li, wang. eu becomes R instead of wang; a new task.
    rows[1][2], rows[1][5] = "R", None
    rows.append([None, "Print the posters", None, "C", "A", "R"])
    stored = await upload(api, workbook(rows), dry_run=False)
    assert stored.json()["stored"] is True, stored.json()
    assert holders(await latest(api, f"TASK:{first['id']}")) == [(None, "eu")]
    posters = await api.runtime.pool.fetchval(
        "SELECT id FROM tasks WHERE title = 'Print the posters'"
    )
    assert holders(await latest(api, f"TASK:{posters}")) == [("wang", None)]


async def test_the_end_of_the_request_settles_its_open_tasks(api: SubgraphClient) -> None:
    open_task = await create_task(api)
    cancelled = await create_task(api, title="Book the venue")
    assert (await update(api, taskId=cancelled["id"], status="CANCELLED"))["userErrors"] == []
    await end_request(api.runtime, "CANCELLED")
    assert await latest(api, f"TASK:{open_task['id']}") == []
    assert len(await published(api, f"TASK:{cancelled['id']}")) == 2  # settled already


async def test_an_edit_of_a_running_request_leaves_its_tasks_alone(api: SubgraphClient) -> None:
    task = await create_task(api)
    await edit_request(api, participants=("rd",))
    assert len(await published(api, f"TASK:{task['id']}")) == 1


async def edit_request(api: SubgraphClient, participants: tuple[str, ...]) -> None:
    data = RequestUpdated(
        **request_data(participants=participants).model_dump(),
        previous_status="APPROVED",
        action="EDITED",
        actor_id="li",
    )
    assert await deliver(api.runtime, "requests.request.updated", "req-1", data)


# --- reporting, published ------------------------------------------------------------------------

SUBMIT = """
mutation($input: SubmitProgressReportInput!) {
  submitProgressReport(input: $input) { report { id } userErrors { field message code } }
}
"""

REPORTING = "REPORTING:req-1"


async def stored_plan(api: SubgraphClient) -> tuple[ReportPlan, datetime]:
    row = await api.runtime.pool.fetchrow(
        "SELECT request_id, cadence, deadline_weekday, deadline_time, time_zone, updated_at"
        " FROM report_plans WHERE request_id = 'req-1'"
    )
    assert row is not None
    values = dict(row)
    set_at = values.pop("updated_at")
    return ReportPlan(**values), set_at


async def submit(api: SubgraphClient, caller: Caller, department: str, period: date) -> None:
    report = {
        "requestId": "req-1",
        "departmentId": department,
        "periodStart": period.isoformat(),
        "periodEnd": (period + timedelta(days=6)).isoformat(),
    }
    data = await api.execute(SUBMIT, {"input": report}, caller=caller)
    assert data["submitProgressReport"]["userErrors"] == []


def report_keys(items: list[dict[str, Any]]) -> list[str]:
    return [i["key"] for i in items]


async def test_reports_are_owed_per_period_until_submitted(api: SubgraphClient) -> None:
    await set_report_plan(api.runtime)
    plan, set_at = await stored_plan(api)
    deadline, (first, last) = next_deadline(plan, set_at)
    rd, eu = await latest(api, REPORTING)
    assert report_keys([rd, eu]) == [f"rd:{first}", f"eu:{first}"]
    assert (rd["kind"], rd["role"], rd["target"], rd["target_id"]) == (
        "SUBMIT_REPORT",
        "EXECUTING_DEPARTMENT",
        "REQUEST",
        "req-1",
    )
    assert (rd["person_id"], rd["department_id"], rd["heads_only"]) == (None, "rd", False)
    assert instant(rd["due_at"]) == deadline
    midnight = datetime.combine(first, time(0)).replace(tzinfo=UTC) - timedelta(hours=8)
    assert instant(rd["visible_from"]) == midnight  # the period's start in Shanghai
    assert rd["title"] == f"CR-2026-req-1 Q4 launch: progress report for {first} to {last}"

    await submit(api, WANG, "rd", first)
    assert report_keys(await latest(api, REPORTING)) == [f"eu:{first}"]
    await submit(api, HANS, "eu", first)
    following = first + timedelta(days=7)
    assert report_keys(await latest(api, REPORTING)) == [f"rd:{following}", f"eu:{following}"]


async def test_a_missed_deadline_leaves_the_report_overdue(api: SubgraphClient) -> None:
    await set_report_plan(api.runtime)
    await api.runtime.pool.execute(  # the plan has been in force for two weeks
        "UPDATE report_plans SET updated_at = now() - interval '14 days'"
    )
    plan, set_at = await stored_plan(api)
    deadline, (first, last) = next_deadline(plan, set_at)
    payload: dict[str, object] = {
        "period_start": first.isoformat(),
        "period_end": last.isoformat(),
        "deadline": deadline.isoformat(),
    }
    assert await fire_armed(api, DEADLINE_TIMER, "req-1", payload)  # tasks.report.missing
    items = await latest(api, REPORTING)
    assert report_keys(items)[:2] == [f"rd:{first}", f"eu:{first}"]
    assert instant(items[0]["due_at"]) < datetime.now(UTC)  # overdue, and still asked for
    await submit(api, WANG, "rd", first)  # late, but accepted
    after = report_keys(await latest(api, REPORTING))
    assert f"rd:{first}" not in after
    assert f"eu:{first}" in after


async def test_departments_leaving_and_the_request_ending_settle_reports(
    api: SubgraphClient,
) -> None:
    await set_report_plan(api.runtime)
    assert holders(await latest(api, REPORTING)) == [(None, "rd"), (None, "eu")]
    await edit_request(api, participants=("rd",))
    assert holders(await latest(api, REPORTING)) == [(None, "rd")]
    await end_request(api.runtime, "CLOSED")
    assert await latest(api, REPORTING) == []


async def test_a_request_without_a_plan_publishes_no_reporting(api: SubgraphClient) -> None:
    await edit_request(api, participants=("rd",))
    assert await published(api, REPORTING) == []
