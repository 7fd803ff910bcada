"""Lists that belong to a parent (a request's tasks, an issue's timeline), read one page per
parent for a whole batch of parents in one SQL statement.

A :class:`ChildList` says, in a repository, how one kind of child rows is read: from where,
which column names the parent, and the order the list is paged in (a keyset that ends with
a unique column). :meth:`ChildList.fetch` reads the pages a batch of parents asks for with
one ``LATERAL`` statement, and counts each parent's whole list in that same statement only
when asked to. The GraphQL side (cursors, connections) is
:mod:`shared.graphql.child_pages`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from shared.db import Connection, read_with_retry
from shared.runtime import ServiceRuntime

R = TypeVar("R")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not text: {value!r}")
    return value


def _instant(value: Any) -> datetime:
    found = datetime.fromisoformat(_text(value))
    if found.tzinfo is None:
        raise ValueError(f"no UTC offset: {value!r}")
    return found


def _day(value: Any) -> date:
    return date.fromisoformat(_text(value))


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not a whole number: {value!r}")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"not a boolean: {value!r}")
    return value


# How a key value kept in a cursor (JSON) becomes the SQL parameter it is compared with.
_PARSERS: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "timestamptz": _instant,
    "date": _day,
    "boolean": _flag,
    "bigint": _whole,
}


@dataclass(frozen=True)
class SortKey:
    """One column of a list's order. ``column`` is how the child query names it, ``name``
    the column of its output that holds it (by default the same). The column must never be
    NULL; ``sql_type`` is one of text, timestamptz, date, boolean and bigint."""

    column: str
    name: str = ""
    sql_type: str = "text"
    descending: bool = False

    @property
    def output(self) -> str:
        return self.name or self.column

    def parse(self, value: Any) -> Any:
        """The SQL parameter for a key value read back from a cursor; ValueError if it is
        not one of this column's."""
        return _PARSERS[self.sql_type](value)


def parse_key(order: Sequence[SortKey], values: Sequence[Any]) -> tuple[Any, ...]:
    """Key values read back from a cursor as typed SQL parameters for a list in ``order``;
    ValueError if they are not a key of such a list."""
    if len(values) != len(order):
        raise ValueError(f"{len(values)} key values for {len(order)} sort columns")
    return tuple(key.parse(v) for key, v in zip(order, values, strict=True))


@dataclass(frozen=True)
class ChildPage:
    """What one parent's page asks for."""

    parent: str
    after: tuple[Any, ...] | None
    """Sort key values of the last row of the previous page (see :meth:`ChildList.parse`)."""
    limit: int
    """Rows to read."""
    count: bool
    """Also count the parent's whole list."""
    args: tuple[Hashable, ...] = ()
    """Values of the list's ``where`` parameters ($1, $2, ...), e.g. who is asking."""


@dataclass(frozen=True)
class ChildRows(Generic[R]):
    """One parent's page: each row with its sort key values (JSON-ready), and the total of
    the whole list when it was counted."""

    rows: list[tuple[tuple[Any, ...], R]]
    total: int | None


