"""What the fuzz sends: hypothesis-graphql's documents, then bent the ways clients get it wrong.

hypothesis-graphql generates operations from a schema with their argument values inline:
valid ones, and in ``NEGATIVE`` mode ones with one schema violation. :func:`operations` takes
those and sometimes moves the values into variables, aims ids and cursors at real rows,
breaks the variables or the document, goes past the depth, alias and token limits, or sends
a fixed hostile document or request body instead. Custom scalars get valid values most of
the time and edge or garbage values otherwise; strings carry NUL and control characters now
and then.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar, cast

import graphql
import hypothesis_graphql as hg
from hypothesis import strategies as st
from hypothesis_graphql import nodes

N = TypeVar("N", bound=graphql.Node)

SURROGATE_MARK = "LIAISON-FUZZ-LONE-SURROGATE"
"""Stands for a lone surrogate in a variable. JSON can carry ``\\ud800`` but Python cannot
encode it from a ``str``, so :meth:`Operation.body` writes the escape in the body's text."""


@dataclass(frozen=True)
class Operation:
    """One HTTP request of the fuzz."""

    kind: str
    """How it was made: ``valid``, ``negative``, ``variables:missing``, ``limits:depth``, ..."""
    query: str = ""
    variables: dict[str, Any] = field(default_factory=dict)
    raw: bytes | None = None
    """A request body sent as it is instead of ``{"query", "variables"}``."""

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        text = json.dumps({"query": self.query, "variables": self.variables})
        return text.replace(SURROGATE_MARK, "\\ud800").encode()


@dataclass(frozen=True)
class Limits:
    """The target's query limits, so the fuzz goes just under and past each of them."""

    depth: int
    aliases: int
    tokens: int


@dataclass
class Pools:
    """Ids and cursors seen in answers, so generated arguments hit real rows and pages."""

    ids: list[str] = field(default_factory=list)
    cursors: list[str] = field(default_factory=list)
    by_type: dict[str, list[str]] = field(default_factory=dict)
    """Ids by the ``__typename`` they came with."""

    def add(self, answer: object) -> None:
        """Collect every ``id``, ``cursor`` and ``endCursor`` string in a JSON answer."""
        if isinstance(answer, list):
            for item in answer:
                self.add(item)
        elif isinstance(answer, dict):
            typename = answer.get("__typename")
            for key, value in answer.items():
                if isinstance(value, str) and key == "id":
                    if value not in self.ids:
                        self.ids.append(value)
                    if isinstance(typename, str):
                        typed = self.by_type.setdefault(typename, [])
                        typed.extend([value] if value not in typed else [])
                elif isinstance(value, str) and key in ("cursor", "endCursor"):
                    if value not in self.cursors:
                        self.cursors.append(value)
                else:
                    self.add(value)


def load_schema(path: Path) -> graphql.GraphQLSchema:
    """A schema from committed SDL (federation directives are used there, not declared)."""
    return graphql.build_schema(path.read_text(encoding="utf-8"), assume_valid_sdl=True)


def entity_types(schema: graphql.GraphQLSchema) -> list[str]:
    """Types with a ``@key``: what ``_entities`` representations name."""
    return sorted(
        name
        for name, type_ in schema.type_map.items()
        if type_.ast_node is not None
        and any(d.name.value == "key" for d in getattr(type_.ast_node, "directives", ()) or ())
    )


# --- values -------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)

HOSTILE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\x1b[31m\x07\x08",
        "\u202etxt.exe",
        "\ufeff",
        "\r\n\t",
        "%s%n%x",
        "' OR '1'='1",
        "'; DROP TABLE outbox; --",
        "{{7*7}}",
        "../../../../etc/passwd",
        "a" * 10_000,
        "😀" * 200,
        "𠜎𠜎",
        SURROGATE_MARK,
    ]
)

VOCABULARY = st.sampled_from(
    _words(
        """Asia/Shanghai Europe/Berlin America/New_York Not/AZone UTC CN DE XX zh@liaison.example
    not-an-email https://partner.example/hook http://127.0.0.1:4100/graphql
    http://169.254.169.254/latest/meta-data file:///etc/passwd PMO ADMIN MEMBER
    DEPARTMENT_HEAD PARTNER FREQ=WEEKLY;BYDAY=MO FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1
    FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1 FREQ=DAILY;COUNT=100000 FREQ=SECONDLY
    FREQ=YEARLY;BYMONTH=13 RRULE:FREQ=WEEKLY 2026-W10 2026-W53 2026-03 2026-13
    requests.request.created tasks.* * dingtalk wecom feishu email kEUR CNY %"""
    )
)
"""Values some fields expect (time zones, roles, RRULEs, periods, URLs) and near misses."""


