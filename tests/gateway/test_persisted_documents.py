"""Trusted documents at the real gateway (gateway/persisted-documents.ts): client builds'
persisted-query manifests, registered with ``./liaison documents register``
(devstack/documents.py), run by id; with ``LIAISON_GATEWAY_PERSISTED_DOCUMENTS_ONLY`` a
document sent as text runs only for a partner client, and is PERSISTED_QUERY_NOT_FOUND for
everyone else.

The requests subgraph (the directory, which tells a partner client from a person) and the
notify subgraph (the partners' event feed) run behind these gateways as real processes, on
databases of this module's own; the other subgraphs are not there.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from devstack.documents import register
from devstack.processes import ProcessGroup
from devstack.stack import process_group, process_specs, subgraph_url
from shared.auth import issue_token
from shared.graphql.error_codes import GATEWAY_ONLY_CODES
from shared.settings import REPO_ROOT, Settings
from tests.enrolment import HOME_REGION, enrol
from tests.gateway.conftest import START_TIMEOUT_SECONDS, Gateway, Gateways, free_port
from tests.support import Caller, RuntimeCache, drop_test_state

SUBGRAPHS = ("requests", "notify")
PERSON = Caller("pd-person")
PARTNER = Caller("pd-partner", roles=("PARTNER",), scopes=("requests.*",))

REGIONS = "query Regions { regions { id } }"
EVENTS = "{ events(first: 1) { edges { cursor } } }"
"""The partners' event feed: what a partner client's own documents ask for."""
WEB_BUILD = {
    "format": "apollo-persisted-query-manifest",
    "version": 1,
    "operations": [{"id": "regions-v1", "name": "Regions", "type": "query", "body": REGIONS}],
}
ONLY = {"LIAISON_GATEWAY_PERSISTED_DOCUMENTS_ONLY": "true"}


@pytest.fixture(scope="module")
def pd_settings(settings: Settings) -> Settings:
    """The test run's settings with databases, Redis prefix and ports of this module's own."""
    return settings.model_copy(
        update={
            "database_prefix": f"{settings.database_prefix}pd_",
            "redis_prefix": f"{settings.redis_prefix}pd",
            **{f"{name}_port": free_port() for name in SUBGRAPHS},
        }
    )


@pytest.fixture(scope="module")
async def subgraphs(
    pd_settings: Settings, gateway_packages: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ProcessGroup]:
    """The requests and notify subgraphs, with PERSON and PARTNER in their directories."""
    await drop_test_state(pd_settings, SUBGRAPHS)
    group = process_group(pd_settings, tmp_path_factory.mktemp("pd-subgraphs"))
    try:
        for spec in process_specs(pd_settings):
            if spec.name in SUBGRAPHS:
                group.start(spec)
        group.wait_ready(START_TIMEOUT_SECONDS)
        runtimes = RuntimeCache(pd_settings)
        for service in SUBGRAPHS:
            for caller in (PERSON, PARTNER):
                await enrol(await runtimes.get(service), caller)
        await runtimes.close()
        yield group
    finally:
        group.stop()


@pytest.fixture
def documents(tmp_path: Path) -> Path:
    """A manifests directory holding the web build's manifest."""
    directory = tmp_path / "documents"
    manifest = tmp_path / "web.json"
    manifest.write_text(json.dumps(WEB_BUILD))
    register(manifest, directory)
    return directory


@pytest.fixture
def start(gateways: Gateways, pd_settings: Settings, documents: Path) -> Callable[..., Gateway]:
    """Starts a ready gateway reading ``documents``, in front of the module's subgraphs."""

    def started(extra: dict[str, str], **overrides: str) -> Gateway:
        env = {f"LIAISON_{s.upper()}_URL": subgraph_url(pd_settings, s) for s in SUBGRAPHS}
        env["LIAISON_PERSISTED_DOCUMENTS_DIR"] = str(documents)
        gateway = gateways.start(
            f"gateway-{len(gateways.group.running)}", {**env, **extra, **overrides}
        )
        gateways.wait_ready()
        return gateway

    return started


def token(settings: Settings, caller: Caller) -> str:
    return issue_token(settings, caller.sub)


def send(gateway: Gateway, body: dict[str, Any], bearer: str) -> dict[str, Any]:
    response = httpx.post(
        f"{gateway.url}/graphql", json=body, headers={"authorization": f"Bearer {bearer}"}
    )
    answer: dict[str, Any] = response.json()
    answer["status"] = response.status_code
    return answer


def refused(
    answer: dict[str, Any], code: str = "PERSISTED_QUERY_NOT_FOUND", status: int = 400
) -> bool:
    """Refused with ``code`` alone and nothing ran (no data); over HTTP, with ``status``."""
    codes = [error["extensions"]["code"] for error in answer.get("errors", [])]
    return codes == [code] and answer.get("data") is None and answer.get("status", status) == status


def regions(answer: dict[str, Any]) -> list[str]:
    """The region ids the Regions document answered (it ran through the requests subgraph)."""
    assert "errors" not in answer, answer
    return [region["id"] for region in answer["data"]["regions"]]


