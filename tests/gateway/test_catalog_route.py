"""The gateway serves the committed event catalog at /asyncapi.json, without a token, and
every envelope's ``dataschema`` resolves in what it serves."""

from __future__ import annotations

import posixpath
import re
from typing import Any

import httpx
import pytest

from shared.events import catalog
from shared.events.catalog_examples import example_data
from shared.events.contracts import data_model_for, registered_types
from shared.events.envelope import new_event
from shared.settings import REPO_ROOT
from tests.gateway.conftest import Gateway

DOCKER = REPO_ROOT / "deploy" / "docker"


@pytest.fixture(scope="module")
def gateway(plain_gateway: Gateway) -> Gateway:
    return plain_gateway


def test_the_committed_catalog_is_served_without_a_token(gateway: Gateway) -> None:
    response = httpx.get(f"{gateway.url}/asyncapi.json")
    assert response.status_code == 200
    assert response.content == catalog.CATALOG_PATH.read_bytes()
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json()["asyncapi"] == "3.0.0"


def test_a_client_revalidates_with_the_etag(gateway: Gateway) -> None:
    url = f"{gateway.url}/asyncapi.json"
    etag = httpx.get(url).headers["etag"]
    unchanged = httpx.get(url, headers={"if-none-match": etag})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    other = httpx.get(url, headers={"if-none-match": '"something-else"'})
    assert other.status_code == 200
    head = httpx.head(url)
    assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", etag)


def test_only_reads_are_answered(gateway: Gateway) -> None:
    response = httpx.post(f"{gateway.url}/asyncapi.json", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_every_dataschema_resolves_in_the_served_catalog(gateway: Gateway) -> None:
    catalog_url = f"{gateway.url}/asyncapi.json"
    served: dict[str, Any] = httpx.get(catalog_url).json()
    for type_ in registered_types():
        model = data_model_for(type_)
        envelope = new_event(
            "test", type_, "s-1", model.model_validate(example_data(type_)), catalog_url=catalog_url
        )
        assert envelope.dataschema is not None
        document_url, pointer = envelope.dataschema.split("#", 1)
        assert document_url == catalog_url
        node: Any = served
        for part in pointer.removeprefix("/").split("/"):
            node = node[part]
        assert node["title"] == model.__name__, type_
        assert sorted(node["properties"]) == sorted(model.model_fields), type_


def test_the_gateway_image_holds_the_catalog_where_catalog_ts_reads_it() -> None:
    dockerfile = (DOCKER / "gateway.Dockerfile").read_text(encoding="utf-8")
    ignore = (DOCKER / "gateway.Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    source = (REPO_ROOT / "gateway" / "catalog.ts").read_text(encoding="utf-8")
    [relative] = re.findall(r"new URL\('([^']+)', import\.meta\.url\)", source)
    [workdir] = set(re.findall(r"^WORKDIR (\S+)$", dockerfile, re.MULTILINE))
    copied = re.findall(r"^COPY shared/events/asyncapi\.json (\S+)$", dockerfile, re.MULTILINE)
    assert copied == [posixpath.normpath(posixpath.join(workdir, relative))]
    assert "!shared/events/asyncapi.json" in ignore
    # In the repository the same relative path leads to the committed file.
    assert (REPO_ROOT / "gateway" / relative).resolve() == catalog.CATALOG_PATH