def texts(*, hostile: bool = True) -> st.SearchStrategy[str]:
    """Printable text or known vocabulary; if ``hostile``, now and then anything (NUL too)."""
    clean = st.text(st.characters(categories=("L", "N", "P", "Zs")), min_size=1, max_size=40)
    if not hostile:
        return st.one_of(clean, VOCABULARY)
    return st.one_of(clean, clean, VOCABULARY, VOCABULARY, st.text(max_size=30), HOSTILE_TEXT)


def id_values(pools: Pools, *, hostile: bool = True) -> st.SearchStrategy[str]:
    """Ids of real rows; if ``hostile``, sometimes unknown, garbage or hostile ones."""
    real = st.sampled_from(pools.ids) if pools.ids else st.uuids().map(str)
    if not hostile:
        return real
    return st.one_of(
        real, real, real, real, st.uuids().map(str), st.text(max_size=12), HOSTILE_TEXT
    )


ZONES = [
    UTC,
    timezone(timedelta(hours=8)),
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=5, minutes=45)),
    timezone(timedelta(hours=14)),
]
EDGE_DATETIMES = [
    *_words(
        """0001-01-01T00:00:00Z 0001-01-01T00:00:00+14:00 9999-12-31T23:59:59-05:00
    9999-12-31T23:59:59.999999Z 0000-01-01T00:00:00Z 2026-03-02T09:00 2026-03-02T09:00:00
    2026-03-02 2026-02-30T10:00:00Z 2026-13-01T00:00:00Z 2026-03-02T24:00:00Z
    2026-03-02T23:59:60Z 2026-03-02T09:00:00+25:00 2026-03-02T09:00:00+08:00:30
    2026-03-02T09:00:00.123456789Z +2026-03-02T09:00:00Z 2026-W10-1T09:00Z 20260302T090000Z
    1772442000 now"""
    ),
    "2026-03-02 09:00:00Z",
    "",
    "2026-03-02T09:00:00Z\x00",
]
EDGE_DATES = [
    *_words(
        """0001-01-01 9999-12-31 0000-01-01 2026-02-29 2028-02-29 2026-02-30 2026-13-01 2026-00-10
    20260302 2026-W10-1 2026-03-02T00:00:00Z 02/03/2026 today"""
    ),
    "",
]
EDGE_TIMES = [
    "00:00",
    "23:59:59.999999",
    "24:00",
    "23:59:60",
    "25:00",
    "09:00+08:00",
    "9:00",
    "9am",
]
EDGE_DECIMALS = [
    *_words(
        """NaN sNaN Infinity -Infinity 1e999999 -1E+1000000000 1e-999999
    0.000000000000000000000000000001 -0 -1 1_000 1,5 0x10"""
    ),
    " 1 ",
    "about 2M",
    "",
]


def _strings_or(values: st.SearchStrategy[str], edges: Sequence[str]) -> st.SearchStrategy[Any]:
    """Nodes of ``values`` mostly, else an edge value, garbage text or a non-string literal."""
    return st.one_of(
        values.map(nodes.String),
        values.map(nodes.String),
        values.map(nodes.String),
        st.sampled_from(edges).map(nodes.String),
        st.text(max_size=20).map(nodes.String),
        st.integers().map(nodes.Int),
    )


def json_values() -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        texts(),
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NAMES, inner, max_size=4),
        max_leaves=10,
    )


def to_node(value: Any) -> graphql.ValueNode:
    """A GraphQL literal for a JSON value."""
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([to_node(v) for v in value])
    fields = [
        graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=to_node(v))
        for k, v in value.items()
    ]
    return nodes.Object(fields)


