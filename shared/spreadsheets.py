"""The handbook's templates as spreadsheets: reading an uploaded .xlsx safely, writing .xlsx
and CSV downloads as streams, and the headers either way.

Uploads are refused, with nothing read further, when they are not an .xlsx workbook (a zip
with a workbook part), carry macros (``vbaProject.bin``), exceed :data:`MAX_BYTES` or
:data:`MAX_ROWS`, or hold a formula where a value is expected: a cell's formula is the
spreadsheet's, not a value anyone typed, and its cached result may be stale. Downloads are
written by openpyxl's write-only mode into a spooled temporary file, then streamed, so a
10,000-row log keeps memory flat; CSV is UTF-8 with a byte-order mark, which Excel and WPS
need to read Chinese text.
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import TYPE_FORMULA
from starlette.requests import Request
from starlette.responses import StreamingResponse

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CHUNK = 64 * 1024

Language = Literal["zh", "en"]
Value = str | int | float | Decimal | bool | date | datetime | None


class SpreadsheetRefused(Exception):
    """An upload that is not read at all; ``code`` is the error code clients switch on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Problem:
    """Why one cell (or row, ``column`` empty) of an upload cannot be stored."""

    row: int
    column: str
    message: str
    sheet: str = ""
    """For a workbook read sheet by sheet, which one."""

    def as_json(self) -> dict[str, Any]:
        found = {"row": self.row, "column": self.column, "message": self.message}
        return {"sheet": self.sheet, **found} if self.sheet else found


@dataclass(frozen=True)
class Sheet:
    """One sheet of a download: its title, header and rows (values in header order)."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Value]]


def language(accept_language: str | None) -> Language:
    """Chinese unless the caller's first choice is English (``Accept-Language: en``)."""
    first = (accept_language or "").split(",")[0].split(";")[0].strip().lower()
    return "en" if first.startswith("en") else "zh"


