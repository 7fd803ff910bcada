"""slaReport: counts, met percentages, mean and 90th percentile times, per department/region."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from services.issues import lifecycle, service
from services.issues.lifecycle import moves
from services.issues.models import Move
from tests.issues.helpers import LI, PMO, WANG, ZHAO, new_issue, principal, seed_directory
from tests.support import Caller, SubgraphClient

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
SUN = Caller("sun", departments=("rd",))
OTTO = Caller("otto", departments=("ops",))

REPORT = """
query($from: DateTime!, $to: DateTime!, $groupBy: ReportGrouping!) {
  slaReport(from: $from, to: $to, groupBy: $groupBy) {
    key issueCount responseMetPercent planMetPercent meanMinutesToAcknowledge
    p90MinutesToAcknowledge meanMinutesToPlan p90MinutesToPlan
  }
}
"""


async def handled(
    api: SubgraphClient, department: str, ack: int, plan: int | None, start: datetime = T0
) -> None:
    """An urgent (24x7) issue acknowledged ``ack`` and planned ``plan`` minutes after ``start``."""
    runtime = api.runtime
    issue = await service.report_issue(runtime, principal(LI), new_issue(urgent=True), now=start)
    move = Move(issue.id, responsible_department_id=department)
    acked_at = start + timedelta(minutes=ack)
    await lifecycle.move_issue(runtime, principal(LI), moves.ACKNOWLEDGE, move, acked_at)
    if plan is not None:
        planner = principal(SUN if department == "rd" else OTTO)
        proposal = Move(issue.id, plan="the plan")
        planned_at = start + timedelta(minutes=plan)
        await lifecycle.move_issue(runtime, planner, moves.PROPOSE_PLAN, proposal, planned_at)


@pytest.fixture
async def history(issues: SubgraphClient) -> None:
    await seed_directory(issues)
    await handled(issues, "rd", ack=30, plan=60)
    await handled(issues, "rd", ack=150, plan=200)  # both late (targets 120 / 120)
    await handled(issues, "ops", ack=10, plan=None)  # plan still pending: not counted
    await handled(issues, "rd", ack=5, plan=6, start=T0 - timedelta(days=40))  # out of period


async def report(api: SubgraphClient, caller: Caller, group_by: str) -> list[dict[str, Any]]:
    variables = {
        "from": T0.isoformat(),
        "to": (T0 + timedelta(days=30)).isoformat(),
        "groupBy": group_by,
    }
    data = await api.execute(REPORT, variables, caller=caller)
    rows: list[dict[str, Any]] = data["slaReport"]
    return rows


async def test_report_by_department(issues: SubgraphClient, history: None) -> None:
    ops, rd = await report(issues, PMO, "DEPARTMENT")
    assert ops == {
        "key": "ops",
        "issueCount": 1,
        "responseMetPercent": 100.0,
        "planMetPercent": None,
        "meanMinutesToAcknowledge": 10.0,
        "p90MinutesToAcknowledge": 10.0,
        "meanMinutesToPlan": None,
        "p90MinutesToPlan": None,
    }
    assert rd == {
        "key": "rd",
        "issueCount": 2,
        "responseMetPercent": 50.0,
        "planMetPercent": 50.0,
        "meanMinutesToAcknowledge": 90.0,
        "p90MinutesToAcknowledge": pytest.approx(30 + 0.9 * 120),
        "meanMinutesToPlan": 130.0,
        "p90MinutesToPlan": pytest.approx(60 + 0.9 * 140),
    }


async def test_report_by_region(issues: SubgraphClient, history: None) -> None:
    rows = await report(issues, PMO, "REGION")
    assert [(r["key"], r["issueCount"], r["responseMetPercent"]) for r in rows] == [
        ("eu", 1, 100.0),
        ("sh", 2, 50.0),
    ]


async def test_report_covers_only_what_the_caller_may_see(
    issues: SubgraphClient, history: None
) -> None:
    assert [r["key"] for r in await report(issues, WANG, "DEPARTMENT")] == ["ops", "rd"]
    assert await report(issues, ZHAO, "DEPARTMENT") == []


async def test_report_refuses_a_backwards_period(issues: SubgraphClient) -> None:
    variables = {"from": T0.isoformat(), "to": T0.isoformat(), "groupBy": "REGION"}
    response = await issues.post(REPORT, variables, caller=LI)
    assert "`to` must follow `from`" in response.json()["errors"][0]["message"]


async def download(
    api: SubgraphClient, caller: Caller, group_by: str, language: str | None = None, **period: str
) -> httpx.Response:
    params = {
        "from": period.get("start", T0.isoformat()),
        "to": period.get("end", (T0 + timedelta(days=30)).isoformat()),
        "groupBy": group_by,
    }
    headers = await api.headers(caller)
    if language:
        headers["accept-language"] = language
    return await api.http.get("/files/sla-report.xlsx", params=params, headers=headers)


def cells(response: httpx.Response) -> list[list[Any]]:
    book = load_workbook(io.BytesIO(response.content))
    return [[cell.value for cell in row] for row in book.worksheets[0].iter_rows()]


async def test_the_report_downloads_as_a_spreadsheet_with_the_querys_figures(
    issues: SubgraphClient, history: None
) -> None:
    response = await download(issues, PMO, "DEPARTMENT")
    assert response.status_code == 200, response.text
    assert (
        "filename*=UTF-8''SLA%E6%8A%A5%E8%A1%A8-2026-11-02_2026-12-02.xlsx"
        in (response.headers["content-disposition"])
    )
    [header, *rows] = cells(response)
    assert header[:3] == ["责任部门", "问题数", "响应达标率 (%)"]
    fields = ["key", "issueCount", "responseMetPercent", "planMetPercent",
              "meanMinutesToAcknowledge", "p90MinutesToAcknowledge", "meanMinutesToPlan",
              "p90MinutesToPlan"]  # fmt: skip
    expected = [[row[f] for f in fields] for row in await report(issues, PMO, "DEPARTMENT")]
    assert rows == [[pytest.approx(v) if isinstance(v, float) else v for v in r] for r in expected]


async def test_the_report_file_in_english_and_only_what_the_caller_sees(
    issues: SubgraphClient, history: None
) -> None:
    english = cells(await download(issues, PMO, "REGION", language="en"))
    assert english[0][:2] == ["Region", "Issues"]
    assert [(r[0], r[1]) for r in english[1:]] == [("eu", 1), ("sh", 2)]
    assert cells(await download(issues, ZHAO, "DEPARTMENT"))[1:] == []  # sees none


async def test_the_report_file_refuses_a_bad_period_and_a_bad_token(
    issues: SubgraphClient,
) -> None:
    backwards = await download(issues, LI, "REGION", end=T0.isoformat())
    assert (backwards.status_code, backwards.json()["code"]) == (400, "BAD_USER_INPUT")
    assert "`to` must follow `from`" in backwards.json()["message"]
    naive = await download(issues, LI, "REGION", start="2026-11-02T00:00:00")
    assert naive.status_code == 400
    unknown = await download(issues, LI, "TEAM")
    assert unknown.status_code == 400
    anonymous = await issues.http.get("/files/sla-report.xlsx")
    assert anonymous.status_code == 401


async def test_a_lone_surrogate_echoed_in_an_error_is_answered_as_json(
    issues: SubgraphClient,
) -> None:
    """graphql-core's message for a bad DateTime quotes the value; a lone surrogate in it
    cannot be UTF-8, and the answer escapes it instead of failing (shared/graphql/view.py)."""
    body = (
        '{"query": "query($t: DateTime!) { slaReport(from: $t, to: $t, groupBy: REGION)'
        ' { key } }", "variables": {"t": "\\ud800"}}'
    )
    headers = {**await issues.headers(LI), "content-type": "application/json"}
    response = await issues.http.post("/graphql", content=body, headers=headers)
    assert response.status_code == 200, response.text
    [error] = response.json()["errors"]
    assert "\ud800" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