def representations(pools: Pools, types: Sequence[str]) -> st.SearchStrategy[Any]:
    """``_Any`` values: entity representations, well-formed or not."""
    typename = st.sampled_from(types) if types else st.just("Query")
    ids = id_values(pools)
    good = st.fixed_dictionaries({"__typename": typename, "id": ids})
    return st.one_of(
        good.map(to_node),
        good.map(to_node),
        good.map(to_node),
        st.fixed_dictionaries({"id": ids}).map(to_node),
        st.fixed_dictionaries(
            {"__typename": st.sampled_from(["Query", "_Service", "Nope", ""]), "id": ids}
        ).map(to_node),
        st.fixed_dictionaries(
            {"__typename": typename, "id": st.one_of(st.integers(), st.none(), st.lists(ids))}
        ).map(to_node),
        st.fixed_dictionaries({"__typename": typename}).map(to_node),
        json_values().map(to_node),
    )


def custom_scalars(
    pools: Pools, types: Sequence[str], *, hostile: bool = True
) -> dict[str, st.SearchStrategy[Any]]:
    """Value strategies for the scalars hypothesis-graphql cannot generate itself, and for
    ``ID`` and ``String``, whose built-in strategies know no real ids or vocabulary. Not
    ``hostile``: only values a careful client could send."""
    soon = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    datetimes = st.one_of(
        st.datetimes(
            min_value=datetime(2020, 1, 1),
            max_value=datetime(2035, 12, 31),
            timezones=st.sampled_from(ZONES),
        ),
        st.integers(1, 24 * 90).map(lambda hours: soon + timedelta(hours=hours)),
    ).map(datetime.isoformat)
    dates = st.dates(date(2020, 1, 1), date(2035, 12, 31)).map(date.isoformat)
    decimals = st.one_of(
        st.decimals(-(10**6), 10**9, places=2, allow_nan=False, allow_infinity=False).map(str),
        st.integers(0, 10**7).map(str),
    )
    times = st.times().map(lambda t: t.isoformat("minutes"))
    if not hostile:
        return {
            "ID": id_values(pools, hostile=False).map(nodes.String),
            "String": texts(hostile=False).map(nodes.String),
            "DateTime": datetimes.map(nodes.String),
            "Date": dates.map(nodes.String),
            "Time": times.map(nodes.String),
            "Decimal": decimals.map(nodes.String),
            "JSON": json_values().map(to_node),
            "_Any": st.fixed_dictionaries(
                {"__typename": st.sampled_from(types), "id": id_values(pools, hostile=False)}
            ).map(to_node),
        }
    return {
        "ID": st.one_of(id_values(pools).map(nodes.String), st.integers().map(nodes.Int)),
        "String": texts().map(nodes.String),
        "DateTime": _strings_or(datetimes, EDGE_DATETIMES),
        "Date": _strings_or(dates, EDGE_DATES),
        "Time": _strings_or(times, EDGE_TIMES),
        "Decimal": st.one_of(
            _strings_or(decimals, EDGE_DECIMALS),
            st.sampled_from([1e308, -1e308, 5e-324]).map(nodes.Float),
        ),
        "JSON": json_values().map(to_node),
        "_Any": representations(pools, types),
    }


# --- pagination ---------------------------------------------------------------------------

