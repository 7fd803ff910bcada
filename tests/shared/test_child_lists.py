"""Nested pages (shared/child_lists.py, shared/graphql/child_pages.py): cursor values are
typed per sort column, orders that mix directions page correctly, in-memory pages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.child_lists import ChildList, SortKey, parse_key
from shared.graphql.child_pages import after_key, in_memory_page
from shared.graphql.errors import PublicError
from shared.graphql.pagination import PageRequest

MIXED = ChildList(
    source="reports",
    parent="request_id",
    columns="id, request_id, day",
    order=(SortKey("day", sql_type="date", descending=True), SortKey("id")),
    to_model=dict,
)


def test_key_values_become_typed_parameters() -> None:
    order = (
        SortKey("at", sql_type="timestamptz"),
        SortKey("day", sql_type="date"),
        SortKey("required", sql_type="boolean"),
        SortKey("seq", sql_type="bigint"),
        SortKey("id"),
    )
    values = ["2026-03-02T09:00:00.250000+00:00", "2026-03-02", True, 7, "x"]
    assert parse_key(order, values) == (
        datetime(2026, 3, 2, 9, 0, 0, 250000, tzinfo=UTC),
        date(2026, 3, 2),
        True,
        7,
        "x",
    )


@pytest.mark.parametrize(
    "values",
    [
        ["2026-03-02"],  # too few
        ["2026-03-02", "a", "b"],  # too many
        [5, "a"],  # not a day
        ["yesterday", "a"],
        ["2026-03-02", 5],  # not text
    ],
)
def test_a_key_of_another_list_is_refused(values: list[Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        MIXED.parse(values)
    with pytest.raises(PublicError, match="not a cursor this API returned"):
        after_key(PageRequest(limit=2, after=values), MIXED.order)


def test_instants_without_offset_and_numbers_that_are_flags_are_refused() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_key((SortKey("at", sql_type="timestamptz"),), ["2026-03-02T09:00:00"])
    with pytest.raises(ValueError, match="not a whole number"):
        parse_key((SortKey("seq", sql_type="bigint"),), [True])


def test_an_order_mixing_directions_compares_prefix_by_prefix() -> None:
    sql = " ".join(MIXED.statement(after=True, count=False, arg_count=0).split())
    assert "(day < $3::date) OR (day = $3::date AND id > $4::text)" in sql
    assert "ORDER BY day DESC, id LIMIT $2" in sql
    assert "count(*)" not in sql
    same_way = ChildList(
        "t", "p", "id, at", (SortKey("at", sql_type="timestamptz"), SortKey("id")), dict
    )
    assert "(at, id) > ($3::timestamptz, $4::text)" in same_way.statement(
        after=True, count=True, arg_count=0
    )


def test_where_arguments_come_first() -> None:
    visible = ChildList("t", "p", "id", (SortKey("id"),), dict, where="$1 OR owner = $2")
    sql = " ".join(visible.statement(after=True, count=True, arg_count=2).split())
    assert "unnest($3::text[])" in sql
    assert "LIMIT $4" in sql
    assert "(id) > ($5::text)" in sql
    assert sql.count("($1 OR owner = $2)") == 2  # the page and its count


def test_in_memory_pages_follow_the_key() -> None:
    items = [[0, "a"], [0, "b"], [1, "a"]]
    assert in_memory_page(items, PageRequest(limit=1, after=None), list) == [[0, "a"], [0, "b"]]
    assert in_memory_page(items, PageRequest(limit=5, after=[0, "b"]), list) == [[1, "a"]]
    with pytest.raises(PublicError, match="not a cursor"):
        in_memory_page(items, PageRequest(limit=1, after=["x", 1]), list)
