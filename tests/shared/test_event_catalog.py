"""The event catalog (AsyncAPI 3.0): current, valid by the AsyncAPI parser, complete, and
named by every envelope's ``dataschema``."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.node import GATEWAY_DIR, ensure_gateway_packages, node_executable
from shared.events import catalog
from shared.events.catalog_examples import example_data
from shared.events.contracts import (
    EventData,
    data_model_for,
    data_version_for,
    event_type,
    registered_types,
)
from shared.events.contracts import base as contracts_base
from shared.events.contracts.issues import IssueReported
from shared.events.envelope import (
    DEFAULT_CATALOG_URL,
    EventEnvelope,
    data_schema_url,
    new_event,
    schema_key,
)
from shared.runtime import ServiceRuntime
from shared.unit_of_work import unit_of_work
from tests.shared.conftest import WidgetCreated

CHECKER = GATEWAY_DIR / "check-catalog.mjs"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    built: dict[str, Any] = catalog.build_catalog()
    return built


def check(path: Path) -> tuple[int, dict[str, Any]]:
    """Exit code and report of the AsyncAPI parser (and the examples' check) on ``path``."""
    ensure_gateway_packages()
    result = subprocess.run(
        [node_executable(), str(CHECKER), str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.stdout, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, report


def test_the_committed_catalog_is_a_fresh_generation(document: dict[str, Any]) -> None:
    committed = catalog.CATALOG_PATH.read_text(encoding="utf-8")
    assert committed == catalog.render(document), "run `python -m shared.events.catalog`"


def test_the_check_command_fails_on_a_stale_catalog(tmp_path: Path) -> None:
    stale = tmp_path / "asyncapi.json"
    stale.write_text("{}\n", encoding="utf-8")
    script = (
        "import sys, pathlib; from shared.events import catalog;"
        f" catalog.CATALOG_PATH = pathlib.Path({str(stale)!r});"
        " sys.argv = ['catalog', '--check']; sys.exit(catalog.main())"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "stale" in result.stderr
    assert stale.read_text(encoding="utf-8") == "{}\n"  # --check writes nothing


def test_the_asyncapi_parser_finds_no_error_or_warning() -> None:
    code, report = check(catalog.CATALOG_PATH)
    assert report == {"diagnostics": [], "examples": []}
    assert code == 0


def test_the_validator_refuses_a_broken_document(document: dict[str, Any], tmp_path: Path) -> None:
    broken = copy.deepcopy(document)
    del broken["operations"]["send.issues.issue.reported"]["action"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    code, report = check(path)
    assert code == 1
    assert any("action" in d["message"] for d in report["diagnostics"]), report["diagnostics"]


def test_the_validator_refuses_an_example_its_payload_does_not_allow(
    document: dict[str, Any], tmp_path: Path
) -> None:
    wrong = copy.deepcopy(document)
    example = wrong["components"]["messages"]["tasks.raci.set"]["examples"][0]["payload"]
    example["data"]["raci"] = "not a list"
    path = tmp_path / "wrong-example.json"
    path.write_text(json.dumps(wrong), encoding="utf-8")
    code, report = check(path)
    assert code == 1
    assert report["diagnostics"] == []
    [refused] = report["examples"]
    assert refused["message"] == "tasks.raci.set"
    assert [e["instancePath"] for e in refused["errors"]] == ["/data/raci"]


def test_one_channel_per_event_type_with_its_data_schema(document: dict[str, Any]) -> None:
    types = registered_types()
    assert sorted(document["channels"]) == types
    assert len(types) > 50  # every service's events, not an empty registry
    schemas = document["components"]["schemas"]
    for type_, found in catalog.event_schemas(document).items():
        model = data_model_for(type_)
        assert found.version == data_version_for(type_)
        assert found.schema == schema_key(type_, found.version)
        schema = schemas[found.schema]
        assert schema["title"] == model.__name__
        assert sorted(schema["properties"]) == sorted(model.model_fields), type_
        channel = document["channels"][type_]
        assert channel["address"] == type_
        ref = channel["messages"][catalog.MESSAGE_KEY]["$ref"]
        assert ref == f"#/components/messages/{type_}"


def test_nested_models_are_shared_schemas_every_reference_finds(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    refs = set(_refs(document))
    assert "#/components/schemas/RaciEntry" in refs  # tasks.raci.set's assignments
    for ref in refs:
        assert ref.startswith("#/"), ref
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    # No model is listed under its class name unless something refers to it there.
    for name in schemas:
        if "." not in name and name != catalog.ENVELOPE_SCHEMA:
            assert f"#/components/schemas/{name}" in refs, name


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_example_is_an_envelope_its_model_reads(document: dict[str, Any]) -> None:
    for type_, message in document["components"]["messages"].items():
        [example] = message["examples"]
        envelope = EventEnvelope.model_validate(example["payload"])
        assert envelope.type == type_
        assert isinstance(envelope.typed_data(), data_model_for(type_))
        version = data_version_for(type_)
        assert envelope.dataschema == data_schema_url(DEFAULT_CATALOG_URL, type_, version)


def test_the_envelope_and_the_three_ways_to_receive_are_described(
    document: dict[str, Any],
) -> None:
    envelope = document["components"]["schemas"][catalog.ENVELOPE_SCHEMA]
    assert {"specversion", "id", "source", "type", "time", "dataschema", "data"} <= set(
        envelope["properties"]
    )
    assert "dataschema" not in envelope["required"]  # events stored before it lack it
    assert sorted(document["servers"]) == ["graphql-replay", "graphql-subscription", "webhooks"]
    description = document["info"]["description"]
    for way in ("createWebhookEndpoint", "subscription { events(", "`events(types, after"):
        assert way in description
    message = document["components"]["messages"]["issues.issue.reported"]
    headers = message["bindings"]["http"]["headers"]
    assert headers["required"] == ["webhook-id", "webhook-timestamp", "webhook-signature"]


def test_an_envelope_names_its_schema_and_version() -> None:
    data = IssueReported.model_validate(example_data("issues.issue.reported"))
    pointer = "#/components/schemas/issues.issue.reported.v1"
    envelope = new_event("issues", "issues.issue.reported", "i-1", data)
    assert (envelope.dataversion, envelope.dataschema) == (1, DEFAULT_CATALOG_URL + pointer)
    elsewhere = "https://api.example.com/asyncapi.json"
    moved = new_event("issues", "issues.issue.reported", "i-1", data, catalog_url=elsewhere)
    assert moved.dataschema == elsewhere + pointer


class Bumped(EventData):
    name: str


@pytest.fixture
def bumped_event() -> Iterator[str]:
    """An event type registered at data version 2, for one test."""
    name = "platformtest.thing.changed"
    event_type(name, version=2)(Bumped)
    yield name
    contracts_base._REGISTRY.pop(name, None)
    contracts_base._VERSIONS.pop(name, None)


def test_a_bumped_version_moves_the_dataschema(bumped_event: str) -> None:
    envelope = new_event("platformtest", bumped_event, "t-1", Bumped(name="x"))
    assert envelope.dataversion == 2
    assert envelope.dataschema is not None
    assert envelope.dataschema.endswith(f"#/components/schemas/{bumped_event}.v2")
    schemas = catalog.build_catalog()["components"]["schemas"]
    assert schemas[f"{bumped_event}.v2"]["title"] == "Bumped"


async def test_the_outbox_holds_the_dataschema_of_the_configured_catalog(
    platform: ServiceRuntime, widget_event: str
) -> None:
    async with unit_of_work(platform) as uow:
        await uow.emit(widget_event, "w-1", WidgetCreated(name="w"))
    stored = await platform.pool.fetchval("SELECT envelope FROM outbox")
    envelope = EventEnvelope.model_validate(stored)
    expected = f"{platform.settings.event_catalog_url}#/components/schemas/{widget_event}.v1"
    assert (envelope.dataversion, envelope.dataschema) == (1, expected)