FIRST_EDGES = [0, -1, 101, 100_000, 2**31 - 1, -(2**31)]
CURSOR_KEYS: list[Any] = [
    [],
    [None],
    [1],
    ["x"],
    [1, 2],
    ["x", "y"],
    [None, None],
    [True, False],
    [[], {}],
    [{"a": 1}, "x"],
    ["2026-01-01T00:00:00+00:00", "not-a-uuid"],
    ["not-a-date", "0190b1c8-0000-7000-8000-000000000000"],
    ["0001-01-01T00:00:00+00:00", "0190b1c8-0000-7000-8000-000000000000"],
    [1e308, -1],
    [2**63 - 1, -(2**63)],
    ["\x00", "\x00"],
    ["x"] * 50,
    "not a list",
    5,
    {"a": 1},
]
ODD_KEY_PARTS: list[Any] = [None, 0, -1, 2**63 - 1, 1.5, "x", "", "\x00", [], {}, True]


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _bent(cursor: str) -> st.SearchStrategy[str]:
    """A real cursor whose key has one part of the wrong type, one part too many or too few."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        return st.just(cursor)
    if not isinstance(key, list) or not key:
        return st.just(encode_cursor([key, key]))
    index = st.integers(0, len(key) - 1)
    swapped = st.tuples(index, st.sampled_from(ODD_KEY_PARTS)).map(
        lambda p: [*key[: p[0]], p[1], *key[p[0] + 1 :]]
    )
    return st.one_of(swapped, swapped, st.just(key[:-1]), st.just([*key, key[-1]])).map(
        encode_cursor
    )


def cursor_values(pools: Pools) -> st.SearchStrategy[Any]:
    real = st.sampled_from(pools.cursors) if pools.cursors else st.nothing()
    garbage = st.sampled_from(["", "=", "====", "W10=", "bnVsbA==", "__4=", "%%%", "e30"])
    return st.one_of(
        st.just(nodes.Null),
        real.map(nodes.String),
        real.map(nodes.String),
        real.flatmap(_bent).map(nodes.String),
        real.flatmap(_bent).map(nodes.String),
        st.sampled_from(CURSOR_KEYS).map(encode_cursor).map(nodes.String),
        garbage.map(nodes.String),
        st.text(max_size=20).map(nodes.String),
    )


def first_values() -> st.SearchStrategy[Any]:
    page = st.integers(1, 100).map(nodes.Int)
    return st.one_of(page, page, page, st.sampled_from(FIRST_EDGES).map(nodes.Int))


# --- document surgery ---------------------------------------------------------------------


def _keep(document: graphql.DocumentNode) -> graphql.DocumentNode:
    return document


class _Collect(graphql.Visitor):
    def __init__(self, kind: type[graphql.Node]) -> None:
        super().__init__()
        self.kind = kind
        self.found: list[graphql.Node] = []

    def enter(self, node: graphql.Node, *_: Any) -> None:
        if isinstance(node, self.kind):
            self.found.append(node)


def _all(document: graphql.DocumentNode, kind: type[N]) -> list[N]:
    collect = _Collect(kind)
    graphql.visit(document, collect)
    return cast(list[N], collect.found)


class _Replace(graphql.Visitor):
    def __init__(self, new: dict[int, graphql.Node]) -> None:
        super().__init__()
        self.new = new

    def enter(self, node: graphql.Node, *_: Any) -> graphql.Node | None:
        return self.new.get(id(node))


def _edit(document: graphql.DocumentNode, new: dict[int, graphql.Node]) -> graphql.DocumentNode:
    """The document with the nodes keyed by ``id()`` in ``new`` replaced (the rest shared)."""
    return cast(graphql.DocumentNode, graphql.visit(document, _Replace(new)))


def _copy(node: N, **changes: Any) -> N:
    return dataclasses.replace(node, **changes)


def _typed_arguments(
    schema: graphql.GraphQLSchema, document: graphql.DocumentNode
) -> list[tuple[graphql.ArgumentNode, graphql.GraphQLInputType]]:
    """Each argument of the document that the schema knows, with its type."""
    info = graphql.TypeInfo(schema)
    found: list[tuple[graphql.ArgumentNode, graphql.GraphQLInputType]] = []

    class Arguments(graphql.Visitor):
        def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> None:
            argument = info.get_argument()
            if argument is not None:
                found.append((node, argument.type))

    graphql.visit(document, graphql.TypeInfoVisitor(info, Arguments()))
    return found


@dataclass
class Lifted:
    """A document whose chosen arguments became variables (declared by :meth:`text`)."""

    document: graphql.DocumentNode
    definitions: dict[str, graphql.TypeNode]
    variables: dict[str, Any]

    def text(self) -> str:
        operation = self.document.definitions[0]
        assert isinstance(operation, graphql.OperationDefinitionNode)
        definitions = tuple(
            graphql.VariableDefinitionNode(
                variable=graphql.VariableNode(name=graphql.NameNode(value=name)), type=type_
            )
            for name, type_ in self.definitions.items()
        )
        return graphql.print_ast(
            _edit(
                self.document, {id(operation): _copy(operation, variable_definitions=definitions)}
            )
        )


PERSON_ROLES = {"approver", "attendee", "head", "accountable", "owner", "chair", "person"}
"""Names of input fields that take a person's id (``approverId``, ``attendeeIds``, ...)."""