def content_disposition(filename: str) -> str:
    """``attachment`` with the name in UTF-8 (RFC 6266/5987) and an ASCII fallback."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


async def upload_bytes(request: Request) -> bytes:
    """The uploaded file (the request's body), read only up to :data:`MAX_BYTES`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise SpreadsheetRefused("FILE_TOO_LARGE", f"the file is over {MAX_BYTES // 2**20} MB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BYTES:
            raise SpreadsheetRefused("FILE_TOO_LARGE", f"the file is over {MAX_BYTES // 2**20} MB")
    return bytes(body)


def read_sheets(data: bytes) -> dict[str, tuple[list[str], list[Row]]]:
    """Every sheet of an uploaded workbook by title: its header and value rows, each row with
    its number in the sheet and as long as the header, empty rows left out (an empty sheet
    has an empty header); refused as :class:`SpreadsheetRefused`."""
    if len(data) > MAX_BYTES:
        raise SpreadsheetRefused("FILE_TOO_LARGE", f"the file is over {MAX_BYTES // 2**20} MB")
    try:
        parts = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except zipfile.BadZipFile:
        raise SpreadsheetRefused("NOT_A_SPREADSHEET", "the file is not an .xlsx workbook") from None
    if "xl/workbook.xml" not in parts:
        raise SpreadsheetRefused("NOT_A_SPREADSHEET", "the file is not an .xlsx workbook")
    if any(part.endswith("vbaProject.bin") for part in parts):
        raise SpreadsheetRefused("MACROS_NOT_ALLOWED", "the workbook holds macros")
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        return {sheet.title: _header_and_rows(_values(sheet)) for sheet in book.worksheets}
    finally:
        book.close()


def read_rows(data: bytes, sheet: str | None = None) -> tuple[list[str], list[Row]]:
    """The header and value rows (as :func:`read_sheets`) of ``sheet``, the first if None."""
    sheets = read_sheets(data)
    if sheet is not None and sheet not in sheets:
        raise SpreadsheetRefused("SHEET_MISSING", f"the workbook has no sheet {sheet!r}")
    header, rows = sheets[sheet] if sheet is not None else next(iter(sheets.values()))
    if not header:
        raise SpreadsheetRefused("EMPTY_SHEET", "the sheet has no header row")
    return header, rows


def _header_and_rows(rows: list[Row]) -> tuple[list[str], list[Row]]:
    if not rows:
        return [], []
    header = [str(v).strip() if v is not None else "" for v in rows[0].values]
    width = len(header)  # read-only mode leaves a row's trailing empty cells out
    return header, [Row(r.number, [*r.values, *[None] * width][:width]) for r in rows[1:]]


@dataclass(frozen=True)
class Row:
    """A row of an upload: its number in the sheet (1 is the header) and its values."""

    number: int
    values: list[Any]


def _values(worksheet: Any) -> list[Row]:
    rows: list[Row] = []
    for number, cells in enumerate(worksheet.iter_rows(), start=1):
        if number > MAX_ROWS + 1:  # the header, then at most MAX_ROWS
            raise SpreadsheetRefused("TOO_MANY_ROWS", f"the sheet has over {MAX_ROWS} rows")
        values = []
        for cell in cells:
            if getattr(cell, "data_type", None) == TYPE_FORMULA:
                where = f"{cell.column_letter}{number}"
                raise SpreadsheetRefused("FORMULA_NOT_ALLOWED", f"cell {where} holds a formula")
            values.append(cell.value)
        if any(v not in (None, "") for v in values):
            rows.append(Row(number, values))
    return rows


def _workbook_file(sheets: Iterable[Sheet]) -> Any:
    """The workbook written to a spooled file, rewound: write-only, so rows are not kept."""
    book = Workbook(write_only=True)
    for sheet in sheets:
        page = book.create_sheet(sheet.title[:31])  # Excel's limit on a sheet's title
        page.append(list(sheet.header))
        for row in sheet.rows:
            page.append([_cell(v) for v in row])
    return _saved(book)


def _saved(book: Workbook) -> Any:
    # closed by _chunks once streamed (or when the response is dropped)
    spooled = tempfile.SpooledTemporaryFile(max_size=16 * 2**20)  # noqa: SIM115
    book.save(spooled)
    spooled.seek(0)
    return spooled


def _cell(value: Value) -> Value:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones: callers convert first
    return value


async def _chunks(spooled: Any) -> AsyncIterator[bytes]:
    try:
        while chunk := spooled.read(_CHUNK):
            yield chunk
    finally:
        spooled.close()


def xlsx_response(filename: str, sheets: Iterable[Sheet]) -> StreamingResponse:
    """A download of ``sheets`` as ``filename`` (.xlsx)."""
    return StreamingResponse(
        _chunks(_workbook_file(sheets)),
        media_type=XLSX_TYPE,
        headers={"content-disposition": content_disposition(filename)},
    )


def _csv_lines(header: Sequence[str], rows: Iterable[Sequence[Value]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff".encode()
    for row in _prepend(header, rows):
        writer.writerow(["" if v is None else v for v in row])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()


def _prepend(header: Sequence[str], rows: Iterable[Sequence[Value]]) -> Iterator[Sequence[Value]]:
    yield header
    yield from rows


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Value]]
) -> StreamingResponse:
    """A download of ``rows`` as ``filename`` (.csv, UTF-8 with a BOM)."""
    return StreamingResponse(
        _csv_lines(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": content_disposition(filename)},
    )


async def xlsx_response_from(
    filename: str, title: str, header: Sequence[str], rows: AsyncIterable[Sequence[Value]]
) -> StreamingResponse:
    """:func:`xlsx_response` of one sheet whose rows are read asynchronously (a database
    cursor): each row goes to the write-only sheet as it arrives, none is kept."""
    book = Workbook(write_only=True)
    page = book.create_sheet(title[:31])
    page.append(list(header))
    async for row in rows:
        page.append([_cell(v) for v in row])
    return StreamingResponse(
        _chunks(_saved(book)),
        media_type=XLSX_TYPE,
        headers={"content-disposition": content_disposition(filename)},
    )


def _csv_line(row: Sequence[Value]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(["" if v is None else v for v in row])
    return buffer.getvalue().encode()


async def _csv_lines_from(
    header: Sequence[str], rows: AsyncIterable[Sequence[Value]]
) -> AsyncIterator[bytes]:
    yield "\ufeff".encode() + _csv_line(header)  # the byte-order mark, as _csv_lines
    async for row in rows:
        yield _csv_line(row)


def csv_response_from(
    filename: str, header: Sequence[str], rows: AsyncIterable[Sequence[Value]]
) -> StreamingResponse:
    """:func:`csv_response` for rows read asynchronously, sent as each one arrives."""
    return StreamingResponse(
        _csv_lines_from(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": content_disposition(filename)},
    )
