"""The issue log as a spreadsheet: the download's cells, the upload's dry run, problems,
refusals, history and idempotency, against the real subgraph."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from openpyxl import Workbook, load_workbook

from services.issues.models import SlaClockState
from services.issues.sla.alerts import BREACH_TIMER, WARNING_TIMER
from tests.issues.helpers import (
    LI,
    PMO,
    ZHAO,
    clock_of,
    events_of,
    outbox_types,
    report,
    seed_directory,
    seed_request,
)
from tests.support import Caller, SubgraphClient

SH = Caller("li-sh", departments=("mkt",), region="sh")


async def download(
    api: SubgraphClient, caller: Caller, fmt: str = "xlsx", lang: str = "zh", **query: str
) -> httpx.Response:
    headers = {**await api.headers(caller), "accept-language": lang}
    response = await api.http.get(f"/files/issues.{fmt}", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response


def sheet_rows(body: bytes) -> list[list[Any]]:
    book = load_workbook(io.BytesIO(body))  # not read-only: it keeps trailing empty cells
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    return rows


async def upload(
    api: SubgraphClient, body: bytes, caller: Caller = LI, dry_run: bool = True
) -> httpx.Response:
    headers = await api.headers(caller)
    params = {"dryRun": "true" if dry_run else "false"}
    return await api.http.post("/files/issues.xlsx", params=params, content=body, headers=headers)


def workbook(rows: list[list[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("log")
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


EN_HEADER = [
    "Code", "Request", "Title", "Severity", "Status", "Lead department",
    "Reported at (UTC)", "Acknowledged at (UTC)", "Plan proposed at (UTC)",
]  # fmt: skip


async def test_download_cells_in_chinese_and_english(issues: SubgraphClient) -> None:
    await seed_directory(issues)
    issue = await report(issues, urgent=True)
    zh = sheet_rows((await download(issues, SH)).content)
    assert zh[0][0] == "问题编号"
    assert "上报时间 (Asia/Shanghai)" in zh[0]
    row = dict(zip(zh[0], zh[1], strict=True))
    assert row["问题编号"] == issue["code"]
    assert row["协作需求"] == "cr1"
    assert row["紧急(绿色通道)"] == "是"
    assert row["状态"] == "REPORTED"
    assert row["响应时限状态"] == "计时中"
    reported = datetime.fromisoformat(issue["createdAt"]).astimezone(UTC)
    shown = row["上报时间 (Asia/Shanghai)"]
    assert abs(shown - (reported + timedelta(hours=8)).replace(tzinfo=None)) <= timedelta(seconds=1)
    en = await download(issues, LI, fmt="csv", lang="en")
    assert "issue-log.csv" in en.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(en.content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["Code", "Request", "Title"]
    assert "Reported at (UTC)" in lines[0]
    english = dict(zip(lines[0], lines[1], strict=True))
    assert english["Response SLA"] == "running"
    assert english["Urgent (green channel)"] == "yes"


async def test_filters_and_visibility(issues: SubgraphClient) -> None:
    await seed_request(issues, "cr2", lead="legal", participants=())
    urgent = await report(issues, urgent=True)
    mine = await report(issues)
    theirs = await report(issues, ZHAO, requestId="cr2")
    codes = [r[0] for r in sheet_rows((await download(issues, LI, urgent="true")).content)[1:]]
    assert codes == [urgent["code"]]
    codes = [r[0] for r in sheet_rows((await download(issues, LI)).content)[1:]]
    assert codes == [mine["code"], urgent["code"]]  # newest first, not cr2's issue
    codes = [r[0] for r in sheet_rows((await download(issues, ZHAO)).content)[1:]]
    assert codes == [theirs["code"]]
    everything = await download(issues, PMO, statuses="REPORTED,ACKNOWLEDGED")
    assert len(sheet_rows(everything.content)) == 4
    assert "filename*=UTF-8''%E9%97%AE" in everything.headers["content-disposition"]  # 问题跟踪表
    refused = await issues.http.get(
        "/files/issues.xlsx", params={"statuses": "LOST"}, headers=await issues.headers(LI)
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "INVALID_FILTER"
    anonymous = await issues.http.get("/files/issues.xlsx")
    assert anonymous.status_code == 401


async def test_round_trip_is_unchanged(issues: SubgraphClient) -> None:
    await seed_directory(issues)
    body = workbook([EN_HEADER, historical_row("ISS-2025-0011", "2025-03-03 10:00")])
    assert (await upload(issues, body, dry_run=False)).status_code == 200
    for _ in range(2):
        await report(issues)
    first = (await download(issues, SH)).content  # times in Asia/Shanghai, headers in Chinese
    answer = await upload(issues, first, caller=SH)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["problems"] == []
    assert body["stored"] is False
    assert body["dryRun"] is True
    assert [r["action"] for r in body["rows"]] == ["unchanged"] * 3
    assert sheet_rows((await download(issues, SH)).content) == sheet_rows(first)


async def test_a_dry_run_stores_nothing_and_a_stranger_changes_nothing(
    issues: SubgraphClient,
) -> None:
    await report(issues)
    rows = sheet_rows((await download(issues, PMO, lang="en")).content)
    rows[1][rows[0].index("Plan")] = "ship spare units by air"
    changed = workbook(rows)
    dry = await upload(issues, changed, caller=PMO)
    assert [r["action"] for r in dry.json()["rows"]] == ["update"]
    assert await issues.runtime.pool.fetchval("SELECT plan FROM issues") == ""
    stranger = Caller("qian", departments=("rd",))  # sees the request, is no party of it
    refused = await upload(issues, changed, caller=stranger, dry_run=False)
    assert refused.status_code == 422
    assert [(p["row"], p["column"]) for p in refused.json()["problems"]] == [(2, "Code")]
    assert await issues.runtime.pool.fetchval("SELECT plan FROM issues") == ""


async def test_import_problems_name_row_and_column(issues: SubgraphClient) -> None:
    body = workbook([
        EN_HEADER,
        ["ISS-2025-0001", "nope", "Lost", "HIGH", "REPORTED", "", "2025-03-01 09:00", None, None],
        ["ISS-2025-0002", "cr1", "Late", "HIGH", "DONE", "ghost", "yesterday", None, None],
        ["ISS-2025-0003", "cr1", "Early", "LOW", "ACKNOWLEDGED", "", "2025-03-01 09:00",
         "2025-03-01 08:00", None],
    ])  # fmt: skip
    answer = await upload(issues, body, dry_run=False)
    assert answer.status_code == 422
    found = {(p["row"], p["column"]) for p in answer.json()["problems"]}
    assert found == {
        (2, "Request"),
        (3, "Status"),
        (3, "Lead department"),
        (3, "Reported at (UTC)"),
        (4, "Acknowledged at (UTC)"),
    }
    assert answer.json()["stored"] is False
    assert await issues.runtime.pool.fetchval("SELECT count(*) FROM issues") == 0


async def test_file_refusals(issues: SubgraphClient) -> None:
    not_xlsx = await upload(issues, b"code,title\n1,2\n")
    assert (not_xlsx.status_code, not_xlsx.json()["code"]) == (400, "NOT_A_SPREADSHEET")
    formula = await upload(issues, workbook([EN_HEADER, ["=1+1", "cr1"]]))
    assert (formula.status_code, formula.json()["code"]) == (400, "FORMULA_NOT_ALLOWED")
    macros = io.BytesIO()
    with zipfile.ZipFile(macros, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/vbaProject.bin", b"\0")
    refused = await upload(issues, macros.getvalue())
    assert (refused.status_code, refused.json()["code"]) == (400, "MACROS_NOT_ALLOWED")
    large = await upload(issues, b"\0" * (10 * 2**20 + 1))
    assert (large.status_code, large.json()["code"]) == (413, "FILE_TOO_LARGE")
    assert await issues.runtime.pool.fetchval("SELECT count(*) FROM issues") == 0


def historical_row(code: str, acknowledged: str | None) -> list[Any]:
    status = "ACKNOWLEDGED" if acknowledged else "REPORTED"
    return [code, "cr1", "Customs hold", "HIGH", status, "", "2025-03-03 09:00", acknowledged, None]


async def test_historical_issue_keeps_its_times_and_raises_nothing(issues: SubgraphClient) -> None:
    soon = (datetime.now(UTC) - timedelta(minutes=70)).strftime("%Y-%m-%d %H:%M")
    body = workbook([
        EN_HEADER,
        historical_row("ISS-2025-0007", "2025-03-03 10:00"),  # answered within 2 h: met
        historical_row("ISS-2025-0008", "2025-03-03 12:30"),  # answered late: breached
        historical_row("ISS-2025-0009", None),  # never answered, deadline long past
        [*historical_row("ISS-2026-0900", None)[:6], soon, None, None],  # still running
    ])  # fmt: skip
    dry = await upload(issues, body)
    assert [r["action"] for r in dry.json()["rows"]] == ["create"] * 4
    assert await issues.runtime.pool.fetchval("SELECT count(*) FROM issues") == 0
    stored = await upload(issues, body, dry_run=False)
    assert stored.status_code == 200, stored.text
    assert stored.json()["stored"] is True
    ids = {
        r["code"]: r["id"] for r in await issues.runtime.pool.fetch("SELECT id, code FROM issues")
    }
    met = await clock_of(issues, ids["ISS-2025-0007"], "RESPONSE")
    assert met.state is SlaClockState.MET
    assert met.started_at == datetime(2025, 3, 3, 9, tzinfo=UTC)
    assert met.met_at == datetime(2025, 3, 3, 10, tzinfo=UTC)
    late = await clock_of(issues, ids["ISS-2025-0008"], "RESPONSE")
    assert late.state is SlaClockState.BREACHED
    assert late.breached_at == late.due_at
    silent = await clock_of(issues, ids["ISS-2025-0009"], "RESPONSE")
    assert silent.state is SlaClockState.BREACHED
    running = await clock_of(issues, ids["ISS-2026-0900"], "RESPONSE")
    assert running.state is SlaClockState.RUNNING
    timers = await issues.runtime.pool.fetch(
        "SELECT kind, subject, due_at FROM timers WHERE fired_at IS NULL"
    )
    assert all(t["due_at"] > datetime.now(UTC) for t in timers)
    assert {(t["kind"], t["subject"]) for t in timers} >= {
        (BREACH_TIMER, running.id),
        (WARNING_TIMER, f"{running.id}:75"),
    }
    assert (WARNING_TIMER, f"{running.id}:50") not in {(t["kind"], t["subject"]) for t in timers}
    types = await outbox_types(issues)
    assert types.count("issues.issue.reported") == 4
    assert types.count("issues.issue.acknowledged") == 2
    assert not [t for t in types if "sla_" in t or "escalat" in t]
    assert len(await events_of(issues, "issues.issue.reported")) == 4


async def test_same_file_twice_changes_nothing(issues: SubgraphClient) -> None:
    body = workbook([EN_HEADER, historical_row("ISS-2025-0010", "2025-03-03 10:00")])
    assert (await upload(issues, body, dry_run=False)).status_code == 200
    before = await outbox_types(issues)
    again = await upload(issues, body, dry_run=False)
    assert again.status_code == 200
    assert [r["action"] for r in again.json()["rows"]] == ["unchanged"]
    assert await outbox_types(issues) == before
    assert await issues.runtime.pool.fetchval("SELECT count(*) FROM issues") == 1
    fresh = await report(issues)  # the imported code's year counter moved on
    assert fresh["code"] != "ISS-2025-0010"


async def test_update_of_status_emits_the_move(issues: SubgraphClient) -> None:
    issue = await report(issues)
    rows = sheet_rows((await download(issues, LI, lang="en")).content)
    header = list(rows[0])
    row = list(rows[1])
    row[header.index("Status")] = "ACKNOWLEDGED"
    row[header.index("Acknowledged at (UTC)")] = None
    answer = await upload(issues, workbook([header, row]), dry_run=False)
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"][0]["action"] == "update"
    assert answer.json()["rows"][0]["changes"] == [
        {"column": "Status", "from": "REPORTED", "to": "ACKNOWLEDGED"}
    ]
    assert "issues.issue.acknowledged" in await outbox_types(issues)
    assert (await clock_of(issues, issue["id"], "RESPONSE")).state is SlaClockState.MET


async def test_a_status_change_is_one_lifecycle_move_by_its_party(issues: SubgraphClient) -> None:
    await report(issues)
    header, row = sheet_rows((await download(issues, LI, lang="en")).content)

    def with_status(status: str) -> bytes:
        changed = list(row)
        changed[header.index("Status")] = status
        return workbook([list(header), changed])

    jump = await upload(issues, with_status("RESOLVED"), dry_run=False)
    assert jump.status_code == 422
    [problem] = jump.json()["problems"]
    assert (problem["row"], problem["column"]) == (2, "Status")
    # the mutation's own refusal: one move at a time, from the status it starts from
    code = row[header.index("Code")]
    assert problem["message"] == (
        f"{code}: cannot resolve an issue that is REPORTED; it must be IN_PROGRESS"
    )

    not_theirs = await upload(issues, with_status("ACKNOWLEDGED"), caller=PMO, dry_run=False)
    assert not_theirs.status_code == 422  # the PMO may edit the plan, not acknowledge
    [problem] = not_theirs.json()["problems"]
    assert "only the lead department (mkt) may acknowledge an issue" in problem["message"]

    assert await issues.runtime.pool.fetchval("SELECT status FROM issues") == "REPORTED"
    assert "issues.issue.acknowledged" not in await outbox_types(issues)
