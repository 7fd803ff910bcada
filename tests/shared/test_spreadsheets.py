"""Uploads are read safely or refused whole; downloads stream and open in the libraries that
read them (shared/spreadsheets.py)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import unquote

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared import spreadsheets
from shared.spreadsheets import (
    MAX_BYTES,
    Sheet,
    SpreadsheetRefused,
    Value,
    content_disposition,
    csv_response,
    language,
    read_rows,
    upload_bytes,
    xlsx_response,
)


def workbook(*rows: list[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def body_of(response: Response) -> bytes:
    return b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]


def test_rows_keep_their_numbers_and_the_header_width() -> None:
    data = workbook(
        ["任务", "市场部", "研发部"], ["发布会", "R"], [None, None, None], ["物料", None, "A"]
    )
    header, rows = read_rows(data)
    assert header == ["任务", "市场部", "研发部"]
    assert [(r.number, r.values) for r in rows] == [
        (2, ["发布会", "R", None]),
        (4, ["物料", None, "A"]),
    ]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"name,title\nli,lead\n", "NOT_A_SPREADSHEET"),
        (b"", "NOT_A_SPREADSHEET"),
        (b"x" * (MAX_BYTES + 1), "FILE_TOO_LARGE"),
    ],
)
def test_what_is_not_a_workbook_is_refused(data: bytes, code: str) -> None:
    with pytest.raises(SpreadsheetRefused) as refused:
        read_rows(data)
    assert refused.value.code == code


def test_a_zip_that_is_no_workbook_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(SpreadsheetRefused, match=r"not an \.xlsx") as refused:
        read_rows(out.getvalue())
    assert refused.value.code == "NOT_A_SPREADSHEET"


def test_macros_are_refused() -> None:
    out = io.BytesIO(workbook(["a"], ["b"]))
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"\x00macro")
    with pytest.raises(SpreadsheetRefused) as refused:
        read_rows(out.getvalue())
    assert refused.value.code == "MACROS_NOT_ALLOWED"


def test_a_formula_where_a_value_is_expected_is_refused_with_its_cell() -> None:
    with pytest.raises(SpreadsheetRefused, match="cell B3 holds a formula") as refused:
        read_rows(workbook(["task", "days"], ["a", 3], ["b", "=B2*2"]))
    assert refused.value.code == "FORMULA_NOT_ALLOWED"


def test_too_many_rows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 3)  # 50,000 rows would only be slower
    assert len(read_rows(workbook(["h"], ["1"], ["2"], ["3"]))[1]) == 3
    with pytest.raises(SpreadsheetRefused) as refused:
        read_rows(workbook(["h"], ["1"], ["2"], ["3"], ["4"]))
    assert refused.value.code == "TOO_MANY_ROWS"


def test_a_missing_sheet_and_an_empty_one_are_refused() -> None:
    with pytest.raises(SpreadsheetRefused) as refused:
        read_rows(workbook(["a"]), sheet="问题")
    assert refused.value.code == "SHEET_MISSING"
    with pytest.raises(SpreadsheetRefused) as refused:
        read_rows(workbook())
    assert refused.value.code == "EMPTY_SHEET"


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, "zh"), ("", "zh"), ("zh-CN,zh;q=0.9", "zh"), ("en", "en"), ("en-GB,zh;q=0.5", "en"),
     ("de-DE,en;q=0.8", "zh")],
)  # fmt: skip
def test_chinese_unless_english_comes_first(header: str | None, expected: str) -> None:
    assert language(header) == expected


def test_file_names_in_chinese_have_an_ascii_fallback() -> None:
    value = content_disposition('RACI 矩阵 "Q4".xlsx')
    assert value.startswith('attachment; filename="RACI __ Q4.xlsx"')
    assert unquote(value.split("filename*=UTF-8''")[1]) == 'RACI 矩阵 "Q4".xlsx'


async def test_an_xlsx_download_opens_with_its_cells_and_sheets() -> None:
    reported = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    log: list[list[Value]] = [["ISS-1", reported, True]]
    sheets = [
        Sheet("问题日志", ["编号", "报告时间", "紧急"], iter(log)),
        Sheet("a title longer than excel's thirty-one characters", ["x"], [[1]]),
    ]
    response = xlsx_response("问题日志.xlsx", sheets)
    assert response.media_type == spreadsheets.XLSX_TYPE
    book = load_workbook(io.BytesIO(await body_of(response)))
    assert book.sheetnames == ["问题日志", "a title longer than excel's thi"]
    first = book["问题日志"]
    assert [c.value for c in first[1]] == ["编号", "报告时间", "紧急"]
    assert [c.value for c in first[2]] == ["ISS-1", datetime(2026, 12, 1, 9, 30), True]


async def test_a_csv_download_has_a_bom_and_reads_back() -> None:
    rows: list[list[Value]] = [["ISS-1", "海关, 扣货"], ["ISS-2", None]]
    response = csv_response("log.csv", ["编号", "标题"], iter(rows))
    data = await body_of(response)
    assert data.startswith("\ufeff".encode())
    read = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert read == [["编号", "标题"], ["ISS-1", "海关, 扣货"], ["ISS-2", ""]]


async def test_an_upload_is_read_only_up_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spreadsheets, "MAX_BYTES", 10)

    async def echo(request: Request) -> Response:
        try:
            return JSONResponse({"bytes": len(await upload_bytes(request))})
        except SpreadsheetRefused as refused:
            return JSONResponse({"code": refused.code}, status_code=413)

    app = Starlette(routes=[Route("/upload", echo, methods=["POST"])])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as http:
        assert (await http.post("/upload", content=b"0123456789")).json() == {"bytes": 10}
        declared = await http.post("/upload", content=b"0123456789a")
        assert (declared.status_code, declared.json()) == (413, {"code": "FILE_TOO_LARGE"})

        async def undeclared() -> AsyncIterator[
            bytes
        ]:  # streamed: no content-length to refuse early
            for _ in range(3):
                yield b"0123"

        streamed = await http.post("/upload", content=undeclared())
        assert (streamed.status_code, streamed.json()) == (413, {"code": "FILE_TOO_LARGE"})
