"""The event catalog: an AsyncAPI 3.0 document generated from the event contracts.

``python -m shared.events.catalog`` writes ``shared/events/asyncapi.json``; ``--check`` exits
1 when the committed file differs from a fresh generation (as ``services.sdl --check`` does
for the SDL). The gateway serves the file at ``/asyncapi.json`` (gateway/catalog.ts), and
every event's ``dataschema`` points at its data schema in it. One channel per event type;
each message is the CloudEvents envelope with that type's ``data``. docs/event-catalog.md
is the partners' guide to it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from shared.events.catalog_examples import example_envelope
from shared.events.contracts import data_model_for, data_version_for, registered_types
from shared.events.envelope import EventEnvelope, schema_key

CATALOG_PATH = Path(__file__).with_name("asyncapi.json")
BASELINE_PATH = Path(__file__).with_name("asyncapi.baseline.json")
ENVELOPE_SCHEMA = "CloudEvent"
SCHEMAS = "#/components/schemas/"
MESSAGE_KEY = "event"  # each channel carries one message: its event type's envelope

DESCRIPTION = """\
Every change in Liaison is published as an event: a CloudEvents 1.0 envelope (JSON) whose
`type` names the event and whose `data` follows that type's schema, at the version in
`dataversion`; `dataschema` is the URL of that schema in this document. There is one
channel per event type. A partner receives events in any of three ways:

1. **Webhooks** (server `webhooks`): register an endpoint with `createWebhookEndpoint`;
   Liaison POSTs each envelope, signed by Standard Webhooks (`webhook-id`, the event id,
   the same on every retry; `webhook-timestamp`; `webhook-signature`).
2. **GraphQL subscription** (server `graphql-subscription`), over graphql-transport-ws:
   `subscription { events(types: [...], after: "<last id>") { id type dataVersion data } }`.
3. **GraphQL replay** (server `graphql-replay`): the `events(types, after, first)` query
   pages through the retained events, oldest first; cursors are event ids.

Both GraphQL fields return the envelope's attributes as fields of the `Event` type
(`dataversion` as `dataVersion`). A partner sees only the event types its scopes name.
A breaking change to an event's data comes with a new `dataversion`."""

GATEWAY_HOST = {
    "default": "127.0.0.1:4000",
    "description": "The gateway of your region (behind TLS outside a development machine).",
}

SERVERS: dict[str, Any] = {
    "webhooks": {
        "host": "{endpoint_host}",
        "protocol": "https",
        "title": "Your webhook endpoint",
        "description": "Liaison POSTs each event, as JSON, to the URL registered with"
        " `createWebhookEndpoint`; a 2xx answer within 15 s is success, anything else is"
        " retried (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). Deliveries are at least once:"
        " drop a `webhook-id` already processed.",
        "variables": {"endpoint_host": {"description": "Host of the registered endpoint."}},
    },
    "graphql-subscription": {
        "host": "{gateway_host}",
        "protocol": "ws",
        "pathname": "/graphql",
        "title": "The `events` subscription",
        "description": "graphql-transport-ws; the token goes in the `connection_init`"
        ' payload (`{"authorization": "Bearer <jwt>"}`). `after` resumes after an event id.',
        "variables": {"gateway_host": GATEWAY_HOST},
    },
    "graphql-replay": {
        "host": "{gateway_host}",
        "protocol": "http",
        "pathname": "/graphql",
        "title": "The `events` query",
        "description": "A Relay connection of the retained events (90 days by default),"
        " oldest first; pass the last event id received as `after`.",
        "variables": {"gateway_host": GATEWAY_HOST},
    },
}

WEBHOOK_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["webhook-id", "webhook-timestamp", "webhook-signature"],
    "properties": {
        "webhook-id": {
            "type": "string",
            "description": "The event id: the same on every retry, replay and endpoint.",
        },
        "webhook-timestamp": {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "Unix time (seconds) at which this attempt was signed.",
        },
        "webhook-signature": {
            "type": "string",
            "description": "`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, keyed with the"
            " endpoint's `whsec_` secret; two, space-separated, while a rotated secret overlaps.",
        },
    },
}


@dataclass(frozen=True)
class EventSchema:
    """What the catalog says of one event type: its data version and data schema key."""

    version: int
    schema: str