class Surgeon:
    """Changes to a generated document, drawn with hypothesis."""

    def __init__(self, schema: graphql.GraphQLSchema, pools: Pools) -> None:
        self.schema = schema
        self.by_type = pools.by_type
        real = st.sampled_from(pools.cursors).map(nodes.String) if pools.cursors else st.nothing()
        self.pages = {
            True: {"first": first_values(), "after": cursor_values(pools)},
            False: {
                "first": st.integers(1, 100).map(nodes.Int),
                "after": real | st.just(nodes.Null),
            },
        }

    def aimed(self, draw: st.DrawFn, document: graphql.DocumentNode) -> graphql.DocumentNode:
        """Ids of the right kind in arguments and input fields named for one (``requestId``
        gets a request's id, ``attendeeIds`` people's ids, ...)."""
        new: dict[int, graphql.Node] = {}
        for node in _all(document, graphql.ArgumentNode) + _all(document, graphql.ObjectFieldNode):
            pool = self.ids_for(node.name.value)
            if pool is None:
                continue
            value = node.value
            if isinstance(value, graphql.StringValueNode):
                value = nodes.String(draw(pool))
            elif isinstance(value, graphql.ListValueNode):
                value = nodes.List([nodes.String(draw(pool)) for _ in value.values])
            new[id(node)] = _copy(node, value=value)
        return _edit(document, new) if new else document

    def ids_for(self, name: str) -> st.SearchStrategy[str] | None:
        """The ids an argument or input field called ``name`` takes, if known."""
        lower = name.lower()
        if lower == "dependson":
            lower = "taskids"
        if not lower.endswith(("id", "ids")):
            return None
        base = lower.removesuffix("ids").removesuffix("id")
        base = "person" if base in PERSON_ROLES else base
        kinds = [
            t
            for t in self.by_type
            if base and (t.lower().endswith(base) or base.endswith(t.lower()))
        ]
        return st.sampled_from(self.by_type[min(kinds, key=len)]) if kinds else None

    def paged(
        self, draw: st.DrawFn, document: graphql.DocumentNode, *, hostile: bool = True
    ) -> graphql.DocumentNode:
        """``first`` in range, ``after`` real or null; if ``hostile``, ``first`` is sometimes
        out of range and ``after`` bent or garbage."""
        new: dict[int, graphql.Node] = {}
        pages = self.pages[hostile]
        for argument in _all(document, graphql.ArgumentNode):
            name = argument.name.value
            if name in pages:
                new[id(argument)] = _copy(argument, value=draw(pages[name]))
        return _edit(document, new) if new else document

    def lifted(
        self, draw: st.DrawFn, document: graphql.DocumentNode, *, every: bool = False
    ) -> Lifted:
        """Some (or ``every``) of the arguments as variables, with the literals' values."""
        new: dict[int, graphql.Node] = {}
        definitions: dict[str, graphql.TypeNode] = {}
        variables: dict[str, Any] = {}
        for argument, type_ in _typed_arguments(self.schema, document):
            if not every and not draw(st.booleans()):
                continue
            name = f"v{len(definitions)}"
            variable = graphql.VariableNode(name=graphql.NameNode(value=name))
            new[id(argument)] = _copy(argument, value=variable)
            definitions[name] = graphql.parse_type(str(type_))
            variables[name] = graphql.value_from_ast_untyped(argument.value)
        return Lifted(_edit(document, new) if new else document, definitions, variables)

    def break_variables(self, draw: st.DrawFn, lifted: Lifted) -> tuple[str, Lifted]:
        """One variable missing, of the wrong JSON type, declared with the wrong type, not
        declared, or a lone surrogate."""
        if not lifted.variables:
            return "none", lifted
        name = draw(st.sampled_from(sorted(lifted.variables)))
        how = draw(
            st.sampled_from(["missing", "wrong_type", "mistyped", "undeclared", "surrogate"])
        )
        variables = dict(lifted.variables)
        definitions = dict(lifted.definitions)
        if how == "missing":
            del variables[name]
        elif how == "wrong_type":
            variables[name] = draw(st.sampled_from(_wrong_json(variables[name])))
        elif how == "mistyped":
            declared = draw(st.sampled_from(["Int", "String!", "[Boolean!]!", "ID", "NotAType"]))
            definitions[name] = graphql.parse_type(declared)
        elif how == "undeclared":
            del definitions[name]
        else:
            variables[name] = SURROGATE_MARK
        return how, Lifted(lifted.document, definitions, variables)

    def break_document(self, draw: st.DrawFn, document: graphql.DocumentNode) -> tuple[str, str]:
        """A syntax error, or an unknown field, argument, type, directive or fragment, or
        two operations and no name to choose."""
        how = draw(
            st.sampled_from(
                ["syntax", "truncated", "field", "argument", "type", "directive", "fragment", "two"]
            )
        )
        text = graphql.print_ast(document)
        if how == "syntax":
            marks = [i for i, char in enumerate(text) if char in '{}()[]:$"'] or [0]
            cut = draw(st.sampled_from(marks))
            return how, text[:cut] + text[cut + 1 :]
        if how == "truncated":
            return how, text[: draw(st.integers(0, max(0, len(text) - 1)))]
        if how == "two":
            return how, text + "\nquery Other { __typename }"
        sets = _all(document, graphql.SelectionSetNode)
        chosen = draw(st.sampled_from(sets))
        addition: graphql.SelectionNode
        if how == "field":
            addition = graphql.FieldNode(name=graphql.NameNode(value="notAField"))
        elif how == "type":
            addition = _first_selection("{ ... on NotAType { __typename } }")
        elif how == "fragment":
            addition = graphql.FragmentSpreadNode(name=graphql.NameNode(value="NotAFragment"))
        elif how == "directive":
            directive = draw(
                st.sampled_from(["@nope", '@include(if: "yes")', "@skip", "@deprecated"])
            )
            addition = _first_selection(f"{{ __typename {directive} }}")
        else:
            fields = [s for s in chosen.selections if isinstance(s, graphql.FieldNode)]
            if not fields:
                return how, text
            target = draw(st.sampled_from(fields))
            extra = graphql.ArgumentNode(
                name=graphql.NameNode(value="notAnArgument"), value=nodes.Int(1)
            )
            duplicate = list(target.arguments or ())[:1] or [extra]
            arguments = (*(target.arguments or ()), *draw(st.sampled_from([[extra], duplicate])))
            return how, graphql.print_ast(
                _edit(document, {id(target): _copy(target, arguments=arguments)})
            )
        changed = _copy(chosen, selections=(*chosen.selections, addition))
        return how, graphql.print_ast(_edit(document, {id(chosen): changed}))


