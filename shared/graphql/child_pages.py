"""Connections nested under a parent (a request's tasks, an issue's timeline), without N+1.

The resolver of such a field checks who may see the parent, then calls
:func:`child_connection` with the :class:`shared.child_lists.ChildList` of the repository;
the DataLoader gathers the pages the whole operation asks for (say, the first 20 tasks of
each of 50 requests) and reads them in one statement. ``totalCount`` is counted in that
statement only when the operation selects it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Annotated, Any, TypeVar

import strawberry

from shared.child_lists import ChildList, ChildPage, SortKey, parse_key
from shared.graphql import pagination
from shared.graphql.context import Info
from shared.graphql.errors import PublicError
from shared.graphql.pagination import PageRequest, build_connection, page_request, wants_total_count

R = TypeVar("R")
T = TypeVar("T")

NOT_OURS = "`after` is not a cursor this API returned"

# The arguments of a nested connection; a field gives its own default page size.
First = Annotated[
    int,
    strawberry.argument(description="Page size: 1 to LIAISON_GRAPHQL_MAX_PAGE (100 by default)."),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="`pageInfo.endCursor` of the page before; null: from the start."
    ),
]


def page_of(info: Info, first: int, after: str | None) -> PageRequest:
    """``first`` and ``after`` checked, ``first`` against the service's largest page."""
    return page_request(first, after, info.context.runtime.settings.graphql_max_page)


def after_key(page: PageRequest, order: Sequence[SortKey]) -> tuple[Any, ...] | None:
    """The ``after`` cursor of a list in ``order`` as typed SQL parameters, or None for the
    first page; a cursor of another list, or with values of other types, is refused."""
    if page.after is None:
        return None
    try:
        return parse_key(order, page.after)
    except ValueError:
        raise PublicError(NOT_OURS) from None


async def child_connection(
    info: Info,
    children: ChildList[R],
    parent: str,
    page: PageRequest,
    to_node: Callable[[R], T],
    args: tuple[Hashable, ...] = (),
) -> pagination.Connection[T]:
    """One page of ``parent``'s list, read together with the pages of the other parents the
    operation asks for (see :meth:`shared.child_lists.ChildList.fetch`)."""
    after = after_key(page, children.order)
    key = ChildPage(str(parent), after, page.limit + 1, wants_total_count(info), args)
    found = await info.context.loader(children.load).load(key)
    return build_connection(
        found.rows,
        page,
        key=lambda row: list(row[0]),
        to_node=lambda row: to_node(row[1]),
        total_count=found.total,
    )


def empty_connection(info: Info, page: PageRequest) -> pagination.Connection[Any]:
    """The page of a list the caller may not see: nothing in it, and a total of 0."""
    total = 0 if wants_total_count(info) else None
    return build_connection([], page, key=lambda _: [], to_node=lambda row: row, total_count=total)


def in_memory_page(
    items: Sequence[R], page: PageRequest, key: Callable[[R], Sequence[Any]]
) -> list[R]:
    """The rows of one page (``limit + 1``, as :func:`build_connection` takes them) of a list
    a field has in memory anyway, in ``key`` order: what follows the ``after`` cursor."""
    if page.after is None:
        return list(items[: page.limit + 1])
    after = list(page.after)
    try:
        rest = [item for item in items if list(key(item)) > after]
    except TypeError:  # key values of other types than this list's
        raise PublicError(NOT_OURS) from None
    return rest[: page.limit + 1]
