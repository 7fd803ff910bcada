"""Checks the gateway's entity references before Strawberry resolves them.

``_entities(representations: [_Any!]!)`` takes arbitrary JSON. A representation that is not
an object, names no type of this subgraph's ``_Entity`` union, or lacks a string ``id`` (the
key of every Liaison entity) is refused as ``BAD_USER_INPUT`` instead of failing deep in the
federation resolver.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema, GraphQLUnionType

from shared.graphql.error_codes import ErrorCode
from shared.graphql.errors import PublicError


def _problem(representation: Any, entity_types: frozenset[str]) -> str | None:
    if not isinstance(representation, dict):
        return "a representation must be an object"
    typename = representation.get("__typename")
    if typename not in entity_types:
        return f"`__typename` must name an entity of this service: {sorted(entity_types)}"
    if not isinstance(representation.get("id"), str):
        return "a representation needs its key, a string `id`"
    return None


def guard_entities(schema: GraphQLSchema) -> None:
    """Wrap ``Query._entities`` (if the subgraph has entities) with the checks above."""
    union = schema.type_map.get("_Entity")
    field = schema.query_type.fields.get("_entities") if schema.query_type else None
    if not isinstance(union, GraphQLUnionType) or field is None or field.resolve is None:
        return
    entity_types = frozenset(t.name for t in union.types)
    resolve = field.resolve

    def checked(source: Any, info: Any, **args: Any) -> Any:
        for index, representation in enumerate(args.get("representations") or ()):
            problem = _problem(representation, entity_types)
            if problem is not None:
                raise PublicError(f"representations.{index}: {problem}", ErrorCode.BAD_USER_INPUT)
        return resolve(source, info, **args)

    field.resolve = checked