def _first_selection(document: str | graphql.DocumentNode) -> graphql.SelectionNode:
    parsed = graphql.parse(document) if isinstance(document, str) else document
    operation = parsed.definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    return operation.selection_set.selections[0]


def _wrong_json(value: Any) -> list[Any]:
    """JSON values of another type than ``value``."""
    if value is None:
        return [{}, [], 0, ""]
    if isinstance(value, bool):
        return ["true", 1, [value]]
    if isinstance(value, int | float):
        return [str(value), f"{value}x", 1.5, True, [value], 2**64, -(2**64)]
    if isinstance(value, str):
        return [12, 1.5, True, [value], {"value": value}, None]
    if isinstance(value, list):
        return [value[0] if value else "x", {"0": value}, "x", 0]
    return [[value], "x", 1, True]


# --- limits -------------------------------------------------------------------------------


MADE_UP_ID = '"0190b1c8-0000-7000-8000-000000000000"'
MADE_UP_IDS = f"[{MADE_UP_ID}]"


def cycle(schema: graphql.GraphQLSchema) -> tuple[list[str], list[str]] | None:
    """Fields that nest without end: a path from the query root to a type, then a cycle of
    fields back to it. Each entry is a field with its arguments written out; a field may
    have required ``ID`` arguments only (given a made-up id)."""
    root = schema.query_type
    assert root is not None

    def step(field_name: str, field: graphql.GraphQLField) -> str | None:
        arguments = []
        for name, argument in sorted(field.args.items()):
            if not graphql.is_required_argument(argument):
                continue
            named = graphql.get_named_type(argument.type)
            if named.name != "ID":
                return None
            is_list = graphql.is_list_type(graphql.get_nullable_type(argument.type))
            arguments.append(f"{name}: {MADE_UP_IDS if is_list else MADE_UP_ID}")
        return f"{field_name}({', '.join(arguments)})" if arguments else field_name

    def walk(
        type_: graphql.GraphQLObjectType, path: list[tuple[str, str]]
    ) -> tuple[list[str], list[str]] | None:
        for name, definition in sorted(type_.fields.items()):
            target = graphql.get_named_type(definition.type)
            text = step(name, definition)
            if text is None or not isinstance(target, graphql.GraphQLObjectType):
                continue
            seen = [type_name for type_name, _ in path]
            if target.name in seen:
                start = seen.index(target.name) + 1
                fields = [f for _, f in path]
                return fields[:start], [*fields[start:], text]
            if len(path) < 8:
                found = walk(target, [*path, (target.name, text)])
                if found:
                    return found
        return None

    found = walk(root, [(root.name, "")])
    if found is None:
        return None
    prefix, loop = found
    return [f for f in prefix if f], loop


