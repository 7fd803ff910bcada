"""Departments and people from a spreadsheet (``POST /files/directory.xlsx``): a dry run that
says what each row would do and every problem by sheet, row and column, then one transaction
that stores the file whole with the mutations' events, and nothing the second time."""

from __future__ import annotations

import io
from typing import Any

import httpx
from openpyxl import Workbook

from tests.requests.helpers import LI, outbox
from tests.support import ADMIN, Caller, SubgraphClient

URL = "/files/directory.xlsx"
DEPARTMENTS = ["编号", "代码", "名称", "区域", "上级部门", "负责人"]
PEOPLE = [
    "编号",
    "姓名",
    "邮箱",
    "部门",
    "区域",
    "时区",
    "角色",
    "钉钉",
    "企业微信",
    "飞书",
    "在职",
]


def workbook(departments: list[list[Any]] | None, people: list[list[Any]] | None) -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for title, header, rows in (("部门", DEPARTMENTS, departments), ("人员", PEOPLE, people)):
        if rows is not None:
            sheet = book.create_sheet(title)
            sheet.append(header)
            for row in rows:
                sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def person(
    id_: str, name: str, email: str | None, department: str, **more: str | None
) -> list[Any]:
    """A row of the people sheet, in PEOPLE's order."""
    rest = [more.get(k) for k in ("roles", "dingtalk", "wecom", "feishu", "active")]
    return [id_, name, email, department, more.get("region", "hq"),
            more.get("tz", "Asia/Shanghai"), *rest]  # fmt: skip


GOOD = workbook(
    [
        ["ops", "OPS", "运营部", "hq", None, "sun"],
        ["ops-east", "OPS-E", "华东运营", "hq", "ops", None],  # under a department of this file
        ["mkt", "MKT", "市场与品牌部", "hq", None, "li"],  # renamed
    ],
    [
        person("sun", "孙悦", "sun@x.example", "ops", roles="DEPARTMENT_HEAD", active="是"),
        person("zhou", "Zhou Li", "zhou@x.example", "ops-east", dingtalk="dt-zhou"),
        person("chen", "Chen Jie", "chen@x.example", "mkt", roles="MEMBER", active="是"),
    ],
)


async def post(
    api: SubgraphClient, data: bytes, caller: Caller = ADMIN, dry_run: bool = False
) -> httpx.Response:
    params = {"dryRun": "true"} if dry_run else {}
    return await api.http.post(URL, content=data, params=params, headers=await api.headers(caller))


async def directory_state(api: SubgraphClient) -> list[Any]:
    departments = await api.runtime.pool.fetch("SELECT * FROM departments ORDER BY id")
    people = await api.runtime.pool.fetch("SELECT * FROM people ORDER BY id")
    return [dict(r) for r in [*departments, *people]]


async def test_a_dry_run_says_what_each_row_would_do_and_stores_nothing(
    api: SubgraphClient,
) -> None:
    before, events = await directory_state(api), len(await outbox(api))
    response = await post(api, GOOD, dry_run=True)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["dryRun"], answer["stored"], answer["problems"]) == (True, False, [])
    actions = {(r["sheet"], r["row"], r["id"]): (r["action"], r["changes"]) for r in answer["rows"]}
    assert actions == {
        ("部门", 2, "ops"): ("create", []),
        ("部门", 3, "ops-east"): ("create", []),
        ("部门", 4, "mkt"): ("update", ["name"]),
        ("人员", 2, "sun"): ("create", []),
        ("人员", 3, "zhou"): ("create", []),
        ("人员", 4, "chen"): ("unchanged", []),
    }
    assert await directory_state(api) == before
    assert len(await outbox(api)) == events


