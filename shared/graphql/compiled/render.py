"""Per request: the SQL statement that writes one root field's JSON text.

Every value is written as JSON text by PostgreSQL with string concatenation, not with
``json_build_object`` (whose output has spaces and, for jsonb, reordered keys), so the bytes
are the ones the Python path writes with orjson: keys in selection order, no whitespace.
Field collection (fragments, ``@skip``/``@include``, merged aliases) is graphql-core's own,
so it follows the specification exactly as the Python path does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphql import FieldNode, GraphQLField, GraphQLObjectType, GraphQLOutputType, GraphQLSchema
from graphql.execution.collect_fields import FieldDetailsList, collect_fields, collect_subfields
from graphql.execution.values import VariableValues, get_argument_values

from shared.auth import Principal
from shared.child_lists import SortKey, parse_key
from shared.graphql.compiled.fields import Scalar, Shape, compiled_field, scalar_kind, shape_of
from shared.graphql.compiled.plan import Plan
from shared.graphql.compiled.sql import (
    ENTITY_ATTRIBUTE,
    Column,
    Entity,
    EntityBuilder,
    JsonText,
    Log,
    Nested,
    NotServed,
    Root,
    Source,
    ToMany,
    ToOne,
)
from shared.graphql.input_text import clean_arguments
from shared.graphql.pagination import CURSOR_KEY, PageRequest, check_page_size, page_request


def _object_type(output: GraphQLOutputType) -> GraphQLObjectType:
    shape = shape_of(output)
    assert shape is not None
    named = shape.named
    assert isinstance(named, GraphQLObjectType)
    return named


ENTITIES = "_entities"


def _shift(sql: str, offset: int) -> str:
    """``sql`` with its parameters ``$1`` .. ``$n`` renumbered from ``offset + 1``."""
    return re.sub(r"\$(\d+)", lambda m: f"${int(m.group(1)) + offset}", sql)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _leaf(expression: str, kind: Scalar) -> str:
    """JSON text of a non-null scalar; NULL in, NULL out (the caller writes ``null``)."""
    value = f"({expression})"
    if kind == "int":
        return f"{value}::bigint::text"
    if kind == "boolean":
        return f"CASE WHEN {value} THEN 'true' WHEN NOT {value} THEN 'false' END"
    if kind == "datetime":  # Python's isoformat of a UTC datetime: six digits of a fraction
        utc = f"{value} AT TIME ZONE 'UTC'"
        fraction = f"CASE WHEN date_trunc('second', {value}) = {value} THEN ''"
        fraction += f" ELSE to_char({utc}, '.US') END"
        whole = f"""to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS')"""
        return f"""('"' || {whole} || {fraction} || '+00:00"')"""
    if kind == "date":
        return f"to_json({value})::text"
    return f"to_json({value}::text)::text"  # text, ID, enum names, decimal as a string


# How a sort key value is written in a cursor's JSON, as the Python path's orjson writes the
# JSON-ready value (see shared.child_lists): dates and instants in ISO format.
_KEY_KINDS: dict[str, Scalar] = {
    "text": "text",
    "timestamptz": "datetime",
    "date": "date",
    "boolean": "boolean",
    "bigint": "int",
}


def _cursor(values: Sequence[str]) -> str:
    """SQL of :func:`shared.graphql.pagination.encode_cursor` of the key whose values are
    the SQL expressions ``values`` of JSON text."""
    payload = "convert_to('[' || " + " || ',' || ".join(values) + " || ']', 'UTF8')"
    check = f"substring(sha256('\\x{CURSOR_KEY.hex()}'::bytea || {payload}) FROM 1 FOR 6)"
    return f"""('"' || translate(encode({check} || {payload}, 'base64'), E'+/\\n', '-_') || '"')"""


Getter = Callable[["Renderer"], Any]
"""How a parameter of a cached statement is found again for another request."""


class Statement:
    """The statement being written: its parameters and its row aliases. The parameters of
    the root's rows and page come first; each one after them has a :data:`Getter`, kept with
    the statement's text, so a request that reuses the text finds its own values."""

    def __init__(self, renderer: Renderer, params: list[Any]) -> None:
        self.renderer, self.params = renderer, params
        self.getters: list[Getter] = []
        self._aliases = 0

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def bound(self, getter: Getter) -> str:
        """A parameter that ``getter`` finds for each request."""
        self.getters.append(getter)
        return self.param(getter(self.renderer))

    def alias(self) -> str:
        self._aliases += 1
        return f"t{self._aliases}"


