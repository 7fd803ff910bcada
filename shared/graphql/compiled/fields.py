"""What the compiler makes of one field of the schema: its SQL and how its value is written
as JSON text. :func:`compiled_field` answers None where a field cannot be compiled."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
)

from shared.graphql import pagination
from shared.graphql.compiled.sql import (
    SQL_METADATA,
    Column,
    FieldSql,
    JsonText,
    Nested,
    ToMany,
    ToOne,
)

Scalar = Literal["text", "int", "boolean", "datetime", "date", "decimal"]
"""How a scalar's SQL value becomes the same JSON as the Python path serialises."""

SCALARS: dict[str, Scalar] = {
    "ID": "text",
    "String": "text",
    "Int": "int",
    "Boolean": "boolean",
    "DateTime": "datetime",
    "Date": "date",
    "Decimal": "decimal",
}

Structure = Literal["connection", "edge", "page_info"]


@dataclass(frozen=True)
class Shape:
    """A GraphQL output type, unwrapped: its named type, whether it is nullable, and
    whether it is a list (of non-null items: the only lists the compiler writes)."""

    named: GraphQLNamedType
    nullable: bool
    is_list: bool


def shape_of(output: GraphQLOutputType) -> Shape | None:
    nullable = not isinstance(output, GraphQLNonNull)
    inner = output.of_type if isinstance(output, GraphQLNonNull) else output
    if isinstance(inner, GraphQLList):
        item = inner.of_type
        if not isinstance(item, GraphQLNonNull) or isinstance(item.of_type, GraphQLList):
            return None
        return Shape(item.of_type, nullable, True)
    assert not isinstance(inner, GraphQLNonNull)
    return Shape(inner, nullable, False)


def scalar_kind(named: GraphQLNamedType) -> Scalar | None:
    """The writer of a leaf type; None for a leaf the compiler does not write (Float, JSON,
    an enum whose names differ from its stored values)."""
    if isinstance(named, GraphQLScalarType):
        return SCALARS.get(named.name)
    if isinstance(named, GraphQLEnumType):
        origin = named.extensions.get("strawberry-definition")
        wrapped = getattr(origin, "wrapped_cls", None)
        if not (isinstance(wrapped, type) and issubclass(wrapped, enum.Enum)):
            return None
        if all(member.name == member.value for member in wrapped):
            return "text"
    return None


def structure_of(named: GraphQLNamedType) -> Structure | None:
    """Whether ``named`` is one of the Relay types of :mod:`shared.graphql.pagination`."""
    definition = named.extensions.get("strawberry-definition")
    origin = getattr(getattr(definition, "concrete_of", None) or definition, "origin", None)
    if origin is pagination.Connection:
        return "connection"
    if origin is pagination.Edge:
        return "edge"
    if origin is pagination.PageInfo:
        return "page_info"
    return None


STRUCTURE_FIELDS: dict[Structure, frozenset[str]] = {
    "connection": frozenset({"edges", "pageInfo", "totalCount"}),
    "edge": frozenset({"cursor", "node"}),
    "page_info": frozenset({"hasNextPage", "endCursor"}),
}


def field_sql(field: GraphQLField) -> FieldSql | None:
    """The field's declared SQL; a plain field's is the column of its Python name. None:
    computed in Python only."""
    definition = field.extensions.get("strawberry-definition")
    if definition is None:
        return None
    declared = definition.metadata.get(SQL_METADATA)
    if declared is not None:
        assert isinstance(declared, FieldSql)
        return declared
    if definition.base_resolver is not None:
        return None
    return Column("{row}." + definition.python_name)


PAGE_ARGUMENTS = frozenset({"first", "after"})
"""The arguments of a nested connection (:mod:`shared.graphql.child_pages`)."""


def compiled_field(field: GraphQLField) -> tuple[FieldSql, Shape] | None:
    """The SQL and shape of an object type's field, if the compiler can write it."""
    sql, shape = field_sql(field), shape_of(field.type)
    if sql is None or shape is None:
        return None
    if isinstance(sql, Nested):
        others = set(field.args) - PAGE_ARGUMENTS
        arguments = set(field.args) >= PAGE_ARGUMENTS and (sql.filters is not None or not others)
        paged = arguments and not shape.is_list
        return (sql, shape) if paged and structure_of(shape.named) == "connection" else None
    if field.args:
        return None
    if isinstance(sql, Column):
        return (sql, shape) if scalar_kind(shape.named) is not None else None
    if isinstance(sql, JsonText):
        json = isinstance(shape.named, GraphQLScalarType) and shape.named.name == "JSON"
        return (sql, shape) if json and not shape.is_list else None
    if (isinstance(sql, ToOne) and not shape.is_list) or (
        isinstance(sql, ToMany) and shape.is_list
    ):
        return (sql, shape) if isinstance(shape.named, GraphQLObjectType) else None
    return None