@dataclass(frozen=True)
class ChildList(Generic[R]):
    """How one kind of child rows is read, page by page, for many parents at once.

    ``source`` is the FROM item (``issues i``), ``parent`` the column naming the parent,
    ``columns`` the select list (it must output every sort key), ``to_model`` turns one
    selected row into the model. ``where`` narrows the list (visibility, a fixed filter);
    it may use the page's ``args`` as $1, $2, ...; the statement numbers its own
    parameters after them.
    """

    source: str
    parent: str
    columns: str
    order: tuple[SortKey, ...]
    to_model: Callable[[Mapping[str, Any]], R]
    where: str = "TRUE"

    def parse(self, values: Sequence[Any]) -> tuple[Any, ...]:
        """Key values read back from a cursor as typed SQL parameters; ValueError if they
        are not a key of this list."""
        return parse_key(self.order, values)

    def statement(self, *, after: bool, count: bool, arg_count: int) -> str:
        """SQL of one page of each parent: parameters are the ``where`` args, the parent ids,
        the rows to read per parent, then the cursor's key values (if ``after``)."""
        parents, limit = f"${arg_count + 1}", f"${arg_count + 2}"
        inner = f"{self.parent} = p.page_parent AND ({self.where})"
        first_key = arg_count + 3
        keys = [f"${first_key + i}::{k.sql_type}" for i, k in enumerate(self.order)]
        condition = self.after_condition(keys) if after else "TRUE"
        inner_order = self.order_by()
        outer_order = ", ".join(_direction(f'x."{k.output}"', k) for k in self.order)
        counted = (
            f"CROSS JOIN LATERAL (SELECT count(*) AS n FROM {self.source} WHERE {inner}) c"
            if count
            else ""
        )
        return f"""
            SELECT p.page_parent, {"c.n" if count else "NULL::bigint"} AS page_total, x.*
              FROM unnest({parents}::text[]) AS p(page_parent)
              {counted}
              LEFT JOIN LATERAL (
                   SELECT {self.columns} FROM {self.source}
                    WHERE {inner} AND ({condition})
                    ORDER BY {inner_order} LIMIT {limit}) x ON true
             ORDER BY p.page_parent, {outer_order}
            """

    def order_by(self) -> str:
        """The list's order as an ``ORDER BY`` list of the child query's columns."""
        return ", ".join(_direction(k.column, k) for k in self.order)

    def after_condition(self, params: Sequence[str]) -> str:
        """Rows after the cursor in the list's order, whose key values are the SQL
        ``params`` (one per sort column): a row comparison when every column sorts the same
        way (an index can serve it), else the equivalent OR of prefixes."""
        if len({k.descending for k in self.order}) == 1:
            op = "<" if self.order[0].descending else ">"
            columns = ", ".join(k.column for k in self.order)
            return f"({columns}) {op} ({', '.join(params)})"
        terms = []
        for i, key in enumerate(self.order):
            equal = [f"{k.column} = {params[j]}" for j, k in enumerate(self.order[:i])]
            beyond = f"{key.column} {'<' if key.descending else '>'} {params[i]}"
            terms.append("(" + " AND ".join([*equal, beyond]) + ")")
        return " OR ".join(terms)

    async def fetch(
        self, conn: Connection, keys: Sequence[ChildPage]
    ) -> dict[ChildPage, ChildRows[R]]:
        """The pages asked for: one statement per distinct (after, limit, count, args),
        which is one statement for the first pages of a whole batch of parents."""
        groups: dict[ChildPage, list[str]] = {}  # by the page asked for, whatever the parent
        for key in keys:
            groups.setdefault(replace(key, parent=""), []).append(key.parent)
        found: dict[ChildPage, ChildRows[R]] = {}
        for shape, parents in groups.items():
            pages = await self._fetch_group(conn, parents, shape)
            for parent in parents:
                empty = ChildRows[R]([], 0 if shape.count else None)
                found[replace(shape, parent=parent)] = pages.get(parent, empty)
        return found

    async def _fetch_group(
        self, conn: Connection, parents: Sequence[str], shape: ChildPage
    ) -> dict[str, ChildRows[R]]:
        """One statement: the same page (``shape``) of each of ``parents``."""
        sql = self.statement(
            after=shape.after is not None, count=shape.count, arg_count=len(shape.args)
        )
        values = [list(a) if isinstance(a, tuple) else a for a in shape.args]
        records = await conn.fetch(
            sql, *values, list(dict.fromkeys(parents)), shape.limit, *(shape.after or ())
        )
        pages: dict[str, ChildRows[R]] = {}
        for record in records:
            page = pages.setdefault(record["page_parent"], ChildRows([], record["page_total"]))
            if record[self.order[0].output] is None:  # the parent has no rows (LEFT JOIN)
                continue
            columns = {k: v for k, v in record.items() if k not in ("page_parent", "page_total")}
            sort_key = tuple(_json_ready(columns[k.output]) for k in self.order)
            page.rows.append((sort_key, self.to_model(columns)))
        return pages

    async def load(self, runtime: ServiceRuntime, keys: Sequence[ChildPage]) -> list[ChildRows[R]]:
        """DataLoader batch function (see :meth:`shared.graphql.context.Context.loader`);
        a read, so tried once more on a fresh connection if the database went away."""
        found = await read_with_retry(runtime.pool, lambda conn: self.fetch(conn, keys))
        return [found[key] for key in keys]


def _direction(column: str, key: SortKey) -> str:
    return f"{column} DESC" if key.descending else column


def _json_ready(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value
