"""One example envelope per event type, made from its data schema, for the event catalog.

Values are plain placeholders chosen from the field's name and JSON type (``*_id`` fields
get ``<name>-1``, times a fixed instant), so the catalog stays the same on every run; each
example is checked against the type's pydantic model before it is used.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.events.contracts import data_model_for, data_version_for
from shared.events.envelope import DEFAULT_CATALOG_URL, EventEnvelope, data_schema_url

EXAMPLE_TIME = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
EXAMPLE_EVENT_ID = "01955a1e-7c00-7000-8000-000000000001"
EXAMPLE_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
REF_PREFIX = "#/$defs/"

# Strings whose meaning a placeholder would hide.
NAMED_STRINGS = {
    "email": "person@example.com",
    "time_zone": "Asia/Shanghai",
    "url": "https://partner.example.com/hooks/liaison",
}


def _string(name: str, schema: dict[str, Any], owner: str) -> str:
    if schema.get("format") == "date-time":
        return EXAMPLE_TIME.isoformat().replace("+00:00", "Z")
    if schema.get("format") == "date":
        return EXAMPLE_TIME.date().isoformat()
    if name == "id":
        return f"{owner}-1"
    if name.endswith("_id"):
        return name.removesuffix("_id").replace("_", "-") + "-1"
    if name in NAMED_STRINGS:
        return NAMED_STRINGS[name]
    if name.endswith("_url") or name.endswith("_urls"):
        return NAMED_STRINGS["url"]
    return f"example {name.replace('_', ' ')}"


def _value(name: str, schema: dict[str, Any], defs: dict[str, Any], owner: str) -> Any:
    """A value for field ``name`` that ``schema`` accepts (the first non-null choice)."""
    if "$ref" in schema:
        return _value(name, defs[schema["$ref"].removeprefix(REF_PREFIX)], defs, owner)
    if schema.get("default") not in (None, [], {}):
        return schema["default"]
    if "anyOf" in schema:
        choice = next(s for s in schema["anyOf"] if s.get("type") != "null")
        return _value(name, choice, defs, owner)
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, defs, name.removesuffix("s"))
    if kind == "array":
        return [_value(name.removesuffix("s"), schema.get("items", {}), defs, owner)]
    if kind == "string":
        return _string(name, schema, owner)
    return {"integer": 1, "number": 1.5, "boolean": True}.get(str(kind), {})


def _object(schema: dict[str, Any], defs: dict[str, Any], owner: str) -> dict[str, Any]:
    properties = schema.get("properties", {})
    if properties:
        return {key: _value(key, sub, defs, owner) for key, sub in properties.items()}
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and extra:
        return {"person-1": _value(owner, extra, defs, owner)}
    return {}


def example_data(type_: str) -> dict[str, Any]:
    """``data`` of an example ``type_`` event: every field set, valid for its model."""
    model = data_model_for(type_)
    schema = model.model_json_schema(mode="serialization")
    owner = type_.split(".")[1].replace("_", "-")
    data = _object(schema, schema.get("$defs", {}), owner)
    return model.model_validate(data).model_dump(mode="json")


def example_envelope(type_: str) -> dict[str, Any]:
    """An example ``type_`` event as a webhook receives it."""
    data = example_data(type_)
    version = data_version_for(type_)
    ids = [data.get("id"), *(v for k, v in data.items() if k.endswith("_id"))]
    subject = next((v for v in ids if isinstance(v, str)), f"{type_.split('.')[1]}-1")
    envelope = EventEnvelope(
        id=EXAMPLE_EVENT_ID,
        source=type_.split(".")[0],
        type=type_,
        time=EXAMPLE_TIME,
        subject=subject,
        dataversion=version,
        dataschema=data_schema_url(DEFAULT_CATALOG_URL, type_, version),
        data=data,
        region="hq",
        departments=["department-1"],
        traceparent=EXAMPLE_TRACEPARENT,
    )
    return envelope.model_dump(mode="json")