def nested(prefix: Sequence[str], loop: Sequence[str], depth: int) -> str:
    """A query ``depth`` fields deep along ``prefix`` then ``loop`` repeated."""
    fields = list(prefix)
    while len(fields) < depth:
        fields.extend(loop)
    fields = fields[:depth]
    return (
        "query {" + "".join(f" {f} {{" for f in fields) + " __typename" + " }" * (len(fields) + 1)
    )


def aliased(field: graphql.FieldNode, count: int) -> str:
    """One root field ``count`` times under different aliases."""
    plain = graphql.print_ast(_copy(field, alias=None))
    return "query {\n" + "\n".join(f"  a{i}: {plain}" for i in range(count)) + "\n}"


# --- hostile constants --------------------------------------------------------------------

FIXED_DOCUMENTS = [
    "",
    " ",
    "{",
    "}",
    "query",
    "{ }",
    "{ __typename",
    "{ __typename }}",
    "# only a comment",
    "{ __schema { types { name } } }",
    '{ __type(name: "Query") { name fields { name } } }',
    "query Q { __typename } query Q { __typename }",
    "query A { __typename } query B { __typename }",
    "fragment F on Query { ...F } { ...F }",
    "fragment F on Query { __typename } { ...G }",
    "fragment F on Query { __typename } { __typename }",
    '{ __typename @include(if: "yes") }',
    "{ __typename @nope }",
    "{ __typename @skip(if: true) @skip(if: false) }",
    'query($a: Int = "x") { __typename }',
    "query($a: NotAType) { __typename }",
    "query($a: Int!) { __typename }",
    "query($a: Int, $a: Int) { __typename }",
    "subscription { __typename }",
    "mutation { __typename }",
    "{ __typename(x: 1) }",
    "{ ... on Query { ... on Query { __typename } } }",
    "{ a: __typename a: __typename }",
    "{ __typename \x00 }",
    "{ __typename \u2028 }",
    '{ __typename(x: "\\ud800") }',
    '{ __typename(x: "\\u{110000}") }',
    '{ __typename(x: "' + "\\" + '") }',
    "{ __typename }" * 200,
]

DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
RAW_BODIES = [
    b"",
    b"null",
    b"1",
    b'"x"',
    b"[]",
    b"{}",
    b"{",
    b'{"query": null}',
    b'{"query": 1}',
    b'{"query": ["{ __typename }"]}',
    b'[{"query": "{ __typename }"}]',
    b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]',
    b'{"query": "{ __typename }", "variables": "x"}',
    b'{"query": "{ __typename }", "variables": [1]}',
    b'{"query": "{ __typename }", "operationName": 5}',
    b'{"query": "query A { __typename }", "operationName": "B"}',
    b'{"query": "{ __typename }",'
    b' "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "00"}}}',
    b'{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "00"}}}',
    b'{"query": "{ __typename }"} trailing',
    b'{"query": "\xff\xfe"}',
    b'{"query": "\\ud800"}',
    b'{"query": "{ __typename }", "variables": {"a": "\\udfff"}}',
    b'\xef\xbb\xbf{"query": "{ __typename }"}',
    b'{"query": "{ __typename }", "variables": {"a": ' + DEEP_JSON + b"}}",
    b'{"query": "{ __typename }", "variables": {"a": 1e999999}}',
    b'{"query": "{ __typename }", "variables": {"a": 123456789012345678901234567890}}',
    b'{"query": "{ __typename }", "variables": {"a": NaN}}',
    b'{"query": "{ __typename }", "query": "{ __typename }"}',
]


# --- the strategy -------------------------------------------------------------------------

KINDS = (
    ["plausible"] * 5
    + ["valid"] * 5
    + ["negative"] * 3
    + ["variables"] * 2
    + ["document"] * 2
    + ["limits"] * 2
    + ["fixed", "body"]
)


