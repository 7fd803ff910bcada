"""Where a field's value comes from in SQL, declared on the Strawberry field itself.

A field of an object type is compiled by these rules:

* a plain field (no resolver, no metadata) is the column of its Python name on the row of
  its object (``created_at`` for ``createdAt``): the same row the type's ``from_model`` reads;
* ``metadata=column("...")`` gives another SQL expression of that row;
* ``metadata=json_text("...")`` gives, for a ``JSON`` field, SQL of its JSON text: the Python
  path hands the same text to orjson unparsed (``orjson.Fragment``), so both write its bytes;
* ``metadata=to_one(...)`` / ``to_many(...)`` follow a relation to rows of another table;
* ``metadata=nested_connection(...)`` pages a repository's :class:`shared.child_lists.ChildList`
  under the row, as the field's Python resolver does with :mod:`shared.graphql.child_pages`;
* ``metadata=root_one(...)`` / ``root_connection(...)`` / ``root_log(...)`` mark a root
  field and name the function (kept next to the service's repository) that says which rows
  it reads, with the same visibility predicate the Python path uses;
* a field with a resolver and none of these cannot be compiled: an operation selecting it
  runs through Strawberry, so a field that gains Python logic falls back instead of
  answering wrong.

SQL fragments name the row they read with ``{row}`` (and a relation's target row with
``{target}``); the compiler gives each row an alias of its own. A relation's ``table`` may be
a derived table reading ``{row}`` (a stub of another subgraph's entity made from a column).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from shared.auth import Principal
from shared.child_lists import ChildList

T = TypeVar("T")

SQL_METADATA = "liaison.sql"
"""The key of a field's SQL in Strawberry's field ``metadata``."""


@dataclass(frozen=True)
class Column:
    expression: str


@dataclass(frozen=True)
class JsonText:
    """A ``JSON`` field whose ``expression`` is its value's JSON text."""

    expression: str


def _no_args(principal: Principal) -> Sequence[Any]:
    return ()


@dataclass(frozen=True)
class ToOne:
    """At most one row of ``table`` (null if none); ``join`` may read ``args(principal)`` as
    ``$1`` .. ``$n`` (who may see the row)."""

    table: str
    join: str
    args: Callable[[Principal], Sequence[Any]] = _no_args


@dataclass(frozen=True)
class ToMany:
    """Every row of ``table`` that ``join`` matches, in ``order``: for short lists only
    (a list that grows with use is a connection)."""

    table: str
    join: str
    order: str


@dataclass(frozen=True)
class Nested:
    """A Relay connection (``first``, ``after``) of the ``children`` rows whose parent column
    equals ``parent`` (SQL of the row), in the list's order. ``children.where`` and ``visible``
    (SQL of the parent row; false: an empty page with a total of 0) read ``args(principal)``
    and then ``filters(arguments)`` as ``$1`` .. ``$n``: ``filters`` turns the field's other
    arguments (coerced and cleaned, by their GraphQL names) into values; a field with
    arguments besides ``first``/``after`` needs it."""

    children: ChildList[Any]
    parent: str
    visible: str
    args: Callable[[Principal], Sequence[Any]]
    filters: Callable[[Mapping[str, Any]], Sequence[Any]] | None = None


@dataclass(frozen=True)
class Source:
    """The rows a root field reads: ``SELECT ... FROM {table} {alias} WHERE {where}``, whose
    ``$1`` .. ``$n`` are ``params``. A connection pages them by ``key`` (one column, newest
    first), as the Python path's keyset cursors do."""

    table: str
    alias: str
    where: str
    params: Sequence[Any]
    key: str = "id"
    page_keys: str | None = None
    """For rows a walk of the table newest first finds too slowly (few match among many):
    SQL of the keys of one page, newest first, that the page then reads (those that meet
    ``where``; in terms of ``alias``), with
    ``{before}`` for the cursor's condition (or TRUE) and ``{limit}`` for how many. The
    statement is then planned for its values (:func:`shared.db.plan_with_values`), as the
    Python path plans the same SQL; ``where`` stays what ``totalCount`` counts."""


