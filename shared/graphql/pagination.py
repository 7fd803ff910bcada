"""Relay connections with opaque keyset cursors and a hard cap on ``first``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

import orjson
import strawberry
from strawberry.types.nodes import SelectedField

from shared.graphql.error_codes import ErrorCode
from shared.graphql.errors import PublicError

T = TypeVar("T")
R = TypeVar("R")


# Shareable: every subgraph returns the same PageInfo type.
@strawberry.federation.type(shareable=True, description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow `endCursor`.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` to get the next page.")


@strawberry.type(description="One item of a page and the cursor that points at it.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of items (Relay connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Cursors to move to other pages.")
    total_count: int | None = strawberry.field(
        default=None,
        description="How many items the whole list holds: every page of it, with the same"
        " filter and the same visibility for the caller, not just this page. Null only where"
        " the field's description says it is not counted.",
    )


# A cursor is its key (JSON) behind a short checksum: one the API did not hand out, e.g. a
# key whose values have other types than the page's SQL compares them with, is refused
# before it reaches the database. A checksum, not a signature: cursors hide nothing. SHA-256,
# because the compiled read path (shared/graphql/compiled) writes the same cursors in SQL.
_CHECK_BYTES = 6
CURSOR_KEY = b"liaison-cursor-v2"


def _check(payload: bytes) -> bytes:
    return hashlib.sha256(CURSOR_KEY + payload).digest()[:_CHECK_BYTES]


def encode_cursor(key: Sequence[Any]) -> str:
    payload = orjson.dumps(list(key))
    return base64.urlsafe_b64encode(_check(payload) + payload).decode()


def decode_cursor(cursor: str) -> list[Any]:
    refused = PublicError("`after` is not a cursor this API returned")
    try:
        raw = base64.urlsafe_b64decode(cursor.encode())
        check, payload = raw[:_CHECK_BYTES], raw[_CHECK_BYTES:]
        if not hmac.compare_digest(check, _check(payload)):
            raise refused
        key = orjson.loads(payload)
    except (ValueError, orjson.JSONDecodeError):
        raise refused from None
    if not isinstance(key, list):
        raise refused
    return key


def wants_total_count(info: Any) -> bool:
    """The operation selects ``totalCount`` on the connection ``info`` resolves (directly or
    in a fragment): counting costs a statement, so a page that does not ask pays nothing."""

    def selects(selections: Sequence[Any]) -> bool:
        for selection in selections:
            if isinstance(selection, SelectedField):
                if selection.name == "totalCount":
                    return True
            elif selects(selection.selections):  # a fragment spread or an inline fragment
                return True
        return False

    return any(selects(field.selections) for field in info.selected_fields)


@dataclass(frozen=True)
class PageRequest:
    """Validated ``first``/``after``: fetch ``limit + 1`` rows after ``after``."""

    limit: int
    after: list[Any] | None


def check_page_size(first: int, max_first: int) -> None:
    """Refuse a ``first`` outside 1 .. ``max_first`` (``PAGE_SIZE_EXCEEDED``)."""
    if not 1 <= first <= max_first:
        raise PublicError(
            f"`first` must be between 1 and {max_first}", ErrorCode.PAGE_SIZE_EXCEEDED
        )


def page_request(first: int, after: str | None, max_first: int) -> PageRequest:
    check_page_size(first, max_first)
    return PageRequest(limit=first, after=decode_cursor(after) if after else None)


def sorted_key(sort: StrEnum, key: Sequence[Any], default: StrEnum | None = None) -> list[Any]:
    """The cursor key of a row of a list that can be sorted more than one way (the values of
    the enum ``sort`` belongs to): the sort's name, then the row's key values in that sort
    (the sort key, then the id). In the list's ``default`` order, if it has one, the bare key:
    the cursors it had before it could be sorted (and those the compiled path writes)."""
    return list(key) if sort is default else [sort.value, *key]


def after_in_sort(
    page: PageRequest, sort: StrEnum, default: StrEnum | None = None
) -> list[Any] | None:
    """The key values of ``page.after`` (see :func:`sorted_key`), or None on the first page.
    A cursor of the same list under another sort is refused, naming both: a key of one
    order says nothing about where to go on in another."""
    if page.after is None:
        return None
    orders = {s.value for s in type(sort)}
    first = page.after[0] if page.after else None
    named = isinstance(first, str) and first in orders
    issued = first if named else (default.value if default is not None else None)
    if issued == sort.value:
        return page.after[1:] if named else page.after
    if issued is not None:
        raise PublicError(
            f"`after` is a cursor of this list sorted by {issued}, not {sort}:"
            f" pass it with `sort: {issued}`, or leave `after` out to start the {sort} list"
        )
    raise PublicError("`after` is not a cursor of this list")


def build_connection(
    rows: Sequence[R],
    page: PageRequest,
    key: Callable[[R], Sequence[Any]],
    to_node: Callable[[R], T],
    total_count: int | None = None,
) -> Connection[T]:
    """Turn ``limit + 1`` fetched rows into a page; the extra row only signals a next page."""
    visible = rows[: page.limit]
    edges = [Edge(cursor=encode_cursor(key(row)), node=to_node(row)) for row in visible]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > page.limit,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=total_count,
    )