def by_id(document_id: str) -> dict[str, Any]:
    return {"documentId": document_id}


def by_apollo_hash(document_id: str) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_id}}}


def wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.05)


def liaison_documents(*args: str, directory: Path) -> subprocess.CompletedProcess[str]:
    """``./liaison documents ...`` (its Python part: the shell script only installs first)."""
    return subprocess.run(
        [sys.executable, "-m", "devstack", "documents", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "LIAISON_PERSISTED_DOCUMENTS_DIR": str(directory)},
        capture_output=True,
        text=True,
        timeout=60,
    )


# -- by id ----------------------------------------------------------------------------------


def test_a_registered_document_runs_by_id_for_a_person(
    subgraphs: ProcessGroup, start: Callable[..., Gateway], pd_settings: Settings
) -> None:
    gateway = start(ONLY)
    person = token(pd_settings, PERSON)
    assert regions(send(gateway, by_id("regions-v1"), person)) == [HOME_REGION]
    assert regions(send(gateway, by_apollo_hash("regions-v1"), person)) == [HOME_REGION]
    # a GET names it in the query string (with the CSRF header every GET needs)
    response = httpx.get(
        f"{gateway.url}/graphql?documentId=regions-v1",
        headers={"authorization": f"Bearer {person}", "x-graphql-csrf": "1"},
    )
    assert regions(response.json()) == [HOME_REGION]


@pytest.mark.parametrize("setting", [ONLY, {}], ids=["registered-only", "off"])
def test_an_unknown_id_is_refused(
    subgraphs: ProcessGroup,
    start: Callable[..., Gateway],
    pd_settings: Settings,
    setting: dict[str, str],
) -> None:
    gateway = start(setting)
    for caller in (PERSON, PARTNER):
        for body in (by_id("regions-v0"), by_apollo_hash("regions-v0")):
            answer = send(gateway, body, token(pd_settings, caller))
            assert refused(answer), answer
    assert "PERSISTED_QUERY_NOT_FOUND" in GATEWAY_ONLY_CODES


# -- documents sent as text -----------------------------------------------------------------


def test_a_document_sent_as_text_is_refused_to_a_person_when_the_setting_is_on(
    subgraphs: ProcessGroup, start: Callable[..., Gateway], pd_settings: Settings
) -> None:
    gateway = start(ONLY)
    person = token(pd_settings, PERSON)
    for query in (REGIONS, "{ __typename }", EVENTS):
        answer = send(gateway, {"query": query}, person)
        assert refused(answer), answer
    # the registered text itself too: only its id is trusted
    assert refused(send(gateway, {"query": REGIONS, **by_apollo_hash("other")}, person))
    # a token the directory does not know: its refusal, with the reason
    answer = send(gateway, {"query": REGIONS}, token(pd_settings, Caller("pd-stranger")))
    assert refused(answer, "UNAUTHENTICATED", 401), answer
    assert "'pd-stranger' is not in Liaison's directory" in answer["errors"][0]["message"]


def test_a_document_sent_as_text_runs_when_the_setting_is_off(
    subgraphs: ProcessGroup, start: Callable[..., Gateway], pd_settings: Settings
) -> None:
    gateway = start({}, LIAISON_GATEWAY_PERSISTED_DOCUMENTS_ONLY="false")
    person = token(pd_settings, PERSON)
    assert regions(send(gateway, {"query": REGIONS}, person)) == [HOME_REGION]
    assert regions(send(gateway, by_id("regions-v1"), person)) == [HOME_REGION]


def test_a_partner_sends_its_own_documents_within_its_scopes(
    subgraphs: ProcessGroup, start: Callable[..., Gateway], pd_settings: Settings
) -> None:
    gateway = start(ONLY)
    partner = token(pd_settings, PARTNER)
    assert send(gateway, {"query": EVENTS}, partner) == {
        "data": {"events": {"edges": []}},
        "status": 200,
    }
    # what its scopes do not reach is the subgraph's refusal, as without the setting
    assert refused(send(gateway, {"query": REGIONS}, partner), "FORBIDDEN", 200)


def test_without_the_directory_text_is_not_run_but_ids_are(
    gateways: Gateways, documents: Path, pd_settings: Settings
) -> None:
    """No requests subgraph: nobody can be told to be a partner, so text is not run (the
    directory's absence is the answer), while registered documents need no directory."""
    gateway = gateways.start("gateway", {**ONLY, "LIAISON_PERSISTED_DOCUMENTS_DIR": str(documents)})
    gateways.wait_ready()
    for caller in (PERSON, PARTNER):
        answer = send(gateway, {"query": "{ __typename }"}, token(pd_settings, caller))
        assert refused(answer, "DOWNSTREAM_SERVICE_ERROR", 502), answer
    # the Regions document reached for the absent requests subgraph: it ran
    answer = send(gateway, by_id("regions-v1"), token(pd_settings, PERSON))
    assert refused(answer, "DOWNSTREAM_SERVICE_ERROR", 200), answer


