"""Compatibility rules: the event catalog against its baseline (breaking changes need a new
``dataversion``) and the supergraph against its baseline (removals need a deprecation first).
The rules are tested on crafted schemas, then applied to the committed files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Literal

import pytest
from graphql import build_schema
from graphql.utilities import BreakingChangeType
from pydantic import BaseModel, Field

from shared.events import catalog
from shared.events.compat import Change, Kind, catalog_changes, schema_changes
from shared.events.contracts import EventData, event_type
from shared.events.contracts import base as contracts_base
from shared.graphql import compat as graphql_compat


def changes(old: type[BaseModel], new: type[BaseModel]) -> list[tuple[str, Kind]]:
    """(where, kind) of each breaking change from ``old``'s schema to ``new``'s."""
    found = schema_changes(old.model_json_schema(), new.model_json_schema())
    return [(c.where, c.kind) for c in found]


# --- event data schemas ------------------------------------------------------------------


class Reported(EventData):
    id: str
    title: str
    owner_id: str | None = None


def test_an_unchanged_schema_has_no_breaking_change() -> None:
    assert changes(Reported, Reported) == []


def test_adding_an_optional_field_is_accepted() -> None:
    class WithNote(Reported):
        note: str | None = None
        tags: list[str] = Field(default_factory=list)

    assert changes(Reported, WithNote) == []


def test_a_removed_field_is_breaking() -> None:
    class WithoutTitle(EventData):
        id: str
        owner_id: str | None = None

    assert changes(Reported, WithoutTitle) == [("data.title", Kind.REMOVED)]


def test_a_new_required_field_is_breaking() -> None:
    class WithSeverity(Reported):
        severity: str

    assert changes(Reported, WithSeverity) == [("data.severity", Kind.REQUIRED_ADDED)]


def test_making_an_optional_field_required_is_breaking() -> None:
    class OwnerRequired(EventData):
        id: str
        title: str
        owner_id: str | None

    assert changes(Reported, OwnerRequired) == [("data.owner_id", Kind.REQUIRED_ADDED)]


def test_a_narrowed_type_is_breaking() -> None:
    class OwnerNotNull(EventData):
        id: str
        title: str
        owner_id: str = "nobody"

    assert changes(Reported, OwnerNotNull) == [("data.owner_id", Kind.NARROWED)]


def test_a_format_or_an_enum_where_there_was_none_narrows() -> None:
    class Loose(EventData):
        at: str
        status: str

    class Strict(EventData):
        at: datetime
        status: Literal["OPEN", "CLOSED"]

    assert changes(Loose, Strict) == [("data.at", Kind.NARROWED), ("data.status", Kind.NARROWED)]


def test_widening_is_breaking_too() -> None:
    class Before(EventData):
        count: int
        status: Literal["OPEN"]
        title: str

    class After(EventData):
        count: float
        status: Literal["OPEN", "CLOSED"]
        title: str | None = None

    assert changes(Before, After) == [
        ("data.count", Kind.WIDENED),
        ("data.status", Kind.WIDENED),
        ("data.title", Kind.WIDENED),  # no longer required
        ("data.title", Kind.WIDENED),  # null accepted
    ]
    assert changes(After, Before) == [
        ("data.count", Kind.NARROWED),
        ("data.status", Kind.NARROWED),
        ("data.title", Kind.NARROWED),
        ("data.title", Kind.REQUIRED_ADDED),
    ]


def test_changes_inside_nested_models_and_maps_are_found() -> None:
    class Entry(BaseModel):
        role: str
        person_id: str

    class Slim(BaseModel):
        person_id: str

    class Before(EventData):
        raci: list[Entry]
        deferred: dict[str, datetime]

    class After(EventData):
        raci: list[Slim]
        deferred: dict[str, int]

    found = changes(Before, After)
    assert ("data.raci[].role", Kind.REMOVED) in found
    assert ("data.deferred{}", Kind.NARROWED) in found  # strings no longer accepted
    assert ("data.deferred{}", Kind.WIDENED) in found  # integers now


def test_bounds_moving_inward_narrow_and_outward_widen() -> None:
    before = {"type": "string", "maxLength": 10, "minLength": 2}
    tighter = {"type": "string", "maxLength": 5, "minLength": 2}
    looser = {"type": "string", "minLength": 1}
    assert [c.kind for c in schema_changes(before, tighter)] == [Kind.NARROWED]
    assert [c.kind for c in schema_changes(before, looser)] == [Kind.WIDENED, Kind.WIDENED]


def test_a_change_says_where_what_and_why() -> None:
    found = schema_changes({"type": "integer"}, {"type": "string"}, where="x v1: data.n")
    assert all(isinstance(c, Change) for c in found)
    assert [str(c) for c in found] == [
        "x v1: data.n: type narrowed (no longer accepts integer)",
        "x v1: data.n: type widened (now also accepts string)",
    ]


# --- whole catalogs: the version decides --------------------------------------------------

EVENT = "platformtest.gadget.moved"


class GadgetMoved(EventData):
    id: str
    place: str


class GadgetMovedWithoutPlace(EventData):
    id: str


@pytest.fixture
def register() -> Iterator[Callable[[type[EventData], int], dict[str, Any]]]:
    """Registers ``EVENT`` with a model and version and returns the catalog built then."""

    def build(model: type[EventData], version: int) -> dict[str, Any]:
        event_type(EVENT, version=version)(model)
        built: dict[str, Any] = json.loads(catalog.render(catalog.build_catalog()))
        return built

    yield build
    contracts_base._REGISTRY.pop(EVENT, None)
    contracts_base._VERSIONS.pop(EVENT, None)


def test_a_breaking_change_without_a_new_version_is_refused(register: Any) -> None:
    baseline = register(GadgetMoved, 1)
    current = register(GadgetMovedWithoutPlace, 1)
    found = catalog_changes(baseline, current)
    assert [(c.where, c.kind) for c in found] == [(f"{EVENT} v1: data.place", Kind.REMOVED)]


def test_a_breaking_change_with_a_new_version_is_accepted(register: Any) -> None:
    baseline = register(GadgetMoved, 1)
    assert catalog_changes(baseline, register(GadgetMovedWithoutPlace, 2)) == []


def test_removing_an_event_type_or_lowering_its_version_is_refused(register: Any) -> None:
    baseline = register(GadgetMoved, 2)
    lowered = register(GadgetMoved, 1)
    assert [c.kind for c in catalog_changes(baseline, lowered)] == [Kind.VERSION_LOWERED]
    contracts_base._REGISTRY.pop(EVENT)
    gone = json.loads(catalog.render(catalog.build_catalog()))
    assert [(c.where, c.kind) for c in catalog_changes(baseline, gone)] == [
        (EVENT, Kind.EVENT_REMOVED)
    ]


def test_a_breaking_change_to_the_envelope_is_refused() -> None:
    baseline = catalog.build_catalog()
    current = json.loads(json.dumps(baseline))
    del current["components"]["schemas"][catalog.ENVELOPE_SCHEMA]["properties"]["subject"]
    found = catalog_changes(baseline, current)
    assert [(c.where, c.kind) for c in found] == [("envelope.subject", Kind.REMOVED)]


def test_the_catalog_keeps_the_last_release_s_contract() -> None:
    """A failure here names an event whose data broke compatibility: raise its version
    (``@event_type(name, version=N + 1)``), or undo the change (docs/event-catalog.md)."""
    baseline = json.loads(catalog.BASELINE_PATH.read_text(encoding="utf-8"))
    found = catalog_changes(baseline, catalog.build_catalog())
    assert [str(c) for c in found] == []


# --- the GraphQL schema ------------------------------------------------------------------

BASELINE_SDL = """
type Query {
  request(id: ID!, legacy: Boolean @deprecated(reason: "ignored")): Request
  oldSearch(text: String): [Request!]! @deprecated(reason: "use requests")
  requests(first: Int): [Request!]!
  board: Board @deprecated(reason: "gone next release")
}
type Request {
  id: ID!
  title: String!
  code: String @deprecated(reason: "use id")
  kind: Kind!
}
type Board { name: String! }
enum Kind { PROJECT OPERATIONS LEGACY @deprecated(reason: "not used") }
"""


def graphql_breaks(current_sdl: str) -> list[BreakingChangeType]:
    baseline, current = build_schema(BASELINE_SDL), build_schema(current_sdl)
    return [c.type for c in graphql_compat.breaking_changes(baseline, current)]


def test_removing_what_the_baseline_deprecated_is_accepted() -> None:
    current = """
    type Query { request(id: ID!): Request  requests(first: Int): [Request!]! }
    type Request { id: ID!  title: String!  kind: Kind! }
    enum Kind { PROJECT OPERATIONS }
    """
    assert graphql_breaks(current) == []


def test_changing_a_deprecated_field_is_accepted() -> None:
    current = BASELINE_SDL.replace("code: String @deprecated", "code: Int @deprecated")
    current = current.replace("oldSearch(text: String)", "oldSearch(text: Int)")
    assert graphql_breaks(current) == []


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        ("  title: String!\n", "", BreakingChangeType.FIELD_REMOVED),
        ("title: String!", "title: Int!", BreakingChangeType.FIELD_CHANGED_KIND),
        ("requests(first: Int)", "requests", BreakingChangeType.ARG_REMOVED),
        ("requests(first: Int)", "requests(first: String)", BreakingChangeType.ARG_CHANGED_KIND),
        (
            "requests(first: Int)",
            "requests(first: Int, region: ID!)",
            BreakingChangeType.REQUIRED_ARG_ADDED,
        ),
        ("PROJECT OPERATIONS", "PROJECT", BreakingChangeType.VALUE_REMOVED_FROM_ENUM),
    ],
)
def test_a_removed_or_changed_element_not_deprecated_is_refused(
    before: str, after: str, kind: BreakingChangeType
) -> None:
    assert before in BASELINE_SDL
    assert graphql_breaks(BASELINE_SDL.replace(before, after, 1)) == [kind]


def test_a_type_may_go_only_when_every_use_of_it_was_deprecated() -> None:
    board_field = '  board: Board @deprecated(reason: "gone next release")\n'
    board_type = "type Board { name: String! }\n"
    without_board = BASELINE_SDL.replace(board_field, "").replace(board_type, "")
    assert graphql_breaks(without_board) == []
    # Where a field that was not deprecated also returned it, both removals are refused.
    baseline = build_schema(BASELINE_SDL.replace("kind: Kind!", "kind: Kind!\n  board: Board"))
    found = graphql_compat.breaking_changes(baseline, build_schema(without_board))
    assert sorted(c.description for c in found) == [
        "Board was removed.",
        "Field Request.board was removed.",
    ]


def test_the_federation_machinery_is_not_part_of_the_contract() -> None:
    supergraph = graphql_compat.SUPERGRAPH_PATH.read_text(encoding="utf-8")
    schema = graphql_compat.api_schema(supergraph)
    assert [n for n in schema.type_map if n.startswith(("join__", "link__"))] == []
    assert [d.name for d in schema.directives if d.name.startswith("join__")] == []
    assert "link" not in {d.name for d in schema.directives}
    assert {"Query", "Mutation", "Subscription", "CollabRequest"} <= set(schema.type_map)


def test_the_supergraph_keeps_the_last_release_s_contract() -> None:
    """A failure here names a field removed or changed without a deprecation in the last
    release: deprecate it first (``@deprecated``), remove it a release later."""
    baseline = graphql_compat.api_schema(graphql_compat.BASELINE_PATH.read_text(encoding="utf-8"))
    current = graphql_compat.api_schema(graphql_compat.SUPERGRAPH_PATH.read_text(encoding="utf-8"))
    found = graphql_compat.breaking_changes(baseline, current)
    assert [c.description for c in found] == []