def operations(
    schema: graphql.GraphQLSchema,
    pools: Pools,
    limits: Limits,
    *,
    mutation_fields: Sequence[str] | None = None,
) -> st.SearchStrategy[Operation]:
    """Operations on ``schema``: valid ones with plausible values (``plausible``) or with
    edge and hostile values (``valid``), and ones broken in one of many ways."""
    types = entity_types(schema)
    scalars = custom_scalars(pools, types)
    roots = mutation_fields or list(schema.mutation_type.fields if schema.mutation_type else ())

    def documents(values: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
        # One root field per operation: smaller documents, generated three times faster,
        # and every root field gets its share.
        assert schema.query_type is not None
        return st.one_of(
            *(
                hg.queries(schema, fields=[f], custom_scalars=values, print_ast=_keep)
                for f in schema.query_type.fields
            ),
            *(
                hg.mutations(schema, fields=[f], custom_scalars=values, print_ast=_keep)
                for f in roots
            ),
        )

    valid = documents(scalars)
    plausible = documents(custom_scalars(pools, types, hostile=False))
    queries = hg.queries(schema, custom_scalars=scalars, print_ast=_keep)
    negative = st.one_of(
        hg.queries(schema, custom_scalars=scalars, print_ast=_keep, mode=hg.Mode.NEGATIVE),
        hg.mutations(
            schema, fields=roots, custom_scalars=scalars, print_ast=_keep, mode=hg.Mode.NEGATIVE
        ),
    )
    surgeon = Surgeon(schema, pools)
    past_limits = _past_limits(queries, limits, cycle(schema))

    @st.composite
    def build(draw: st.DrawFn) -> Operation:
        kind = draw(st.sampled_from(KINDS))
        if kind == "plausible":
            document = surgeon.aimed(draw, surgeon.paged(draw, draw(plausible), hostile=False))
            lifted = surgeon.lifted(draw, document)
            return Operation(kind, lifted.text(), lifted.variables)
        if kind in ("valid", "negative"):
            document = surgeon.paged(draw, draw(valid if kind == "valid" else negative))
            if draw(st.booleans()):
                lifted = surgeon.lifted(draw, document)
                return Operation(kind, lifted.text(), lifted.variables)
            return Operation(kind, graphql.print_ast(document))
        if kind == "variables":
            lifted = surgeon.lifted(draw, surgeon.paged(draw, draw(valid)), every=True)
            how, broken = surgeon.break_variables(draw, lifted)
            return Operation(f"variables:{how}", broken.text(), broken.variables)
        if kind == "document":
            how, text = surgeon.break_document(draw, draw(valid))
            return Operation(f"document:{how}", text)
        if kind == "limits":
            return draw(past_limits)
        if kind == "fixed":
            return Operation(kind, draw(st.sampled_from(FIXED_DOCUMENTS)))
        return Operation(kind, raw=draw(st.sampled_from(RAW_BODIES)))

    return build()


def _past_limits(
    queries: st.SearchStrategy[graphql.DocumentNode],
    limits: Limits,
    loop: tuple[list[str], list[str]] | None,
) -> st.SearchStrategy[Operation]:
    """Just under and past the depth, alias and token limits; deep nesting for the parser."""

    @st.composite
    def build(draw: st.DrawFn) -> Operation:
        how = draw(st.sampled_from(["depth", "aliases", "tokens", "lists", "selections"]))
        if how == "depth" and loop is not None:
            depth = draw(st.integers(limits.depth - 2, limits.depth + 20))
            return Operation("limits:depth", nested(*loop, depth))
        if how == "aliases":
            document = draw(queries)
            root = _first_selection(document)
            if isinstance(root, graphql.FieldNode):
                count = draw(st.integers(limits.aliases - 3, limits.aliases + 150))
                return Operation("limits:aliases", aliased(root, count))
        if how == "lists":
            depth = draw(st.integers(100, limits.tokens))
            return Operation("limits:lists", "{ __typename(x: " + "[" * depth + "]" * depth + ") }")
        if how == "selections":
            depth = draw(st.integers(100, limits.tokens // 2))
            return Operation("limits:selections", "{" + " a {" * depth + " b" + " }" * (depth + 1))
        count = draw(st.integers(limits.tokens - 100, limits.tokens + 3000))
        return Operation("limits:tokens", "{ " + "__typename " * count + "}")

    return build()