async def test_over_websocket_ids_run_and_text_is_refused_without_closing(
    subgraphs: ProcessGroup, start: Callable[..., Gateway], pd_settings: Settings
) -> None:
    gateway = start(ONLY)
    url = gateway.url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        auth = {"authorization": f"Bearer {token(pd_settings, PERSON)}"}
        await ws.send(orjson.dumps({"type": "connection_init", "payload": auth}).decode())
        assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"

        async def run(number: int, payload: dict[str, Any]) -> dict[str, Any]:
            message = {"id": str(number), "type": "subscribe", "payload": payload}
            await ws.send(orjson.dumps(message).decode())
            answer: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            assert answer["type"] == "next", answer
            done = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            assert done == {"id": str(number), "type": "complete"}, done
            result: dict[str, Any] = answer["payload"]
            return result

        # graphql-ws wants a `query` string in every subscribe message: empty, with an id
        assert refused(await run(1, {"query": "{ __typename }"}))
        assert refused(await run(2, {"query": "", "documentId": "regions-v0"}))
        assert regions(await run(3, {"query": "", "documentId": "regions-v1"})) == [HOME_REGION]


# -- registering ----------------------------------------------------------------------------


def test_an_invalid_manifest_is_refused_with_reasons_and_nothing_is_stored(
    documents: Path, tmp_path: Path
) -> None:
    before = {file.name: file.read_text() for file in documents.iterdir()}
    mobile = tmp_path / "mobile-2.0.json"
    operations = [
        {"id": "a", "name": "Nope", "type": "query", "body": "query Nope { regions { nope } }"},
        {"id": "b", "name": "Me", "type": "mutation", "body": "query Me { me { id } }"},
        {"id": "c", "name": "Broken", "type": "query", "body": "query Broken { me {"},
        {"id": "regions-v1", "name": "Taken", "type": "query", "body": "query Taken { me { id } }"},
        {"id": "d", "name": "Fine", "type": "query", "body": "query Fine { me { id } }"},
    ]
    mobile.write_text(json.dumps({**WEB_BUILD, "operations": operations}))
    result = liaison_documents("register", str(mobile), directory=documents)
    assert result.returncode == 1, result
    lines = result.stderr.splitlines()
    assert lines[0] == "the manifest was not registered:"
    assert "operations[0] 'Nope' (a): Cannot query field 'nope' on type 'Region'." in lines[1]
    assert "operations[1] 'Me' (b): its body is a query, not a 'mutation'" in lines
    assert any(line.startswith("operations[2] 'Broken' (c): does not parse:") for line in lines)
    assert (
        "operations[3] 'Taken' (regions-v1): its id is registered already for another document"
    ) in lines
    assert not any("'Fine'" in line for line in lines)
    assert {file.name: file.read_text() for file in documents.iterdir()} == before

    mobile.write_text(json.dumps({"format": "relay", "operations": []}))
    result = liaison_documents("register", str(mobile), directory=documents)
    assert result.returncode == 1
    assert 'must be "apollo-persisted-query-manifest"' in result.stderr
    assert {file.name: file.read_text() for file in documents.iterdir()} == before


def test_the_cli_registers_and_retires_a_build_while_the_gateway_runs(
    subgraphs: ProcessGroup,
    start: Callable[..., Gateway],
    pd_settings: Settings,
    documents: Path,
    tmp_path: Path,
) -> None:
    gateway = start(ONLY)
    person = token(pd_settings, PERSON)
    assert refused(send(gateway, by_id("me-v1"), person))
    mobile = tmp_path / "build.json"
    body = "query Me { me { id } }"
    mobile.write_text(
        json.dumps(
            {
                **WEB_BUILD,
                "operations": [{"id": "me-v1", "name": "Me", "type": "query", "body": body}],
            }
        )
    )
    result = liaison_documents("register", str(mobile), "--name", "mobile-2.0", directory=documents)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"registered 1 operations as {documents / 'mobile-2.0.json'}"
    me = {"data": {"me": {"id": PERSON.sub}}, "status": 200}
    wait_for(lambda: send(gateway, by_id("me-v1"), person) == me)
    assert regions(send(gateway, by_id("regions-v1"), person)) == [HOME_REGION]  # still there

    result = liaison_documents("remove", "mobile-2.0", directory=documents)
    assert result.returncode == 0, result.stderr
    wait_for(lambda: refused(send(gateway, by_id("me-v1"), person)))
    assert liaison_documents("remove", "mobile-2.0", directory=documents).returncode == 1


def test_a_gateway_does_not_start_with_a_broken_manifest(
    gateways: Gateways, tmp_path: Path
) -> None:
    (tmp_path / "broken.json").write_text('{"format": "apollo-persisted-query-manifest"}')
    gateways.start("gateway", {"LIAISON_PERSISTED_DOCUMENTS_DIR": str(tmp_path)})
    with pytest.raises(RuntimeError, match="gateway exited"):
        gateways.wait_ready()
    log = (gateways.log_dir / "gateway.log").read_text()
    assert f"{tmp_path / 'broken.json'} is not an Apollo persisted-query manifest" in log


@pytest.fixture(autouse=True)
def _no_stray_files(documents: Path) -> Iterator[None]:
    """The CLI's temporary files never stay behind."""
    yield
    assert not [f for f in documents.iterdir() if f.name.startswith(".")]
