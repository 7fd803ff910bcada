"""The RACI matrix (template 2) as .xlsx: the download's cells, the upload's plan, problems
and refusals, the round trip and the real run's events, against the real subgraph."""

from __future__ import annotations

import io
import zipfile
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from tests.support import Caller, SubgraphClient
from tests.tasks.helpers import LI, PMO, WANG, ZHAO, create_task, outbox, seeded, snapshot

URL = "/files/requests/req-1/raci.xlsx"
ZH_HEADER = ["任务编号", "任务", "eu [department:eu]", "legal [department:legal]"]
PEOPLE = ["Li [person:li]", "Wang [person:wang]"]


@pytest.fixture
async def api(tasks_api: SubgraphClient) -> SubgraphClient:
    return await seeded(tasks_api)


async def download(
    api: SubgraphClient, caller: Caller | None = LI, lang: str | None = None
) -> httpx.Response:
    headers = await api.headers(caller)
    if lang:
        headers["accept-language"] = lang
    return await api.http.get(URL, headers=headers)


async def upload(
    api: SubgraphClient, body: bytes, dry_run: bool = True, caller: Caller | None = LI
) -> httpx.Response:
    headers = await api.headers(caller)
    params = {"dryRun": "true" if dry_run else "false"}
    return await api.http.post(URL, content=body, params=params, headers=headers)


def sheets(body: bytes) -> dict[str, list[list[Any]]]:
    """Every sheet of a workbook as its rows of values."""
    book = load_workbook(io.BytesIO(body))
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}


