"""Once per document: can it be compiled? A static walk over every selection (whatever
``@skip``/``@include`` will decide), so the answer holds for every set of variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_operation_ast,
    visit,
)
from graphql.execution.collect_fields import FragmentDetails
from graphql.language import DirectiveNode, VariableNode

from shared.graphql.compiled.fields import (
    STRUCTURE_FIELDS,
    compiled_field,
    field_sql,
    structure_of,
)
from shared.graphql.compiled.sql import Root

CONDITIONS = frozenset({"skip", "include"})


@dataclass(frozen=True)
class Plan:
    """A document the compiler serves: its operation and fragments, the variables its
    ``@skip``/``@include`` read, the variables nested pages read their ``after`` cursor from
    (a page after a cursor has a condition more), and the statements written for it so far
    (see :meth:`shared.graphql.compiled.render.Renderer.root`)."""

    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDetails]
    conditions: tuple[str, ...]
    cursors: tuple[str, ...]
    statements: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False)


class _Check(Visitor):
    """Marks the document unservable at the first selection the compiler cannot write."""

    def __init__(self, schema: GraphQLSchema, type_info: TypeInfo) -> None:
        super().__init__()
        self.schema, self.type_info = schema, type_info
        self.servable = True
        self.conditions: dict[str, None] = {}
        self.cursors: dict[str, None] = {}

    def enter_directive(self, node: DirectiveNode, *_: object) -> None:
        if node.name.value not in CONDITIONS:
            self.servable = False
        for argument in node.arguments or ():
            if isinstance(argument.value, VariableNode):
                self.conditions[argument.value.name.value] = None

    def enter_field(self, node: FieldNode, *_: object) -> None:
        if not self._servable(node):
            self.servable = False
        for argument in node.arguments or ():
            if argument.name.value == "after" and isinstance(argument.value, VariableNode):
                self.cursors[argument.value.name.value] = None

    def _servable(self, node: FieldNode) -> bool:
        name = node.name.value
        if name == "__typename":  # also on the `_Entity` union
            return True
        parent = self.type_info.get_parent_type()
        if not isinstance(parent, GraphQLObjectType):
            return False
        field = parent.fields.get(name)
        if field is None:
            return False
        if parent is self.schema.query_type:
            return name == "_entities" or isinstance(field_sql(field), Root)
        structure = structure_of(parent)
        if structure is not None:
            return name in STRUCTURE_FIELDS[structure]
        return compiled_field(field) is not None


def plan(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Plan | None:
    """The plan of a valid document, or None: it runs through Strawberry."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    type_info = TypeInfo(schema)
    check = _Check(schema, type_info)
    visit(document, TypeInfoVisitor(type_info, check))
    if not check.servable:
        return None
    fragments = {
        d.name.value: FragmentDetails(d)
        for d in document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    return Plan(document, operation, fragments, tuple(check.conditions), tuple(check.cursors))