@dataclass(frozen=True)
class Entity:
    """How ``_entities`` finds one row of a type for the gateway: ``where`` (and ``table``,
    for a stub of another subgraph's entity such as ``(SELECT {key} AS id)``) reads the
    representation's key as ``{key}``; ``$1`` .. ``$n`` are ``params``."""

    table: str
    alias: str
    where: str
    params: Sequence[Any]

    def by_key(self, key: str, extra: Sequence[Any] = ()) -> Source:
        """The same rows as a :class:`Source` whose key is ``key`` (SQL), with ``extra``
        parameters after the entity's own."""
        table, where = self.table.format(key=key), self.where.format(key=key)
        return Source(table, self.alias, where, [*self.params, *extra])


EntityBuilder = Callable[[Principal], Entity]
"""From the caller to how the type's entities are found (the visibility predicate is in it)."""

ENTITY_ATTRIBUTE = "liaison_entity_sql"


def entity(builder: EntityBuilder) -> Callable[[type[T]], type[T]]:
    """Class decorator of a federation type: its entities are found by ``builder``, the
    same rows its ``resolve_reference`` answers."""

    def mark(cls: type[T]) -> type[T]:
        setattr(cls, ENTITY_ATTRIBUTE, builder)
        return cls

    return mark


class NotServed(Exception):
    """The Python path answers this request: its arguments are refused (with the Python
    path's own error), or a source builder leaves these rows to the Python path's SQL."""


SourceBuilder = Callable[[Principal, Mapping[str, Any]], Source]
"""From the caller and the field's coerced, cleaned arguments (by their GraphQL names, e.g.
``unreadOnly``) to the rows it reads; it raises :class:`NotServed` for a request whose rows
the Python path reads better."""


@dataclass(frozen=True)
class Log:
    """How a log is paged oldest first, a row's own id for its cursor: ``key`` (SQL of
    ``{row}``, one or more columns) sorts it, and a page starts after the key of the row
    whose ``cursor`` is ``after``. Such a page has no total (``totalCount`` is null), and on
    an empty page ``endCursor`` is ``after`` again, so a follower keeps its place."""

    key: str
    cursor: str


@dataclass(frozen=True)
class Root:
    kind: Literal["one", "connection", "log"]
    source: SourceBuilder
    log: Log | None = None


FieldSql = Column | JsonText | ToOne | ToMany | Nested | Root


def column(expression: str) -> dict[str, FieldSql]:
    return {SQL_METADATA: Column(expression)}


def json_text(expression: str) -> dict[str, FieldSql]:
    return {SQL_METADATA: JsonText(expression)}


def to_one(
    table: str, join: str, *, args: Callable[[Principal], Sequence[Any]] = _no_args
) -> dict[str, FieldSql]:
    return {SQL_METADATA: ToOne(table, join, args)}


def to_many(table: str, join: str, order: str) -> dict[str, FieldSql]:
    return {SQL_METADATA: ToMany(table, join, order)}


def nested_connection(
    children: ChildList[Any],
    *,
    parent: str = "{row}.id",
    visible: str = "TRUE",
    args: Callable[[Principal], Sequence[Any]] = _no_args,
    filters: Callable[[Mapping[str, Any]], Sequence[Any]] | None = None,
) -> dict[str, FieldSql]:
    """A field with ``first``/``after`` answering a page of ``children`` under the row: the
    rows, order and cursors of :func:`shared.graphql.child_pages.child_connection`."""
    return {SQL_METADATA: Nested(children, parent, visible, args, filters)}


def root_one(source: SourceBuilder) -> dict[str, FieldSql]:
    """A root field answering one row of ``source`` or null."""
    return {SQL_METADATA: Root("one", source)}


def root_connection(source: SourceBuilder) -> dict[str, FieldSql]:
    """A root field answering a Relay connection over ``source`` (``first``, ``after``)."""
    return {SQL_METADATA: Root("connection", source)}


def root_log(source: SourceBuilder, log: Log) -> dict[str, FieldSql]:
    """A root field answering a connection (``first``, ``after``) over ``source`` in the
    order of ``log``."""
    return {SQL_METADATA: Root("log", source, log)}