def data_schemas() -> dict[str, Any]:
    """Every event type's data schema under ``<type>.v<version>``, plus the nested models
    they refer to under their class names."""
    types = registered_types()
    models = sorted({data_model_for(t) for t in types}, key=lambda m: m.__name__)
    refs, defs = models_json_schema(
        [(m, "serialization") for m in models], ref_template=SCHEMAS + "{model}"
    )
    by_name: dict[str, Any] = defs.get("$defs", {})
    # pydantic names each model's schema (two models of one name get longer names).
    name_of = {m: refs[(m, "serialization")]["$ref"].removeprefix(SCHEMAS) for m in models}
    per_type = {
        schema_key(t, data_version_for(t)): by_name[name_of[data_model_for(t)]] for t in types
    }
    # A model appears under its class name only when another schema refers to it.
    text = json.dumps(list(by_name.values()))
    nested = {k: v for k, v in by_name.items() if f'"{SCHEMAS}{k}"' in text}
    return {**nested, **per_type}


def envelope_schema() -> dict[str, Any]:
    """The CloudEvents envelope every event travels in."""
    schema = EventEnvelope.model_json_schema(mode="serialization")
    # Producers write every attribute; only those that may be null can also be missing, from
    # events stored before the attribute existed.
    schema["required"] = [
        name
        for name, attribute in schema["properties"].items()
        if {"type": "null"} not in attribute.get("anyOf", [])
    ]
    schema["title"] = "CloudEvents 1.0 envelope"
    schema["description"] = (
        "CloudEvents attributes (`specversion` ... `dataschema`), the event's `data`, and"
        " Liaison's extension attributes: `dataversion`, `region` (of the emitting process),"
        " `departments` (which the event concerns, for routing and visibility) and"
        " `traceparent` (W3C trace context of the change)."
    )
    return schema


def message(type_: str) -> dict[str, Any]:
    """The message of one event type: its envelope, with the type's data schema."""
    version = data_version_for(type_)
    model = data_model_for(type_)
    specific = {
        "type": "object",
        "properties": {
            "type": {"const": type_},
            "dataversion": {"const": version},
            "dataschema": {
                "type": "string",
                "format": "uri",
                "description": f"<catalog URL>{SCHEMAS}{schema_key(type_, version)}",
            },
            "data": {"$ref": SCHEMAS + schema_key(type_, version)},
        },
    }
    return {
        "name": type_,
        "title": type_,
        "summary": (model.__doc__ or type_).strip().splitlines()[0],
        "contentType": "application/json",
        "payload": {"allOf": [{"$ref": SCHEMAS + ENVELOPE_SCHEMA}, specific]},
        "examples": [{"name": "example", "payload": example_envelope(type_)}],
        "bindings": {"http": {"headers": WEBHOOK_HEADERS, "bindingVersion": "0.3.0"}},
    }


def channel(type_: str) -> dict[str, Any]:
    return {
        "address": type_,
        "title": type_,
        "description": f"Every `{type_}` event, in any of the three ways (servers).",
        "messages": {MESSAGE_KEY: {"$ref": f"#/components/messages/{type_}"}},
    }


def operation(type_: str) -> dict[str, Any]:
    return {
        "action": "send",
        "title": f"Liaison sends {type_}",
        "channel": {"$ref": f"#/channels/{type_}"},
        "messages": [{"$ref": f"#/channels/{type_}/messages/{MESSAGE_KEY}"}],
        "bindings": {"http": {"method": "POST", "bindingVersion": "0.3.0"}},
    }


def build_catalog() -> dict[str, Any]:
    """The AsyncAPI document of every registered event type."""
    types = registered_types()
    return {
        "asyncapi": "3.0.0",
        "id": "urn:liaison:events",
        "info": {
            "title": "Liaison events",
            "version": package_version("liaison"),
            "description": DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "servers": SERVERS,
        "channels": {t: channel(t) for t in types},
        "operations": {f"send.{t}": operation(t) for t in types},
        "components": {
            "schemas": {ENVELOPE_SCHEMA: envelope_schema(), **data_schemas()},
            "messages": {t: message(t) for t in types},
        },
    }


def event_schemas(catalog: dict[str, Any]) -> dict[str, EventSchema]:
    """Each event type of a catalog (this generator's layout) with its version and schema."""
    found = {}
    for type_, msg in catalog["components"]["messages"].items():
        properties = msg["payload"]["allOf"][1]["properties"]
        schema = properties["data"]["$ref"].removeprefix(SCHEMAS)
        found[type_] = EventSchema(properties["dataversion"]["const"], schema)
    return found


def render(catalog: dict[str, Any]) -> str:
    """The catalog as committed: stable key order, two-space indents, a final newline."""
    return json.dumps(catalog, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed file is stale")
    args = parser.parse_args()
    fresh = render(build_catalog())
    current = CATALOG_PATH.read_text(encoding="utf-8") if CATALOG_PATH.exists() else None
    if current == fresh:
        return 0
    if args.check:
        print(f"stale {CATALOG_PATH} (run `python -m shared.events.catalog`)", file=sys.stderr)
        return 1
    CATALOG_PATH.write_text(fresh, encoding="utf-8")
    print(f"wrote {CATALOG_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