def _caller_arg(sql: Nested | ToOne, index: int) -> Getter:
    return lambda renderer: renderer.caller_args(sql)[index]


def _filter_arg(sql: Nested, field: GraphQLField, node: FieldNode, index: int) -> Getter:
    return lambda renderer: renderer.nested_filters(sql, field, node)[index]


def _page_value(
    field: GraphQLField, node: FieldNode, order: Sequence[SortKey], key: int | None
) -> Getter:
    """The size of a nested page (``key`` None), or a value of its ``after`` key."""

    def found(renderer: Renderer) -> Any:
        rows, after = renderer.nested_page(field, node, order)
        if key is None:
            return rows
        assert after is not None  # a statement with a cursor's condition: see Plan.cursors
        return after[key]

    return found


class Renderer:
    """Writes the statements of one request of a compiled document."""

    def __init__(
        self,
        schema: GraphQLSchema,
        plan: Plan,
        variables: VariableValues,
        principal: Principal,
        max_page: int,
    ) -> None:
        self.schema, self.plan, self.variables = schema, plan, variables
        self.principal, self.max_page = principal, max_page
        # What, besides the document, decides a statement's text.
        coerced = variables.coerced
        self.conditions = (
            tuple(coerced.get(name) for name in plan.conditions),
            tuple(not coerced.get(name) for name in plan.cursors),
        )
        self._pages: dict[int, tuple[int, tuple[Any, ...] | None]] = {}
        self._args: dict[int, Sequence[Any]] = {}
        self._filters: dict[int, Sequence[Any]] = {}
        self.plans_for_values = False
        """Whether a root's statement must be planned for its values (Source.page_keys)."""

    def root_fields(self) -> dict[str, FieldDetailsList]:
        query = self.schema.query_type
        assert query is not None
        collected = collect_fields(
            self.schema, self.plan.fragments, self.variables, query, self.plan.operation
        )
        return collected.grouped_field_set

    def root(self, key: str, details: FieldDetailsList) -> tuple[str, list[Any]] | str:
        """The statement of one root field and its parameters, or its literal JSON. The
        statement's text is kept on the plan: it depends only on the document, the values
        of the ``@skip``/``@include`` variables, the root's rows and whether each page starts
        after a cursor; the values themselves are parameters."""
        query = self.schema.query_type
        assert query is not None
        name = details[0].node.name.value
        if name == "__typename":
            return '"Query"'
        if name == ENTITIES:
            return self._entities(key, details)
        field = query.fields[name]
        root = field.extensions["strawberry-definition"].metadata["liaison.sql"]
        assert isinstance(root, Root)
        arguments = self._arguments(field, details)
        source = root.source(self.principal, arguments)
        params = list(source.params)
        page = None
        if root.kind == "connection":
            page = self._page(arguments)
        elif root.kind == "log":
            page = self._log_page(arguments)
        if page is not None:
            params += [*(page.after or ()), page.limit]
        if source.page_keys is not None:
            self.plans_for_values = True
        starts = page and page.after is None
        variant = (key, self.conditions, source.table, source.where, source.page_keys, starts)
        cached = self.plan.statements.get(variant)
        if cached is None:
            statement = Statement(self, list(source.params))
            named = _object_type(field.type)
            if page is None:
                value = self._one(source, named, details, statement)
            elif root.log is not None:
                value = self._log(source, root.log, page, named, details, statement)
            else:
                value = self._connection(source, page, named, details, statement)
            cached = self.plan.statements[variant] = (f"SELECT {value}", statement.getters)
        sql, getters = cached
        return sql, [*params, *(getter(self) for getter in getters)]

    def _entities(self, key: str, details: FieldDetailsList) -> tuple[str, list[Any]]:
        """``_entities``: one statement for every representation, in their order; null for
        one that is not found or not visible, as ``resolve_reference`` answers."""
        query = self.schema.query_type
        assert query is not None
        representations = self._arguments(query.fields[ENTITIES], details)["representations"]
        typenames: list[str] = []
        keys: list[str] = []
        for representation in representations:
            if not isinstance(representation, dict):
                raise NotServed("a representation the Python path refuses")
            typename = representation.get("__typename")
            if not isinstance(typename, str) or not isinstance(representation.get("id"), str):
                raise NotServed("a representation the Python path refuses")
            typenames.append(typename)
            keys.append(representation["id"])
        found: dict[str, Entity] = {}
        for typename in dict.fromkeys(typenames):
            builder = self._entity_builder(typename)
            if builder is None:
                raise NotServed(f"no SQL for entities of {typename}")
            found[typename] = builder(self.principal)
        params: list[Any] = [typenames, keys]
        for entity in found.values():
            params += entity.params
        variant = (key, self.conditions, tuple((t, e.table, e.where) for t, e in found.items()))
        cached = self.plan.statements.get(variant)
        if cached is None:
            cached = self.plan.statements[variant] = self._entities_sql(found, details, params)
        sql, getters = cached
        return sql, [*params, *(getter(self) for getter in getters)]

    def _entity_builder(self, typename: str) -> EntityBuilder | None:
        named = self.schema.type_map.get(typename)
        definition = named.extensions.get("strawberry-definition") if named else None
        builder = getattr(getattr(definition, "origin", None), ENTITY_ATTRIBUTE, None)
        return builder if isinstance(named, GraphQLObjectType) else None

    def _entities_sql(
        self, found: dict[str, Entity], details: FieldDetailsList, params: list[Any]
    ) -> tuple[str, list[Getter]]:
        statement = Statement(self, list(params))
        sources, offset = {}, 2
        for typename, entity in found.items():  # their parameters first, as ``params`` has them
            shifted = Entity(
                _shift(entity.table, offset), entity.alias, _shift(entity.where, offset), ()
            )
            sources[typename] = shifted.by_key("reps.key")
            offset += len(entity.params)
        cases = []
        for typename, source in sources.items():
            named = self.schema.type_map[typename]
            assert isinstance(named, GraphQLObjectType)
            value = self._one(source, named, details, statement)
            cases.append(f"WHEN {_literal(typename)} THEN {value}")
        items = f"CASE reps.typename {' '.join(cases)} ELSE 'null' END"
        listed = f"string_agg({items}, ',' ORDER BY reps.position)"
        sql = (
            f"SELECT coalesce('[' || {listed} || ']', '[]') FROM unnest($1::text[], $2::text[])"
            " WITH ORDINALITY AS reps(typename, key, position)"
        )
        return sql, statement.getters

    def _page(self, arguments: Mapping[str, Any]) -> PageRequest:
        try:
            page = page_request(arguments["first"], arguments.get("after"), self.max_page)
        except Exception as exc:  # the Python path refuses it, with its own error
            raise NotServed(str(exc)) from exc
        if page.after is not None and (len(page.after) != 1 or not isinstance(page.after[0], str)):
            raise NotServed("a cursor of another list")
        return page

    def _log_page(self, arguments: Mapping[str, Any]) -> PageRequest:
        """A log's page: ``after`` is a row's id, kept as it is."""
        first, after = arguments["first"], arguments.get("after")
        try:
            check_page_size(first, self.max_page)
        except Exception as exc:  # the Python path refuses it, with its own error
            raise NotServed(str(exc)) from exc
        if after == "":  # the start of the log, yet handed back as the end cursor
            raise NotServed("an empty cursor")
        return PageRequest(limit=first, after=None if after is None else [after])

    def _arguments(self, field: GraphQLField, details: FieldDetailsList) -> Mapping[str, Any]:
        arguments = get_argument_values(field, details[0].node, self.variables)
        cleaned, problems = clean_arguments(arguments)
        if problems:
            raise NotServed(problems[0].message)
        return cleaned

    def _subfields(
        self, parent: GraphQLObjectType, details: FieldDetailsList
    ) -> dict[str, FieldDetailsList]:
        collected = collect_subfields(
            self.schema, self.plan.fragments, self.variables, self.plan.operation, parent, details
        )
        return collected.grouped_field_set

    @staticmethod
    def _object(parts: list[tuple[str, str]]) -> str:
        """JSON text of an object from (response key, SQL of the value's JSON text)."""
        if not parts:
            return "'{}'"
        pieces = []
        for index, (key, value) in enumerate(parts):
            opening = "{" if index == 0 else ","
            label = _literal(opening + '"' + key + '":')
            pieces.append(f"{label} || {value}")
        return "(" + " || ".join(pieces) + " || '}')"

    def _node(
        self, parent: GraphQLObjectType, details: FieldDetailsList, row: str, st: Statement
    ) -> str:
        parts = []
        for key, field_details in self._subfields(parent, details).items():
            name = field_details[0].node.name.value
            if name == "__typename":
                parts.append((key, _literal(f'"{parent.name}"')))
                continue
            field = parent.fields[name]
            compiled = compiled_field(field)
            assert compiled is not None, f"{parent.name}.{name} passed the plan"
            sql, shape = compiled
            assert not isinstance(sql, Root)
            if isinstance(sql, Nested):
                value = self._nested(sql, field, shape, field_details, row, st)
            else:
                value = self._value(sql, shape, field_details, row, st)
            parts.append((key, value))
        return self._object(parts)

    def _value(
        self,
        sql: Column | JsonText | ToOne | ToMany,
        shape: Shape,
        details: FieldDetailsList,
        row: str,
        st: Statement,
    ) -> str:
        if isinstance(sql, Column):
            return self._column(sql.expression.format(row=row), shape)
        if isinstance(sql, JsonText):
            return f"coalesce(({sql.expression.format(row=row)}), 'null')"
        named = shape.named
        assert isinstance(named, GraphQLObjectType)
        target = st.alias()
        join = sql.join
        if isinstance(sql, ToOne):  # who may see the row: the caller's values as parameters
            offset = len(st.params)
            for index in range(len(sql.args(self.principal))):
                st.bound(_caller_arg(sql, index))
            join = _shift(join, offset)
        where = join.format(row=row, target=target)
        node = self._node(named, details, target, st)
        table = sql.table.format(row=row)  # a derived table may read the row it hangs off
        if isinstance(sql, ToOne):
            return f"coalesce((SELECT {node} FROM {table} {target} WHERE {where}), 'null')"
        assert isinstance(sql, ToMany)
        order = sql.order.format(target=target)
        items = f"'[' || string_agg({node}, ',' ORDER BY {order}) || ']'"
        return f"coalesce((SELECT {items} FROM {table} {target} WHERE {where}), '[]')"

    @staticmethod
    def _column(expression: str, shape: Shape) -> str:
        kind = scalar_kind(shape.named)
        assert kind is not None
        if not shape.is_list:
            return f"coalesce({_leaf(expression, kind)}, 'null')"
        items = f"'[' || string_agg({_leaf('item', kind)}, ',' ORDER BY position) || ']'"
        listed = f"(SELECT coalesce({items}, '[]') FROM unnest({expression})"
        listed += " WITH ORDINALITY AS listed(item, position))"
        return f"CASE WHEN ({expression}) IS NULL THEN 'null' ELSE {listed} END"

    def _one(
        self, source: Source, node: GraphQLObjectType, details: FieldDetailsList, st: Statement
    ) -> str:
        row = source.alias
        value = self._node(node, details, row, st)
        found = f"SELECT {value} FROM {source.table} {row} WHERE {source.where}"
        return f"coalesce(({found}), 'null')"

    def _connection(
        self,
        source: Source,
        page: PageRequest,
        connection: GraphQLObjectType,
        details: FieldDetailsList,
        st: Statement,
    ) -> str:
        """A root connection: newest first by the source's one key column."""
        alias, key = source.alias, f"{source.alias}.{source.key}"
        before = "TRUE" if page.after is None else f"{key} < {st.param(page.after[0])}"
        first = st.param(page.limit)
        where = source.where if page.after is None else f"({source.where}) AND {before}"
        if source.page_keys is not None:
            # The rows of the page's keys, tested against where all the same: a page holds
            # nothing the count would not count, and where's parameters are used (typed).
            keys = source.page_keys.replace("{before}", before)
            where = f"{key} IN ({keys.replace('{limit}', f'{first}::int + 1')}) AND ({where})"
        rows = (
            f"SELECT {alias}.*, row_number() OVER (ORDER BY {key} DESC) AS liaison_position"
            f" FROM {source.table} {alias} WHERE {where} ORDER BY {key} DESC"
            f" LIMIT {first}::int + 1"
        )
        page_row = st.alias()
        cursor = _cursor([f"to_json(({page_row}.{source.key})::text)::text"])
        count = f"SELECT count(*) FROM {source.table} {alias} WHERE {source.where}"
        value = self._page_object(connection, details, page_row, first, cursor, count, st)
        # GROUP BY (): one row, also for an empty page whose selection has no aggregate.
        return f"(SELECT {value} FROM ({rows}) {page_row} GROUP BY ())"

    def _log(
        self,
        source: Source,
        log: Log,
        page: PageRequest,
        connection: GraphQLObjectType,
        details: FieldDetailsList,
        st: Statement,
    ) -> str:
        """A root connection over a log, oldest first, after the row whose id is ``after``;
        NULL if no row has that id, so that the Python path answers with its error."""
        alias = source.alias
        order, where = log.key.format(row=alias), source.where
        after = None if page.after is None else st.param(page.after[0])
        anchor = st.alias()
        named = f"FROM {source.table} {anchor} WHERE {log.cursor.format(row=anchor)} = {after}"
        if after is not None:
            where = f"({where}) AND ({order}) > (SELECT {log.key.format(row=anchor)} {named})"
        first = st.param(page.limit)
        rows = (
            f"SELECT {alias}.*, row_number() OVER (ORDER BY {order}) AS liaison_position"
            f" FROM {source.table} {alias} WHERE {where} ORDER BY {order}"
            f" LIMIT {first}::int + 1"
        )
        page_row = st.alias()
        cursor = _leaf(log.cursor.format(row=page_row), "text")
        empty = "'null'" if after is None else f"to_json({after}::text)::text"
        value = self._page_object(
            connection, details, page_row, first, cursor, None, st, empty_cursor=empty
        )
        value = f"(SELECT {value} FROM ({rows}) {page_row} GROUP BY ())"
        return value if after is None else f"CASE WHEN EXISTS (SELECT {named}) THEN {value} END"

    def _nested(
        self,
        sql: Nested,
        field: GraphQLField,
        shape: Shape,
        details: FieldDetailsList,
        row: str,
        st: Statement,
    ) -> str:
        """A page of a :class:`shared.child_lists.ChildList` under ``row``, for the page its
        ``first``/``after`` ask (a parameter each), as ``child_connection`` reads it."""
        children, node = sql.children, details[0].node
        offset = len(st.params)
        for index in range(len(sql.args(self.principal))):
            st.bound(_caller_arg(sql, index))
        for index in range(len(self.nested_filters(sql, field, node))):
            st.bound(_filter_arg(sql, field, node, index))
        where, visible = _shift(children.where, offset), _shift(sql.visible, offset)
        first = st.bound(_page_value(field, node, children.order, None))
        after = self.nested_page(field, node, children.order)[1]
        # The parent's key and visibility are read where {row} means the parent, before
        # the child query (whose FROM may reuse the parent's alias) is entered.
        parent = st.alias()
        key, seen = sql.parent.format(row=row), visible.format(row=row)
        bind = f"(SELECT {key} AS key, ({seen}) AS seen)"
        inner = f"{children.parent} = {parent}.key AND {parent}.seen AND ({where})"
        condition = inner
        if after is not None:
            keys = [
                st.bound(_page_value(field, node, children.order, i)) + f"::{sort.sql_type}"
                for i, sort in enumerate(children.order)
            ]
            condition = f"{inner} AND ({children.after_condition(keys)})"
        order = children.order_by()
        rows = (
            f"SELECT {children.columns}, row_number() OVER (ORDER BY {order}) AS liaison_position"
            f" FROM {children.source} WHERE {condition} ORDER BY {order} LIMIT {first}::int + 1"
        )
        page_row = st.alias()
        cursor = _cursor([self._key(page_row, key) for key in children.order])
        count = f"SELECT count(*) FROM {children.source} WHERE {inner}"
        connection = shape.named
        assert isinstance(connection, GraphQLObjectType)
        value = self._page_object(connection, details, page_row, first, cursor, count, st)
        # LEFT JOIN: one row, also for a parent without children (their columns are NULL).
        return (
            f"(SELECT {value} FROM {bind} {parent} LEFT JOIN LATERAL ({rows}) {page_row} ON true"
            f" GROUP BY {parent}.key, {parent}.seen)"
        )

    @staticmethod
    def _key(row: str, key: SortKey) -> str:
        return _leaf(f'{row}."{key.output}"', _KEY_KINDS[key.sql_type])

    def caller_args(self, sql: Nested | ToOne) -> Sequence[Any]:
        """The values a relation's SQL reads for this request's caller."""
        found = self._args.get(id(sql))
        if found is None:
            found = self._args[id(sql)] = sql.args(self.principal)
        return found

    def nested_filters(self, sql: Nested, field: GraphQLField, node: FieldNode) -> Sequence[Any]:
        """The values a nested list's SQL reads from the field's other arguments."""
        found = self._filters.get(id(node))
        if found is None:
            if sql.filters is None:
                found = ()
            else:
                arguments = get_argument_values(field, node, self.variables)
                cleaned, problems = clean_arguments(arguments)
                if problems:
                    raise NotServed(problems[0].message)
                found = sql.filters(cleaned)
            self._filters[id(node)] = found
        return found

    def nested_page(
        self, field: GraphQLField, node: FieldNode, order: Sequence[SortKey]
    ) -> tuple[int, tuple[Any, ...] | None]:
        """The size (``first``) and the ``after`` key of a nested page, checked as
        :func:`shared.graphql.child_pages.page_of` checks them."""
        found = self._pages.get(id(node))
        if found is None:
            arguments = get_argument_values(field, node, self.variables)
            try:
                page = page_request(arguments["first"], arguments.get("after"), self.max_page)
                after = parse_key(order, page.after) if page.after is not None else None
            except Exception as exc:  # the Python path refuses it, with its own error
                raise NotServed(str(exc)) from exc
            found = self._pages[id(node)] = (page.limit, after)
        return found

    def _page_object(
        self,
        connection: GraphQLObjectType,
        details: FieldDetailsList,
        page_row: str,
        first: str,
        cursor: str,
        count: str | None,
        st: Statement,
        empty_cursor: str = "'null'",
    ) -> str:
        """A connection's JSON over its page's rows (``page_row``, numbered by
        ``liaison_position``; ``first`` + 1 of them when a next page exists). ``count`` is
        None for a list that is not counted, ``empty_cursor`` the end cursor of an empty page."""
        on_page = f"{page_row}.liaison_position <= {first}::int"
        parts = []
        for response_key, field_details in self._subfields(connection, details).items():
            name = field_details[0].node.name.value
            if name == "__typename":
                value = _literal(f'"{connection.name}"')
            elif name == "totalCount":
                value = "'null'" if count is None else f"({count})::text"
            elif name == "pageInfo":
                value = self._page_info(
                    connection, field_details, page_row, first, cursor, empty_cursor
                )
            else:
                edge = self._edge(connection, field_details, page_row, cursor, st)
                items = f"string_agg({edge}, ',' ORDER BY {page_row}.liaison_position)"
                value = f"coalesce('[' || {items} FILTER (WHERE {on_page}) || ']', '[]')"
            parts.append((response_key, value))
        return self._object(parts)

    def _edge(
        self,
        connection: GraphQLObjectType,
        details: FieldDetailsList,
        row: str,
        cursor: str,
        st: Statement,
    ) -> str:
        edge = _object_type(connection.fields["edges"].type)
        parts = []
        for key, field_details in self._subfields(edge, details).items():
            name = field_details[0].node.name.value
            if name == "__typename":
                parts.append((key, _literal(f'"{edge.name}"')))
            elif name == "cursor":
                parts.append((key, cursor))
            else:
                node = _object_type(edge.fields["node"].type)
                parts.append((key, self._node(node, field_details, row, st)))
        return self._object(parts)

    def _page_info(
        self,
        connection: GraphQLObjectType,
        details: FieldDetailsList,
        row: str,
        first: str,
        cursor: str,
        empty_cursor: str,
    ) -> str:
        """``pageInfo`` over the page's rows (``first`` + 1 of them when a next page exists)."""
        on_page = f"{row}.liaison_position <= {first}::int"
        info = _object_type(connection.fields["pageInfo"].type)
        parts = []
        for key, field_details in self._subfields(info, details).items():
            name = field_details[0].node.name.value
            if name == "__typename":
                parts.append((key, _literal(f'"{info.name}"')))
            elif name == "hasNextPage":
                rows = f"count({row}.liaison_position)"  # not the NULL row of an empty list
                more = f"CASE WHEN {rows} > {first}::int THEN 'true' ELSE 'false' END"
                parts.append((key, more))
            else:
                last = f"(array_agg({cursor} ORDER BY {row}.liaison_position DESC)"
                last += f" FILTER (WHERE {on_page}))[1]"
                parts.append((key, f"coalesce({last}, {empty_cursor})"))
        return self._object(parts)