async def test_the_file_is_stored_whole_with_the_mutations_events_and_once(
    api: SubgraphClient,
) -> None:
    events = len(await outbox(api))
    response = await post(api, GOOD)
    assert response.status_code == 200, response.text
    assert response.json()["stored"] is True
    ops = await api.runtime.pool.fetchrow("SELECT * FROM departments WHERE id = 'ops-east'")
    assert ops is not None
    assert (ops["parent_id"], ops["name"]) == ("ops", "华东运营")
    head = await api.runtime.pool.fetchval("SELECT head_id FROM departments WHERE id = 'ops'")
    assert head == "sun"  # a head the same file adds
    zhou = await api.runtime.pool.fetchrow("SELECT * FROM people WHERE id = 'zhou'")
    assert zhou is not None
    assert (zhou["roles"], zhou["dingtalk_id"], zhou["active"]) == (["MEMBER"], "dt-zhou", True)
    emitted = [t for t, _ in (await outbox(api))[events:]]
    assert sorted(emitted) == sorted(
        ["requests.department.upserted"] * 3 + ["requests.person.upserted"] * 2
    )
    # The same file again: every row unchanged, nothing stored, no event.
    again = await post(api, GOOD)
    assert {r["action"] for r in again.json()["rows"]} == {"unchanged"}
    assert len(await outbox(api)) == events + 5


async def test_every_problem_is_named_by_sheet_row_and_column_and_nothing_is_stored(
    api: SubgraphClient,
) -> None:
    bad = workbook(
        [
            ["qa", "QA", "质量部", "mars", "nowhere", "ghost"],
            ["loop-a", "LA", "A", "hq", "loop-b", None],
            ["loop-b", "LB", "B", "hq", "loop-a", None],
            ["qa", "QA2", "重复", "hq", None, None],
        ],
        [
            person("kim", "Kim", None, "qa", tz="Mars/Olympus", roles="MEMBER,KING", active="也许"),
            person("lee", "Lee", "lee@x.example", "unknown-dept"),
        ],
    )
    before, events = await directory_state(api), len(await outbox(api))
    response = await post(api, bad)
    assert response.status_code == 422
    answer = response.json()
    assert answer["stored"] is False
    problems = {(p["sheet"], p["row"], p["column"]) for p in answer["problems"]}
    assert problems == {
        ("部门", 2, "区域"),  # no region mars
        ("部门", 2, "上级部门"),  # no such parent
        ("部门", 2, "负责人"),  # no such head
        ("部门", 3, "上级部门"),  # a cycle, both ways
        ("部门", 4, "上级部门"),
        ("部门", 5, "编号"),  # qa twice
        ("人员", 2, "邮箱"),  # missing
        ("人员", 2, "时区"),
        ("人员", 2, "角色"),
        ("人员", 2, "在职"),
        ("人员", 3, "部门"),
    }
    assert await directory_state(api) == before
    assert len(await outbox(api)) == events


async def test_only_an_admin_imports(api: SubgraphClient) -> None:
    response = await post(api, GOOD, caller=LI, dry_run=True)
    assert response.status_code == 403
    anonymous = await api.http.post(URL, content=GOOD)
    assert anonymous.status_code == 401


async def test_a_file_that_is_not_a_directory_sheet_is_refused_whole(api: SubgraphClient) -> None:
    not_a_workbook = await post(api, b"id,name\nx,y\n")
    assert (not_a_workbook.status_code, not_a_workbook.json()["code"]) == (400, "NOT_A_SPREADSHEET")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sheet1"
    sheet.append(["a"])
    out = io.BytesIO()
    book.save(out)
    unnamed = await post(api, out.getvalue())
    assert (unnamed.status_code, unnamed.json()["code"]) == (400, "SHEET_MISSING")


async def test_a_missing_column_is_one_problem_and_english_headers_are_read(
    api: SubgraphClient,
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "People"
    sheet.append(["ID", "Name", "Department", "Region", "Time zone"])  # no E-mail
    sheet.append(["kim", "Kim", "mkt", "hq", "Asia/Shanghai"])
    out = io.BytesIO()
    book.save(out)
    answer = (await post(api, out.getvalue(), dry_run=True)).json()
    assert answer["rows"] == []
    assert answer["problems"] == [
        {
            "sheet": "People",
            "row": 1,
            "column": "邮箱",
            "message": "the column 邮箱 / E-mail is missing",
        }
    ]
