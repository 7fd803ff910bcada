"""Keyset cursors, the ``first`` cap and connection building."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from shared.graphql.errors import PublicError
from shared.graphql.pagination import (
    PageRequest,
    build_connection,
    decode_cursor,
    encode_cursor,
    page_request,
)


@pytest.mark.parametrize(
    "key",
    [
        ["2025-01-02T03:04:05+00:00", "0190c3c2-0000-7000-8000-000000000001"],
        [3, "x"],
        ["ünïcødé ☃", None, 1.5, True],
        [],
    ],
)
def test_cursor_round_trip(key: list[object]) -> None:
    cursor = encode_cursor(key)
    assert cursor.isascii()
    assert decode_cursor(cursor) == key
    assert page_request(10, cursor, 100) == PageRequest(limit=10, after=key)


def test_cursor_of_a_tuple_key() -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert decode_cursor(encode_cursor((when, 7))) == ["2025-01-02T03:04:05+00:00", 7]


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 !!",
        "%%%%",
        "ü",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b"42").decode(),
        base64.urlsafe_b64encode(b'"text"').decode(),
        "abc",  # bad padding
    ],
)
def test_invalid_cursor_is_a_public_error(cursor: str) -> None:
    with pytest.raises(PublicError, match="cursor"):
        decode_cursor(cursor)
    with pytest.raises(PublicError):
        page_request(10, cursor, 100)


def test_no_cursor_starts_at_the_beginning() -> None:
    assert page_request(5, None, 100) == PageRequest(limit=5, after=None)
    assert page_request(5, "", 100) == PageRequest(limit=5, after=None)


@pytest.mark.parametrize("first", [0, -1, 101, 10_000])
def test_first_outside_the_range_is_a_public_error(first: int) -> None:
    with pytest.raises(PublicError, match="between 1 and 100"):
        page_request(first, None, 100)


@pytest.mark.parametrize("first", [1, 100])
def test_first_at_the_bounds_is_accepted(first: int) -> None:
    assert page_request(first, None, 100).limit == first


ROWS = [{"id": i, "name": f"n{i}"} for i in range(1, 8)]


def page_of(rows: list[dict[str, object]], first: int, after: str | None = None) -> object:
    page = page_request(first, after, 100)
    start = (
        0
        if page.after is None
        else next(i + 1 for i, row in enumerate(rows) if [row["id"]] == page.after)
    )
    fetched = rows[start : start + page.limit + 1]  # what a LIMIT first+1 query returns
    return build_connection(fetched, page, lambda r: [r["id"]], lambda r: r["name"], len(rows))


def test_build_connection_pages_through_everything() -> None:
    seen: list[object] = []
    after = None
    pages = 0
    while True:
        connection = page_of(ROWS, 3, after)
        pages += 1
        seen += [edge.node for edge in connection.edges]  # type: ignore[attr-defined]
        info = connection.page_info  # type: ignore[attr-defined]
        assert connection.total_count == 7  # type: ignore[attr-defined]
        if not info.has_next_page:
            break
        assert info.end_cursor == connection.edges[-1].cursor  # type: ignore[attr-defined]
        after = info.end_cursor
    assert pages == 3
    assert seen == [f"n{i}" for i in range(1, 8)]


def test_build_connection_has_next_page() -> None:
    page = PageRequest(limit=3, after=None)
    exact = build_connection(ROWS[:3], page, lambda r: [r["id"]], lambda r: r["id"])
    assert not exact.page_info.has_next_page
    assert [e.node for e in exact.edges] == [1, 2, 3]
    assert decode_cursor(exact.edges[1].cursor) == [2]
    assert exact.page_info.end_cursor == exact.edges[-1].cursor

    more = build_connection(ROWS[:4], page, lambda r: [r["id"]], lambda r: r["id"])
    assert more.page_info.has_next_page
    assert [e.node for e in more.edges] == [1, 2, 3]  # the extra row only signals more
    assert more.total_count is None

    empty = build_connection([], page, lambda r: [r["id"]], lambda r: r["id"])
    assert empty.edges == []
    assert not empty.page_info.has_next_page
    assert empty.page_info.end_cursor is None
