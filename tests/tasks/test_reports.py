"""Progress reports (template 3), who has not reported, the deadline reminder and
``tasks.report.missing``, and raising a reported problem as an issue."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from services.tasks.reports.models import ReportPlan
from services.tasks.reports.periods import deadline_of, next_deadline, period_of
from services.tasks.reports.repository import plans_by_request_ids
from services.tasks.reports.timers import arm_report_timers, reporting_departments
from shared.events.contracts.issues import IssueReported
from shared.events.envelope import new_event
from shared.unit_of_work import unit_of_work
from tests.support import Caller, SubgraphClient, nodes
from tests.tasks.helpers import (
    HANS,
    LI,
    PAST_WEEK,
    WANG,
    ZHAO,
    create_task,
    deliver_envelope,
    fire,
    fire_armed,
    outbox,
    seeded,
    set_report_plan,
    snapshot,
    timer,
)

SUBMIT = """
mutation($input: SubmitProgressReportInput!) {
  submitProgressReport(input: $input) {
    report { id department { id } periodStart periodEnd submittedBy { id }
             items { task { id } plannedProgress actualProgress status delayReason delayed }
             problems { id description impact attemptedMeasures raisedAt linkedIssue { id } }
             resourceRequests { description providerDepartment { id } } }
    userErrors { field message code }
  }
}
"""

RAISE = """
mutation($input: RaiseProblemAsIssueInput!) {
  raiseProblemAsIssue(input: $input) {
    problem { id raisedAt linkedIssue { id } }
    userErrors { field message code }
  }
}
"""

STATUS = """
query($r: [_Any!]!, $p: PeriodInput!) {
  _entities(representations: $r) {
    ... on CollabRequest {
      reportingStatus(period: $p) { periodStart periodEnd deadline
        departments { department { id } submitted report { id } } }
      progressReports { edges { node { id problems { linkedIssue { id } } } } }
    }
  }
}
"""

WEEK: dict[str, Any] = {"periodStart": "2026-03-09", "periodEnd": "2026-03-15"}
WORKING_WEEK: dict[str, Any] = {"periodStart": "2026-03-09", "periodEnd": "2026-03-13"}
MONTH: dict[str, Any] = {"periodStart": "2026-03-01", "periodEnd": "2026-03-31"}


@pytest.fixture
async def api(tasks_api: SubgraphClient) -> SubgraphClient:
    return await seeded(tasks_api)


async def submit(
    api: SubgraphClient, task_id: str, caller: Caller = WANG, **changes: Any
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "requestId": "req-1",
        "departmentId": "rd",
        **WEEK,
        "items": [
            {
                "taskId": task_id,
                "plannedProgress": 60,
                "actualProgress": 40,
                "status": "IN_PROGRESS",
                "delayReason": "samples arrived late",
            }
        ],
        "problems": [
            {
                "description": "Customs hold on test units",
                "impact": "East China demo",
                "attemptedMeasures": "called the broker",
                "taskId": task_id,
            }
        ],
        "resourceRequests": [
            {"description": "A meeting room in Shanghai", "providerDepartmentId": "mkt"}
        ],
    }
    data = await api.execute(SUBMIT, {"input": {**base, **changes}}, caller=caller)
    payload: dict[str, Any] = data["submitProgressReport"]
    return payload


async def test_report_stores_plan_vs_actual_problems_and_resources(api: SubgraphClient) -> None:
    task = await create_task(api)
    payload = await submit(api, task["id"])
    assert payload["userErrors"] == []
    report = payload["report"]
    assert report["department"] == {"id": "rd"}
    assert report["submittedBy"] == {"id": "wang"}
    assert report["items"] == [
        {
            "task": {"id": task["id"]},
            "plannedProgress": 60,
            "actualProgress": 40,
            "status": "IN_PROGRESS",
            "delayReason": "samples arrived late",
            "delayed": True,
        }
    ]
    assert report["problems"][0]["linkedIssue"] is None
    assert report["resourceRequests"] == [
        {"description": "A meeting room in Shanghai", "providerDepartment": {"id": "mkt"}}
    ]
    [event] = await outbox(api, "tasks.report.submitted")
    assert event["data"]["delayed_task_ids"] == [task["id"]]
    assert event["data"]["problem_ids"] == [report["problems"][0]["id"]]


async def test_report_refusals_change_nothing(api: SubgraphClient) -> None:
    task = await create_task(api)
    item = {
        "taskId": task["id"],
        "plannedProgress": 60,
        "actualProgress": 40,
        "status": "IN_PROGRESS",
    }
    blocked = {**item, "actualProgress": 60, "status": "BLOCKED", "delayReason": "  "}
    cases: list[tuple[Caller, dict[str, Any], list[tuple[str, str]]]] = [
        (WANG, {"items": [item]}, [("items.0.delayReason", "DELAY_REASON_REQUIRED")]),
        (WANG, {"items": [blocked]}, [("items.0.delayReason", "DELAY_REASON_REQUIRED")]),
        (
            WANG,
            {"items": [{**item, "actualProgress": 140, "delayReason": None}]},
            [("items.0.actualProgress", "INVALID")],
        ),
        (
            WANG,
            {"items": [{**item, "taskId": "nope", "delayReason": "x"}]},
            [("items.0.taskId", "NOT_FOUND")],
        ),
        (WANG, {"periodEnd": "2026-03-01"}, [("periodEnd", "INVALID")]),
        (
            WANG,
            {"periodStart": "2026-03-10", "periodEnd": "2026-03-16"},
            [("periodStart", "PERIOD_NOT_IN_CADENCE")],
        ),
        (
            WANG,
            {"problems": [{"description": "x", "impact": "", "attemptedMeasures": "y"}]},
            [("problems.0.impact", "INVALID")],
        ),
        (ZHAO, {"departmentId": "legal"}, [("departmentId", "DEPARTMENT_NOT_PARTICIPATING")]),
        (HANS, {}, [("departmentId", "FORBIDDEN")]),
        (
            WANG,
            {"requestId": "unknown"},
            [
                ("requestId", "REQUEST_NOT_FOUND"),
                ("items.0.taskId", "NOT_FOUND"),
                ("problems.0.taskId", "NOT_FOUND"),
            ],
        ),
    ]
    for caller, changes, expected in cases:
        before = await snapshot(api)
        payload = await submit(api, task["id"], caller=caller, **changes)
        assert payload["report"] is None, changes
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == expected, changes
        assert await snapshot(api) == before, changes


async def test_periods_off_the_plans_cadence_are_refused(api: SubgraphClient) -> None:
    """A week under a monthly plan would never count as reported: refused, naming the month."""
    await set_report_plan(api.runtime, cadence="MONTHLY")
    task = await create_task(api)
    for period in (WEEK, WORKING_WEEK):
        before = await snapshot(api)
        payload = await submit(api, task["id"], **period)
        [error] = payload["userErrors"]
        assert (error["field"], error["code"]) == ("periodStart", "PERIOD_NOT_IN_CADENCE")
        assert error["message"] == (
            "the communication plan has MONTHLY reports: the period containing 2026-03-09"
            " is 2026-03-01 to 2026-03-31"
        )
        assert await snapshot(api) == before

    assert (await submit(api, task["id"], **MONTH))["userErrors"] == []
    variables = {
        "r": [{"__typename": "CollabRequest", "id": "req-1"}],
        "p": {"start": "2026-03-01", "end": "2026-03-31"},
    }
    status = (await api.execute(STATUS, variables, caller=LI))["_entities"][0]["reportingStatus"]
    assert [d["submitted"] for d in status["departments"]] == [True, False]
    assert status["deadline"] is not None


async def test_without_a_plan_a_week_or_a_month_is_taken(api: SubgraphClient) -> None:
    task = await create_task(api)
    assert (await submit(api, task["id"], **WEEK))["userErrors"] == []
    assert (await submit(api, task["id"], **MONTH))["userErrors"] == []
    [error] = (await submit(api, task["id"], **WORKING_WEEK))["userErrors"]
    assert (error["field"], error["code"]) == ("periodEnd", "PERIOD_NOT_IN_CADENCE")
    assert error["message"] == (
        "without a communication plan yet, a period is an ISO week or a calendar month:"
        " the period containing 2026-03-09 is 2026-03-09 to 2026-03-15 or 2026-03-01 to"
        " 2026-03-31"
    )


async def test_second_report_for_the_same_period_is_refused(api: SubgraphClient) -> None:
    task = await create_task(api)
    await submit(api, task["id"])
    before = await snapshot(api)
    payload = await submit(api, task["id"])
    assert [e["code"] for e in payload["userErrors"]] == ["ALREADY_SUBMITTED"]
    assert await snapshot(api) == before


async def test_reporting_status_shows_who_has_and_has_not_reported(api: SubgraphClient) -> None:
    task = await create_task(api)
    report = (await submit(api, task["id"]))["report"]
    await set_report_plan(api.runtime)
    variables = {
        "r": [{"__typename": "CollabRequest", "id": "req-1"}],
        "p": {"start": "2026-03-09", "end": "2026-03-15"},
    }
    data = await api.execute(STATUS, variables, caller=LI)
    status = data["_entities"][0]["reportingStatus"]
    assert datetime.fromisoformat(status["deadline"]) == datetime(2026, 3, 13, 9, tzinfo=UTC)
    assert status["departments"] == [
        {"department": {"id": "rd"}, "submitted": True, "report": {"id": report["id"]}},
        {"department": {"id": "eu"}, "submitted": False, "report": None},
    ]


def test_periods_and_deadlines_follow_the_plans_zone_and_cadence() -> None:
    weekly = ReportPlan("r", "WEEKLY", 5, time(17), "Europe/Berlin")
    assert period_of("WEEKLY", date(2026, 3, 25)) == (date(2026, 3, 23), date(2026, 3, 29))
    # Friday 17:00 in Berlin, before and after the switch to summer time.
    assert deadline_of(weekly, period_of("WEEKLY", date(2026, 3, 25))) == datetime(
        2026, 3, 27, 16, tzinfo=UTC
    )
    assert deadline_of(weekly, period_of("WEEKLY", date(2026, 4, 1))) == datetime(
        2026, 4, 3, 15, tzinfo=UTC
    )
    monthly = ReportPlan("r", "MONTHLY", 5, time(17), "Asia/Shanghai")
    assert period_of("MONTHLY", date(2026, 2, 10)) == (date(2026, 2, 1), date(2026, 2, 28))
    deadline, period = next_deadline(monthly, datetime(2026, 2, 27, 10, tzinfo=UTC))
    assert (deadline, period[0]) == (datetime(2026, 3, 27, 9, tzinfo=UTC), date(2026, 3, 1))


async def test_reminder_before_and_missing_after_the_deadline(api: SubgraphClient) -> None:
    await set_report_plan(api.runtime)
    assert (await timer(api, "report.deadline", "req-1"))["due_at"] > datetime.now(UTC)
    # Armed again from a known instant: Monday 9 March 2026, 08:00 in Shanghai.
    known = datetime(2026, 3, 9, 0, tzinfo=UTC)
    async with unit_of_work(api.runtime) as uow:
        plan = (await plans_by_request_ids(uow.conn, ["req-1"]))["req-1"]
        await arm_report_timers(uow, plan, known, known)
    deadline = await timer(api, "report.deadline", "req-1")
    reminder = await timer(api, "report.reminder", "req-1")
    assert deadline["due_at"] == datetime(2026, 3, 13, 9, tzinfo=UTC)  # Friday 17:00 Shanghai
    assert reminder["due_at"] == deadline["due_at"] - timedelta(hours=4)
    assert reminder["payload"] == deadline["payload"] == PAST_WEEK
    task = await create_task(api)
    await submit(api, task["id"])  # rd reports for that week, eu does not

    assert await fire(api, "report.reminder", "req-1")
    [reminded] = await outbox(api, "tasks.report.reminder")
    assert reminded["data"]["department_ids"] == ["eu"]
    assert reminded["data"]["recipient_ids"] == ["hans"]

    assert await fire(api, "report.deadline", "req-1")
    [missing] = await outbox(api, "tasks.report.missing")
    assert missing["data"]["department_id"] == "eu"
    assert missing["data"]["period_start"] == "2026-03-09"
    following = await timer(api, "report.deadline", "req-1")
    assert following["fired_at"] is None
    assert following["payload"]["period_start"] == "2026-03-16"  # the next week's
    # That deadline lies in the past (the worker was down): its reminder is not armed.
    assert await timer(api, "report.reminder", "req-1") is None


async def test_report_reminder_and_missing_are_addressed_to_department_heads(
    api: SubgraphClient,
) -> None:
    """Neither rd (head wang) nor eu (head hans) reported; mkt (head li) leads."""
    assert await fire_armed(api, "report.reminder", "req-1", PAST_WEEK)
    [reminded] = await outbox(api, "tasks.report.reminder")
    assert reminded["data"]["department_ids"] == ["rd", "eu"]
    assert reminded["data"]["recipient_ids"] == ["wang", "hans"]
    assert reminded["data"]["title"] == (
        "CR-2026-req-1 Q4 launch: progress report due for 2026-03-09 to 2026-03-15"
    )

    assert await fire_armed(api, "report.deadline", "req-1", PAST_WEEK)
    missing = await outbox(api, "tasks.report.missing")
    assert [(m["data"]["department_id"], m["data"]["recipient_ids"]) for m in missing] == [
        ("rd", ["wang", "li"]),
        ("eu", ["hans", "li"]),
    ]
    assert missing[1]["data"]["title"].endswith(
        "no progress report from eu for 2026-03-09 to 2026-03-15"
    )


async def test_raising_a_problem_emits_the_event_and_the_issue_answer_links_it(
    api: SubgraphClient,
) -> None:
    task = await create_task(api)
    problem = (await submit(api, task["id"]))["report"]["problems"][0]
    raised = await api.execute(
        RAISE,
        {"input": {"problemId": problem["id"], "severity": "HIGH", "urgent": True}},
        caller=LI,
    )
    payload = raised["raiseProblemAsIssue"]
    assert payload["userErrors"] == []
    assert payload["problem"]["raisedAt"] is not None
    [event] = await outbox(api, "tasks.problem.raised")
    assert (event["data"]["problem_id"], event["data"]["severity"], event["data"]["urgent"]) == (
        problem["id"],
        "HIGH",
        True,
    )
    assert event["data"]["task_id"] == task["id"]

    before = await snapshot(api)
    again = await api.execute(RAISE, {"input": {"problemId": problem["id"]}}, caller=LI)
    assert [e["code"] for e in again["raiseProblemAsIssue"]["userErrors"]] == ["ALREADY_RAISED"]
    assert await snapshot(api) == before

    answer = IssueReported(
        id="iss-1",
        code="ISS-2026-0001",
        request_id="req-1",
        title="Customs hold",
        severity="HIGH",
        urgent=True,
        lead_department_id="mkt",
        reporter_id="li",
        source_problem_id=problem["id"],
    )
    envelope = new_event("issues", "issues.issue.reported", "iss-1", answer)
    assert await deliver_envelope(api.runtime, envelope) is True
    assert await deliver_envelope(api.runtime, envelope) is False
    data = await api.execute(
        STATUS,
        {
            "r": [{"__typename": "CollabRequest", "id": "req-1"}],
            "p": {"start": "2026-03-09", "end": "2026-03-15"},
        },
    )
    assert nodes(data["_entities"][0]["progressReports"])[0]["problems"] == [
        {"linkedIssue": {"id": "iss-1"}}
    ]
    assert len(await outbox(api, "tasks.problem.linked")) == 1


async def test_raise_refusals_change_nothing(api: SubgraphClient) -> None:
    task = await create_task(api)
    problem = (await submit(api, task["id"]))["report"]["problems"][0]
    cases = [
        (HANS, {"problemId": problem["id"]}, ("problemId", "FORBIDDEN")),
        (ZHAO, {"problemId": problem["id"]}, ("problemId", "NOT_FOUND")),
        (LI, {"problemId": "nope"}, ("problemId", "NOT_FOUND")),
        (LI, {"problemId": problem["id"], "severity": "SEVERE"}, ("severity", "INVALID")),
    ]
    for caller, fields, expected in cases:
        before = await snapshot(api)
        data = await api.execute(RAISE, {"input": fields}, caller=caller)
        errors = data["raiseProblemAsIssue"]["userErrors"]
        assert [(e["field"], e["code"]) for e in errors] == [expected], fields
        assert await snapshot(api) == before


async def download(
    api: SubgraphClient, caller: Caller, language: str | None = None, **period: str
) -> httpx.Response:
    params = {
        "start": period.get("start", WEEK["periodStart"]),
        "end": period.get("end", WEEK["periodEnd"]),
    }
    headers = await api.headers(caller)
    if language:
        headers["accept-language"] = language
    return await api.http.get(
        "/files/requests/req-1/progress-reports.xlsx", params=params, headers=headers
    )


def sheets(response: httpx.Response) -> dict[str, list[list[Any]]]:
    assert response.status_code == 200, response.text
    book = load_workbook(io.BytesIO(response.content))
    return {s.title: [[c.value for c in row] for row in s.iter_rows()] for s in book.worksheets}


async def test_a_periods_reports_download_as_template_3(api: SubgraphClient) -> None:
    task = await create_task(api, title="Prepare launch materials")
    report = (await submit(api, task["id"]))["report"]
    response = await download(api, LI)
    assert (
        "filename*=UTF-8''%E8%BF%9B%E5%BA%A6%E6%8A%A5%E5%91%8A-"
        in response.headers["content-disposition"]
    )
    found = sheets(response)
    assert list(found) == ["进度", "问题", "资源需求", "未提交"]
    [header, row] = found["进度"]
    assert header[:7] == [
        "部门",
        "任务",
        "计划进度 (%)",
        "实际进度 (%)",
        "状态",
        "延误",
        "延误原因",
    ]
    assert row[1:8] == [
        "Prepare launch materials",
        60,
        40,
        "IN_PROGRESS",
        "是",
        "samples arrived late",
        "wang",
    ]
    assert found["问题"][1][1:5] == [
        "Prepare launch materials",
        "Customs hold on test units",
        "East China demo",
        "called the broker",
    ]
    assert found["资源需求"][1][1] == "A meeting room in Shanghai"
    # The executing departments (not the lead) but R&D, which reported: Europe.
    assert reporting_departments("mkt", ("rd", "eu")) == ["rd", "eu"]
    assert found["未提交"][1:] == [["eu"]]  # by id: these tests hold no department names
    assert report["department"] == {"id": "rd"}


async def test_the_reports_file_in_english_for_those_who_see_the_request(
    api: SubgraphClient,
) -> None:
    task = await create_task(api)
    await submit(api, task["id"])
    english = sheets(await download(api, HANS, language="en"))
    assert list(english) == ["Progress", "Problems", "Resources", "Not submitted"]
    assert english["Progress"][1][5] == "yes"
    assert (await download(api, ZHAO)).status_code == 404  # legal is not on the request
    empty = sheets(await download(api, LI, start="2026-03-16", end="2026-03-22"))
    assert empty["进度"][1:] == []
    bad = await download(api, LI, start="last week")
    assert (bad.status_code, bad.json()["code"]) == (400, "BAD_USER_INPUT")