def workbook(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def two_tasks(api: SubgraphClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """The helpers' full RACI on one task; only an A and an R on the other, so the
    participating department eu holds no role there (it does on the first)."""
    first = await create_task(api)
    second = await create_task(
        api,
        title="Book the venue",
        raci=[{"role": "A", "personId": "li"}, {"role": "R", "personId": "wang"}],
    )
    return first, second


async def test_download_is_template_2_with_its_problems_in_chinese(api: SubgraphClient) -> None:
    first, second = await two_tasks(api)
    answer = await download(api)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = answer.headers["content-disposition"]
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "RACI责任矩阵-CR-2026-req-1.xlsx"
    found = sheets(answer.content)
    assert list(found) == ["RACI责任矩阵", "问题"]
    assert found["RACI责任矩阵"] == [
        [*ZH_HEADER, *PEOPLE],
        [first["id"], "Prepare launch materials", "I", "C", "A", "R"],
        [second["id"], "Book the venue", None, None, "A", "R"],
    ]
    # Nobody shows legal's gap: it does not take part; every participant holds a role.
    assert found["问题"] == [["类型", "任务", "部门", "说明"]]


async def test_download_in_english_lists_the_gaps(api: SubgraphClient) -> None:
    await create_task(
        api, raci=[{"role": "A", "personId": "li"}, {"role": "R", "departmentId": "rd"}]
    )
    answer = await download(api, lang="en-GB,en;q=0.9")
    disposition = answer.headers["content-disposition"]
    assert 'filename="RACI-matrix-CR-2026-req-1.xlsx"' in disposition
    found = sheets(answer.content)
    assert found["RACI matrix"][0] == ["Task ID", "Task", "rd [department:rd]", "Li [person:li]"]
    assert found["RACI matrix"][1][2:] == ["R", "A"]
    assert found["Problems"] == [
        ["Code", "Task", "Department", "Message"],
        [
            "DEPARTMENT_UNASSIGNED",
            None,
            "eu",
            "a participating department holds no role in any task",
        ],
    ]


async def test_who_may_not_see_the_matrix_gets_404_and_a_bad_token_401(
    api: SubgraphClient,
) -> None:
    await create_task(api)
    assert (await download(api, ZHAO)).status_code == 404
    assert (await download(api, PMO)).status_code == 200
    headers = {**(await api.headers(None)), "authorization": "Bearer nonsense"}
    assert (await api.http.get(URL, headers=headers)).status_code == 401
    body = (await download(api)).content
    assert (await upload(api, body, caller=ZHAO)).status_code == 404
    refused = await upload(api, body, caller=WANG)  # takes part, but does not plan
    assert refused.status_code == 403
    assert refused.json()["code"] == "FORBIDDEN"
    assert (await api.http.post(URL, content=body, headers=headers)).status_code == 401


async def test_round_trip_changes_nothing_and_emits_nothing(api: SubgraphClient) -> None:
    await two_tasks(api)
    exported = (await download(api)).content
    dry = (await upload(api, exported)).json()
    assert dry["dryRun"] is True
    assert dry["problems"] == []
    assert [r["action"] for r in dry["rows"]] == ["unchanged", "unchanged"]
    assert [r["row"] for r in dry["rows"]] == [2, 3]
    before = await snapshot(api)
    real = await upload(api, exported, dry_run=False)
    assert real.status_code == 200
    assert real.json()["stored"] is False
    assert await snapshot(api) == before
    assert sheets((await download(api)).content) == sheets(exported)


async def test_import_updates_and_creates_in_one_run_then_is_idempotent(
    api: SubgraphClient,
) -> None:
    first, _ = await two_tasks(api)
    rows = sheets((await download(api)).content)["RACI责任矩阵"]
    rows[1][2] = None  # eu no longer informed on the first task
    rows[1][3] = "C, I"
    rows.append([None, "Print the posters", None, "C", "A", "R"])
    edited = workbook(rows)
    before = await snapshot(api)
    dry = (await upload(api, edited)).json()
    assert await snapshot(api) == before
    assert dry["stored"] is False
    assert dry["problems"] == []
    assert [(r["row"], r["action"]) for r in dry["rows"]] == [
        (2, "update"),
        (3, "unchanged"),
        (4, "create"),
    ]
    assert dry["rows"][0]["changes"] == [
        {"column": "legal [department:legal]", "from": "C", "to": "C, I"},
        {"column": "eu [department:eu]", "from": "I", "to": ""},
    ]
    assert dry["rows"][2]["taskId"] is None
    assert dry["rows"][2]["task"] == "Print the posters"

    real = await upload(api, edited, dry_run=False)
    assert real.status_code == 200
    assert real.json()["stored"] is True
    [raci_set] = await outbox(api, "tasks.raci.set")
    assert raci_set["subject"] == first["id"]
    # The person entry keeps the department it named; new entries are as the sheet says.
    assert raci_set["data"]["raci"] == [
        {"role": "R", "person_id": "wang", "department_id": "rd"},
        {"role": "A", "person_id": "li", "department_id": None},
        {"role": "C", "person_id": None, "department_id": "legal"},
        {"role": "I", "person_id": None, "department_id": "legal"},
    ]
    created = await outbox(api, "tasks.task.created")
    assert [e["data"]["title"] for e in created][-1] == "Print the posters"
    after = sheets((await download(api)).content)["RACI责任矩阵"]
    # eu holds a role nowhere now, so its column is gone
    assert after[0] == ["任务编号", "任务", "legal [department:legal]", *PEOPLE]
    assert [r[1:] for r in after[1:]] == [
        ["Prepare launch materials", "C, I", "A", "R"],
        ["Book the venue", None, "A", "R"],
        ["Print the posters", "C", "A", "R"],
    ]

    events = await api.runtime.pool.fetchval("SELECT count(*) FROM outbox")
    again = (await upload(api, edited, dry_run=False)).json()
    assert [r["action"] for r in again["rows"]] == ["unchanged"] * 3
    assert again["stored"] is False
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM outbox") == events


async def test_problems_name_row_and_column_and_the_real_run_stores_nothing(
    api: SubgraphClient,
) -> None:
    first, second = await two_tasks(api)
    rows = [
        [*ZH_HEADER, *PEOPLE, "Nobody [department:nowhere]", "Finance"],
        [first["id"], None, "A", "C", "A", "R", None, None],  # two As, one a department's
        [second["id"], "Book the venue", "X", None, "A", "R, Q", None, None],
        ["no-such-id", "Ghost", None, None, "A", "R", None, None],
        [None, "A new task", None, None, None, "R", None, None],  # nobody accountable
        [None, "Another one", None, None, "A", "R", None, None],  # fine on its own
    ]
    body = workbook(rows)
    before = await snapshot(api)
    dry = (await upload(api, body)).json()
    problems = [(p["row"], p["column"]) for p in dry["problems"]]
    assert problems == [
        (1, "G"),  # an unknown department
        (1, "H"),  # a name the directory does not know
        (2, "E"),  # the second A
        (2, "C"),  # an A for a department
        (3, "C"),  # X
        (3, "F"),  # Q
        (4, "A"),  # an id that is no task of this request
        (5, "B"),  # no A
    ]
    messages = {(p["row"], p["column"]): p["message"] for p in dry["problems"]}
    assert messages[(3, "C")] == "'X' is not one of R, A, C, I"
    assert "nowhere" in messages[(1, "G")]
    real = await upload(api, body, dry_run=False)
    assert real.status_code == 422
    assert real.json()["stored"] is False
    assert [(p["row"], p["column"]) for p in real.json()["problems"]] == problems
    assert await snapshot(api) == before


def _macro_workbook() -> bytes:
    out = io.BytesIO(workbook([["任务编号", "任务"]]))
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"\0")
    return out.getvalue()


def _many_rows() -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["任务编号", "任务"])
    for _ in range(50_001):
        sheet.append([None, "t"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"task,R\nposters,A\n", "NOT_A_SPREADSHEET"),
        (_macro_workbook(), "MACROS_NOT_ALLOWED"),
        (workbook([["任务编号", "任务"], [None, "=1+1"]]), "FORMULA_NOT_ALLOWED"),
        (_many_rows(), "TOO_MANY_ROWS"),
    ],
)
async def test_files_that_are_not_read_are_refused_with_nothing_stored(
    api: SubgraphClient, body: bytes, code: str
) -> None:
    before = await snapshot(api)
    for dry_run in (True, False):
        refused = await upload(api, body, dry_run=dry_run)
        assert refused.status_code == 400
        assert refused.json()["code"] == code
        assert refused.json()["message"]
    assert await snapshot(api) == before


async def test_a_file_over_the_size_limit_is_refused_413(api: SubgraphClient) -> None:
    before = await snapshot(api)
    refused = await upload(api, b"\0" * (10 * 2**20 + 1), dry_run=False)
    assert (refused.status_code, refused.json()["code"]) == (413, "FILE_TOO_LARGE")
    assert await snapshot(api) == before
    # Over the 1 MiB of a GraphQL body, within the 10 MB of a file: read, then judged as a
    # workbook (this one is none).
    bulky = await upload(api, b"\0" * (2 * 2**20), dry_run=True)
    assert (bulky.status_code, bulky.json()["code"]) == (400, "NOT_A_SPREADSHEET")
