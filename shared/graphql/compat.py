"""Breaking changes of the public GraphQL schema since the last release.

The supergraph the gateway serves (``gateway/supergraph.graphql``) is compared with a
committed baseline, the last release's (``gateway/supergraph.baseline.graphql``), by
graphql-core's ``find_breaking_changes``, on the schema clients see (the federation
machinery, ``join__*`` and ``link``, left out). A field, argument, enum value or input field
that is removed or changes type is allowed only when the baseline already marked it
``@deprecated``: clients get a release's warning first. A type may go once every field,
argument and input field of the baseline that uses it was deprecated. Every other breaking
change (a required argument added, a type leaving a union, ...) is refused.

``python -m shared.graphql.compat`` prints the breaking changes (exit 1 if any);
``--release`` makes the committed supergraph the new baseline.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    Visitor,
    build_ast_schema,
    get_named_type,
    parse,
    visit,
)
from graphql.language.ast import DirectiveDefinitionNode, TypeDefinitionNode
from graphql.language.visitor import REMOVE
from graphql.utilities import (
    BreakingChange,
    BreakingChangeType,
    find_breaking_changes,
    resolve_schema_coordinate,
)

from shared.settings import REPO_ROOT

SUPERGRAPH_PATH = REPO_ROOT / "gateway" / "supergraph.graphql"
BASELINE_PATH = REPO_ROOT / "gateway" / "supergraph.baseline.graphql"

# What composition adds for the query planner; clients never see it.
FEDERATION_PREFIXES = ("join__", "link__")
FEDERATION_DIRECTIVES = {"link"}

# graphql-core names the element of these changes by its schema coordinate.
_COORDINATE = re.compile(r"^(?:Field|Argument|Enum value) (\S+?)(?: was | changed | has )")
_TYPE = re.compile(r"^(\w+) was removed")
_MEMBER_CHANGES = {
    BreakingChangeType.FIELD_REMOVED,
    BreakingChangeType.FIELD_CHANGED_KIND,
    BreakingChangeType.ARG_REMOVED,
    BreakingChangeType.ARG_CHANGED_KIND,
    BreakingChangeType.VALUE_REMOVED_FROM_ENUM,
}


def _is_federation(name: str) -> bool:
    return name.startswith(FEDERATION_PREFIXES) or name in FEDERATION_DIRECTIVES


class _StripFederation(Visitor):
    """Drops the federation types, directive definitions and directive uses."""

    def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
        return REMOVE if _is_federation(node.name.value) else None

    def enter_directive_definition(self, node: DirectiveDefinitionNode, *_: Any) -> Any:
        return REMOVE if _is_federation(node.name.value) else None

    def enter(self, node: Any, *_: Any) -> Any:
        if isinstance(node, TypeDefinitionNode) and _is_federation(node.name.value):
            return REMOVE
        return None


def api_schema(sdl: str) -> GraphQLSchema:
    """The schema clients see of a supergraph (any SDL without federation passes as is)."""
    document: DocumentNode = visit(parse(sdl), _StripFederation())
    return build_ast_schema(document)


def _deprecated(schema: GraphQLSchema, coordinate: str) -> bool:
    """Whether the element at ``coordinate`` (``Type.field``, ``Type.field(arg:)``,
    ``Enum.VALUE``) is deprecated in ``schema``, or belongs to a deprecated field."""
    resolved = resolve_schema_coordinate(schema, coordinate)
    # An argument's resolution names its field too: look at the most specific element.
    kinds = ("field_argument", "enum_value", "input_field", "field")
    element = next((getattr(resolved, k) for k in kinds if hasattr(resolved, k)), None)
    if getattr(element, "deprecation_reason", None) is not None:
        return True
    owner = coordinate.split("(")[0]
    return owner != coordinate and _deprecated(schema, owner)


def _uses(schema: GraphQLSchema, type_name: str) -> Iterator[tuple[str, bool]]:
    """(coordinate, deprecated) of every field, argument and input field of type ``type_name``."""

    def named(type_: GraphQLType) -> str:
        return get_named_type(type_).name

    for owner in schema.type_map.values():
        if isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
            for name, field in owner.fields.items():
                if named(field.type) == type_name:
                    yield f"{owner.name}.{name}", field.deprecation_reason is not None
                for arg_name, arg in field.args.items():
                    if named(arg.type) == type_name:
                        coordinate = f"{owner.name}.{name}({arg_name}:)"
                        yield coordinate, _deprecated(schema, coordinate)
        elif isinstance(owner, GraphQLInputObjectType):
            for name, input_field in owner.fields.items():
                if named(input_field.type) == type_name:
                    yield f"{owner.name}.{name}", input_field.deprecation_reason is not None


def announced(baseline: GraphQLSchema, change: BreakingChange) -> bool:
    """Whether the baseline deprecated what ``change`` removes or alters."""
    if change.type in _MEMBER_CHANGES:
        found = _COORDINATE.match(change.description)
        return found is not None and _deprecated(baseline, found[1])
    if change.type is BreakingChangeType.TYPE_REMOVED:
        if change.description.startswith("Standard scalar "):
            return True  # printed only while used: what stopped using it is reported itself
        found = _TYPE.match(change.description)
        return found is not None and all(dep for _, dep in _uses(baseline, found[1]))
    return False


def breaking_changes(baseline: GraphQLSchema, current: GraphQLSchema) -> list[BreakingChange]:
    """The breaking changes from ``baseline`` to ``current`` that no deprecation announced."""
    changes = find_breaking_changes(baseline, current)
    return [change for change in changes if not announced(baseline, change)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--release", action="store_true", help="make the committed supergraph the new baseline"
    )
    args = parser.parse_args()
    current = SUPERGRAPH_PATH.read_text(encoding="utf-8")
    if args.release:
        BASELINE_PATH.write_text(current, encoding="utf-8")
        print(f"wrote {BASELINE_PATH}")
        return 0
    baseline = api_schema(BASELINE_PATH.read_text(encoding="utf-8"))
    changes = breaking_changes(baseline, api_schema(current))
    for change in changes:
        print(f"{change.type.name}: {change.description}", file=sys.stderr)
    return 1 if changes else 0


if __name__ == "__main__":
    sys.exit(main())
