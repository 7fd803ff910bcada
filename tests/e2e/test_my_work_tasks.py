"""``myWork`` through the gateway for the tasks service's items: a task is its R's until it is
done, and moves with R; a progress report is the executing department's until submitted.
Each item enters the list of whoever must act and leaves it within 2 s of the settling
action, measured from the mutation's response."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_my_work_flows import (
    DECIDE,
    DIR,
    FIRST_APPEARANCE,
    LI,
    LIU,
    SUN,
    WANG,
    approved_request,
    enters,
    leaves,
    ok,
    work_on,
)
from tests.e2e.test_walking_skeleton import retry_while_unknown

PAYLOAD = "userErrors { code message field }"
CREATE_TASK = f"""
mutation($input: CreateTaskInput!) {{ createTask(input: $input) {{ task {{ id }} {PAYLOAD} }} }}"""
UPDATE_TASK = f"""
mutation($input: UpdateTaskInput!) {{ updateTask(input: $input) {{ {PAYLOAD} }} }}"""
SET_RACI = f"""
mutation($input: SetRaciInput!) {{ setRaci(input: $input) {{ {PAYLOAD} }} }}"""
SET_PLAN = f"""
mutation($input: SetCommunicationPlanInput!) {{ setCommunicationPlan(input: $input) {{
  {PAYLOAD} }} }}"""
SUBMIT_REPORT = f"""
mutation($input: SubmitProgressReportInput!) {{ submitProgressReport(input: $input) {{
  {PAYLOAD} }} }}"""

ACCOUNTABLE = {"role": "A", "personId": "li"}
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def running_request(gateway: GatewayClient) -> tuple[str, str]:
    """An approved request led by marketing with R&D executing; (id, code)."""
    request_id, code = await approved_request(gateway)
    await ok(gateway, DECIDE, DIR, requestId=request_id, decision="APPROVE")
    return request_id, code


async def set_raci(gateway: GatewayClient, task_id: str, responsible: dict[str, str]) -> None:
    await ok(gateway, SET_RACI, LI, taskId=task_id, assignments=[ACCOUNTABLE, responsible])


@pytest.mark.timeout(120)
async def test_a_task_is_its_rs_moves_with_r_and_leaves_when_done(
    gateway: GatewayClient,
) -> None:
    request_id, _ = await running_request(gateway)
    due = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    task_input: dict[str, Any] = {
        "requestId": request_id,
        "title": "Produce the launch video",
        "dueAt": due.isoformat(),
        "raci": [ACCOUNTABLE, {"role": "R", "personId": "sun"}],
    }
    created = await retry_while_unknown(
        gateway, CREATE_TASK, {"input": task_input}, LI, "createTask"
    )
    task_id = created["task"]["id"]
    item = await enters(gateway, SUN, task_id, "DO_TASK", FIRST_APPEARANCE)
    assert (item["role"], item["target"], item["title"], item["state"]) == (
        "RESPONSIBLE",
        "TASK",
        "Produce the launch video",
        "ON_TRACK",
    )
    assert datetime.fromisoformat(item["dueAt"]) == due
    assert (item["slaState"], item["urgent"]) == (None, False)
    assert await work_on(gateway, WANG, task_id, "DO_TASK") == []  # sun's, not R&D's
    assert await work_on(gateway, LI, task_id, "DO_TASK") == []  # A has nothing to accept

    await set_raci(gateway, task_id, {"role": "R", "personId": "liu"})
    await leaves(gateway, SUN, task_id, "DO_TASK")
    await enters(gateway, LIU, task_id, "DO_TASK")

    await set_raci(gateway, task_id, {"role": "R", "departmentId": "rd"})
    await leaves(gateway, LIU, task_id, "DO_TASK")
    await enters(gateway, SUN, task_id, "DO_TASK")  # a member of the department
    await enters(gateway, WANG, task_id, "DO_TASK")  # and its head

    await ok(gateway, UPDATE_TASK, SUN, taskId=task_id, status="IN_PROGRESS")
    assert len(await work_on(gateway, SUN, task_id, "DO_TASK")) == 1
    await ok(gateway, UPDATE_TASK, SUN, taskId=task_id, status="DONE")
    await leaves(gateway, SUN, task_id, "DO_TASK")
    await leaves(gateway, WANG, task_id, "DO_TASK")


@pytest.mark.timeout(120)
async def test_a_progress_report_is_owed_until_submitted(gateway: GatewayClient) -> None:
    request_id, code = await running_request(gateway)
    # Due Sundays 23:59 Shanghai time: whatever day the test runs, the current week's
    # period has started and its deadline is still ahead, so the item shows at once.
    plan = {
        "requestId": request_id,
        "meetingCadence": "WEEKLY",
        "channels": ["dingtalk"],
        "reportTemplate": "template-3",
        "reportCadence": "WEEKLY",
        "reportDeadlineWeekday": 7,
        "reportDeadlineTime": "23:59:00",
        "timeZone": "Asia/Shanghai",
    }
    await ok(gateway, SET_PLAN, LI, **plan)
    today = datetime.now(SHANGHAI).date()
    monday = today - timedelta(days=today.isoweekday() - 1)
    sunday = monday + timedelta(days=6)
    item = await enters(gateway, SUN, request_id, "SUBMIT_REPORT", FIRST_APPEARANCE)
    assert (item["role"], item["target"], item["title"]) == (
        "EXECUTING_DEPARTMENT",
        "REQUEST",
        f"{code} Q4 new product national launch: progress report for {monday} to {sunday}",
    )
    deadline = datetime(sunday.year, sunday.month, sunday.day, 23, 59, tzinfo=SHANGHAI)
    assert datetime.fromisoformat(item["dueAt"]) == deadline
    await enters(gateway, WANG, request_id, "SUBMIT_REPORT")  # the executing head too
    for lead in (LI, LIU):  # the lead department runs the meeting and does not report
        assert await work_on(gateway, lead, request_id, "SUBMIT_REPORT") == []

    report = {
        "requestId": request_id,
        "departmentId": "rd",
        "periodStart": monday.isoformat(),
        "periodEnd": sunday.isoformat(),
    }
    await ok(gateway, SUBMIT_REPORT, SUN, **report)
    # Next week's report is in the set already, but not shown before its period starts.
    await leaves(gateway, SUN, request_id, "SUBMIT_REPORT")
    await leaves(gateway, WANG, request_id, "SUBMIT_REPORT")
