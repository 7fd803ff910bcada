"""Breaking changes between two event catalogs: what a type may not do without a new version.

An event's data must stay readable both ways within one ``dataversion``: consumers written
against the last release must understand what producers send now, and events stored before
(the replay window, webhooks retried for days) must still fit the current schema. So, unless
the event type's version was raised, a change is breaking when it

- removes a field (``field removed``),
- makes a field required that was not, or adds a required field (``required field added``),
- accepts fewer values, e.g. drops ``null``, adds an enum or a format (``type narrowed``),
- accepts more values, e.g. allows ``null``, adds an enum value, stops requiring a field
  (``type widened``): an older consumer may not handle them.

Adding an optional field is not breaking (every event keeps unknown fields). The envelope has
no version: any breaking change to it is reported. ``python -m shared.events.compat``
compares a fresh catalog with the committed baseline (the last release's catalog);
``--release`` makes the committed catalog the new baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.events import catalog as catalogs

Schema = dict[str, Any]

# Keywords that bound a value from above or below: moving one outward widens, inward narrows.
UPPER_BOUNDS = {"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"}
LOWER_BOUNDS = {"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}
# Any other change of these refuses values accepted before (and maybe accepts new ones).
RESTRICTIONS = {"format", "pattern", "multipleOf", "contentEncoding", "contentMediaType"}


class Kind(StrEnum):
    REMOVED = "field removed"
    REQUIRED_ADDED = "required field added"
    NARROWED = "type narrowed"
    WIDENED = "type widened"
    EVENT_REMOVED = "event type removed"
    VERSION_LOWERED = "version lowered"


@dataclass(frozen=True)
class Change:
    """One breaking change: where (event type and field path), what kind, and the detail."""

    where: str
    kind: Kind
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind} ({self.detail})"


@dataclass
class _Diff:
    """One comparison: the documents the two sides' ``$ref`` resolve in, the changes found."""

    old_root: Schema
    new_root: Schema
    changes: list[Change] = field(default_factory=list)
    open: set[tuple[int, int]] = field(default_factory=set)

    def add(self, where: str, kind: Kind, detail: str) -> None:
        self.changes.append(Change(where, kind, detail))


def _resolve(schema: Schema, root: Schema) -> Schema:
    """``schema`` with its ``$ref`` (a JSON pointer into ``root``) followed; siblings of a
    ``$ref`` (descriptions) do not change what it accepts."""
    while "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


def _branches(schema: Schema, root: Schema) -> Iterator[tuple[str, Schema]]:
    """(JSON type, schema) for each kind of value ``schema`` accepts; ``any`` when untyped."""
    schema = _resolve(schema, root)
    choices = schema.get("anyOf") or schema.get("oneOf")
    if choices:
        for choice in choices:
            yield from _branches(choice, root)
        return
    kind = schema.get("type")
    values = _values(schema)
    if kind is None and values is not None:
        kind = sorted({_json_type(v) for v in values})
    for name in kind if isinstance(kind, list) else [kind or "any"]:
        yield name, schema


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    names = {str: "string", float: "number", list: "array", dict: "object"}
    return names[type(value)]


def _values(schema: Schema) -> list[Any] | None:
    """The only values ``schema`` allows (``enum`` or ``const``), or None: no such limit."""
    if "const" in schema:
        return [schema["const"]]
    enum = schema.get("enum")
    return list(enum) if enum is not None else None


def _compare(diff: _Diff, old: Schema, new: Schema, where: str) -> None:
    """Record what ``new`` accepts that ``old`` did not, and the other way round."""
    key = (id(_resolve(old, diff.old_root)), id(_resolve(new, diff.new_root)))
    if key in diff.open:  # a recursive schema: this pair is being compared further up
        return
    diff.open.add(key)
    try:
        _compare_branches(diff, old, new, where)
    finally:
        diff.open.discard(key)


def _compare_branches(diff: _Diff, old: Schema, new: Schema, where: str) -> None:
    old_types = dict(_branches(old, diff.old_root))
    new_types = dict(_branches(new, diff.new_root))
    if "any" in old_types or "any" in new_types:
        if ("any" in old_types) != ("any" in new_types):
            kind = Kind.WIDENED if "any" in new_types else Kind.NARROWED
            diff.add(where, kind, f"{sorted(old_types)} -> {sorted(new_types)}")
        return
    for name in sorted(old_types.keys() - new_types.keys()):
        if not (name == "integer" and "number" in new_types):
            diff.add(where, Kind.NARROWED, f"no longer accepts {name}")
    for name in sorted(new_types.keys() - old_types.keys()):
        if name == "number" and "integer" in old_types:
            diff.add(where, Kind.WIDENED, "integer -> number")
        elif not (name == "integer" and "number" in old_types):
            diff.add(where, Kind.WIDENED, f"now also accepts {name}")
    for name in sorted(old_types.keys() & new_types.keys()):
        _compare_values(diff, old_types[name], new_types[name], where)
        _compare_keywords(diff, old_types[name], new_types[name], where)
        if name == "object":
            _compare_objects(diff, old_types[name], new_types[name], where)
        elif name == "array":
            _compare(
                diff,
                old_types[name].get("items", {}),
                new_types[name].get("items", {}),
                where + "[]",
            )


