"""The read operations the differential test runs: every query document written in the test
suite (collected from its source, not hand-picked) and a generated set of selections."""

from __future__ import annotations

import ast
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
    type_from_ast,
    validate,
)
from graphql.language import VariableDefinitionNode

from shared.graphql.compiled.fields import PAGE_ARGUMENTS, shape_of

TESTS = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Operation:
    query: str
    operation_name: str | None
    variables: dict[str, Any]
    origin: str


def _strings(path: Path) -> Iterator[str]:
    """Every string constant of a test module (concatenations are one constant to ast
    only when literal; a query assembled at run time is not collected)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value:
            yield node.value


def collected(schema: GraphQLSchema, sample: dict[str, Any]) -> list[Operation]:
    """Each query operation of the test suite that this subgraph's schema validates, with
    variables made from ``sample`` (values by type name) where it has required ones."""
    found: dict[tuple[str, str | None], Operation] = {}
    for path in sorted(TESTS.rglob("*.py")):
        for text in _strings(path):
            try:
                document = parse(text)
            except GraphQLError:
                continue
            if validate(schema, document):
                continue
            for definition in document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                if definition.operation is not OperationType.QUERY:
                    continue
                name = definition.name.value if definition.name else None
                variables = _variables(schema, definition.variable_definitions or (), sample)
                if variables is not None:
                    origin = str(path.relative_to(TESTS))
                    found.setdefault((text, name), Operation(text, name, variables, origin))
    return list(found.values())


def _variables(
    schema: GraphQLSchema, definitions: tuple[VariableDefinitionNode, ...], sample: dict[str, Any]
) -> dict[str, Any] | None:
    """Values for the required variables; None if one has no sample value."""
    values: dict[str, Any] = {}
    for definition in definitions:
        if definition.default_value is not None:
            continue
        declared = type_from_ast(schema, definition.type)
        if not isinstance(declared, GraphQLNonNull):
            continue
        inner = declared.of_type
        if isinstance(inner, GraphQLList | GraphQLInputObjectType):
            return None
        value = sample.get(definition.variable.name.value, sample.get(getattr(inner, "name", "")))
        if value is None and isinstance(inner, GraphQLEnumType):
            value = next(iter(inner.values))
        if value is None:
            return None
        values[definition.variable.name.value] = value
    return values


class Selections:
    """Random selections over the types a root field reaches: fields, aliases, named and
    inline fragments, ``__typename`` and ``@include``/``@skip`` on a variable."""

    def __init__(self, schema: GraphQLSchema, seed: int) -> None:
        self.schema = schema
        self.random = random.Random(seed)
        self.fragments: list[str] = []

    def operation(self, root: str, arguments: str) -> str:
        self.fragments = []
        query_type = self.schema.query_type
        assert query_type is not None
        shape = shape_of(query_type.fields[root].type)
        assert shape is not None
        named = shape.named
        assert isinstance(named, GraphQLObjectType)
        body = self._selection(named, depth=0)
        head = "query Generated($flag: Boolean!)"
        return f"{head} {{ {root}{arguments} {body} }} " + " ".join(self.fragments)

    def entities(self, typenames: list[str]) -> str:
        """An ``_entities`` call as the gateway makes it, with a selection per type."""
        self.fragments = []
        parts = []
        for typename in typenames:
            named = self.schema.type_map[typename]
            assert isinstance(named, GraphQLObjectType)
            parts.append(f"... on {typename} {self._selection(named, depth=0)}")
        head = "query Generated($flag: Boolean!, $representations: [_Any!]!)"
        body = "_entities(representations: $representations) { __typename " + " ".join(parts)
        return f"{head} {{ {body} }} }} " + " ".join(self.fragments)

    def _selection(self, parent: GraphQLObjectType, depth: int) -> str:
        fields = [name for name, field in parent.fields.items() if self._generated(field)]
        if depth >= 3:  # deep enough: leaves only
            fields = [name for name in fields if not self._is_object(parent, name)]
        if not fields:
            return "{ __typename }"
        chosen = self.random.sample(fields, k=min(len(fields), self.random.randint(1, 6)))
        parts = [self._field(parent, name, depth) for name in chosen]
        if self.random.random() < 0.3:
            parts.append("__typename")
        if self.random.random() < 0.2:
            name = f"F{len(self.fragments)}"
            inner = self._field(parent, self.random.choice(fields), depth)
            self.fragments.append(f"fragment {name} on {parent.name} {{ {inner} }}")
            parts.append(f"...{name}")
        if self.random.random() < 0.2:
            parts.append(f"... on {parent.name} {{ {self._field(parent, chosen[0], depth)} }}")
        return "{ " + " ".join(parts) + " }"

    @staticmethod
    def _generated(field: GraphQLField) -> bool:
        """Fields without arguments, and nested connections (with a small ``first``)."""
        return not field.args or set(field.args) == PAGE_ARGUMENTS

    @staticmethod
    def _is_object(parent: GraphQLObjectType, name: str) -> bool:
        shape = shape_of(parent.fields[name].type)
        return shape is None or isinstance(shape.named, GraphQLObjectType)

    def _field(self, parent: GraphQLObjectType, name: str, depth: int) -> str:
        field = parent.fields[name]
        text = name
        if self.random.random() < 0.2:
            text = f"a{self.random.randint(0, 9)}_{name}: {name}"
        if field.args:
            text += f"(first: {self.random.randint(1, 3)})"
        if self.random.random() < 0.15:
            directive = self.random.choice(["include", "skip"])
            text += f" @{directive}(if: $flag)"
        shape = shape_of(field.type)
        if shape is None:  # a list of lists or of nullable items: not generated
            return "__typename"
        if isinstance(shape.named, GraphQLObjectType):
            text += " " + self._selection(shape.named, depth + 1)
        elif not isinstance(shape.named, GraphQLScalarType | GraphQLEnumType):
            return "__typename"
        return text