def _compare_values(diff: _Diff, old: Schema, new: Schema, where: str) -> None:
    old_values, new_values = _values(old), _values(new)
    if old_values is None and new_values is not None:
        diff.add(where, Kind.NARROWED, f"only {new_values} now")
    elif old_values is not None and new_values is None:
        diff.add(where, Kind.WIDENED, f"no longer only {old_values}")
    elif old_values is not None and new_values is not None:
        if gone := [v for v in old_values if v not in new_values]:
            diff.add(where, Kind.NARROWED, f"no longer accepts {gone}")
        if added := [v for v in new_values if v not in old_values]:
            diff.add(where, Kind.WIDENED, f"now also accepts {added}")


def _compare_keywords(diff: _Diff, old: Schema, new: Schema, where: str) -> None:
    for keyword in sorted((UPPER_BOUNDS | LOWER_BOUNDS | RESTRICTIONS) & (old.keys() | new.keys())):
        before, after = old.get(keyword), new.get(keyword)
        if before == after:
            continue
        detail = f"{keyword} {before!r} -> {after!r}"
        if after is None:
            diff.add(where, Kind.WIDENED, detail)
        elif before is None or keyword in RESTRICTIONS:
            diff.add(where, Kind.NARROWED, detail)
        else:
            outward = after > before if keyword in UPPER_BOUNDS else after < before
            diff.add(where, Kind.WIDENED if outward else Kind.NARROWED, detail)


def _compare_objects(diff: _Diff, old: Schema, new: Schema, where: str) -> None:
    old_fields, new_fields = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for name, schema in old_fields.items():
        path = f"{where}.{name}"
        if name not in new_fields:
            diff.add(path, Kind.REMOVED, "not in the new schema")
            continue
        if name in old_required and name not in new_required:
            diff.add(path, Kind.WIDENED, "no longer required: it may be missing")
        _compare(diff, schema, new_fields[name], path)
    for name in sorted(new_required - old_required):
        diff.add(f"{where}.{name}", Kind.REQUIRED_ADDED, "older events may lack it")
    _compare_extra(
        diff, old.get("additionalProperties", True), new.get("additionalProperties", True), where
    )


def _compare_extra(diff: _Diff, old: Any, new: Any, where: str) -> None:
    """``additionalProperties``: true (anything), false (nothing) or a schema (map values)."""
    old, new = ({} if v is True else v for v in (old, new))
    if isinstance(old, dict) and isinstance(new, dict):
        _compare(diff, old, new, where + "{}")
    elif old is False and new is not False:
        diff.add(where, Kind.WIDENED, "other fields now allowed")
    elif new is False and old is not False:
        diff.add(where, Kind.NARROWED, "other fields no longer allowed")


def schema_changes(
    old: Schema,
    new: Schema,
    *,
    old_root: Schema | None = None,
    new_root: Schema | None = None,
    where: str = "data",
) -> list[Change]:
    """The breaking changes from ``old`` to ``new``; each side's ``$ref`` resolve in its root
    (by default the schema itself, as in a pydantic schema with ``$defs``)."""
    diff = _Diff(old if old_root is None else old_root, new if new_root is None else new_root)
    _compare(diff, old, new, where)
    return diff.changes


def _component(document: Schema, name: str) -> Schema:
    schema: Schema = document["components"]["schemas"][name]
    return schema


def catalog_changes(baseline: Schema, current: Schema) -> list[Change]:
    """The breaking changes from the ``baseline`` catalog to ``current``: the envelope's, and
    those of each event type whose data version was not raised."""
    envelope = catalogs.ENVELOPE_SCHEMA
    changes = schema_changes(
        _component(baseline, envelope),
        _component(current, envelope),
        old_root=baseline,
        new_root=current,
        where="envelope",
    )
    now = catalogs.event_schemas(current)
    for type_, before in catalogs.event_schemas(baseline).items():
        after = now.get(type_)
        if after is None:
            changes.append(Change(type_, Kind.EVENT_REMOVED, "no longer in the catalog"))
        elif after.version < before.version:
            detail = f"{before.version} -> {after.version}"
            changes.append(Change(type_, Kind.VERSION_LOWERED, detail))
        elif after.version == before.version:
            changes += schema_changes(
                _component(baseline, before.schema),
                _component(current, after.schema),
                old_root=baseline,
                new_root=current,
                where=f"{type_} v{after.version}: data",
            )
    return changes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--release", action="store_true", help="make the committed catalog the new baseline"
    )
    args = parser.parse_args()
    if args.release:
        catalogs.BASELINE_PATH.write_text(catalogs.render(catalogs.build_catalog()), "utf-8")
        print(f"wrote {catalogs.BASELINE_PATH}")
        return 0
    baseline = json.loads(catalogs.BASELINE_PATH.read_text(encoding="utf-8"))
    changes = catalog_changes(baseline, catalogs.build_catalog())
    for change in changes:
        print(change, file=sys.stderr)
    return 1 if changes else 0


if __name__ == "__main__":
    sys.exit(main())
