"""The gateway's edge (gateway/edge.ts, gateway.config.ts): body and alias limits, JSON-only
POSTs, no suggestions while introspection is off, /metrics on a port of its own, and no start
beyond loopback with a development secret.

No subgraph runs behind these gateways: an operation that got as far as executing would
reach for one and answer DOWNSTREAM_SERVICE_ERROR, so a refusal with its own code shows that
nothing ran.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import issue_token
from shared.graphql.error_codes import GATEWAY_ONLY_CODES, ErrorCode
from shared.settings import DEV_GATEWAY_SECRET, REPO_ROOT, Settings
from tests.gateway.conftest import Gateway, Gateways, free_port

MUTATION = (
    'mutation { cancelRequest(input: {requestId: "r1", comment: "no"}) { userErrors { code } } }'
)
"""Would go to the requests subgraph, which is not there."""


@pytest.fixture
def gateway(gateways: Gateways) -> Gateway:
    started = gateways.start("gateway", {})
    gateways.wait_ready()
    return started


@pytest.fixture
def auth() -> dict[str, str]:
    return {"authorization": f"Bearer {issue_token(Settings(), 'zhou-pmo')}"}


def only_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    [error] = response.json()["errors"]
    assert "http" not in error.get("extensions", {}), error
    return dict(error)


def test_the_mutation_would_reach_a_subgraph(gateway: Gateway, auth: dict[str, str]) -> None:
    """The control: sent as it should be, the mutation executes (and finds no subgraph)."""
    response = httpx.post(f"{gateway.url}/graphql", json={"query": MUTATION}, headers=auth)
    codes = {e["extensions"]["code"] for e in response.json()["errors"]}
    assert codes == {"DOWNSTREAM_SERVICE_ERROR"}, response.text


def test_a_2_mb_body_is_refused_with_413_and_nothing_runs(
    gateway: Gateway, auth: dict[str, str]
) -> None:
    body = json.dumps({"query": MUTATION, "variables": {"pad": "x" * 2_000_000}}).encode()
    headers = {**auth, "content-type": "application/json"}
    declared = httpx.post(f"{gateway.url}/graphql", content=body, headers=headers)
    assert only_error(declared, 413)["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    chunked = httpx.post(f"{gateway.url}/graphql", content=chunks(), headers=headers)
    assert "content-length" not in chunked.request.headers
    assert only_error(chunked, 413)["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}


def test_the_body_limit_follows_liaison_max_body_bytes(
    gateways: Gateways, auth: dict[str, str]
) -> None:
    small = gateways.start("small-bodies", {"LIAISON_MAX_BODY_BYTES": "2000"})
    gateways.wait_ready()
    pad = {"pad": "x" * 2000}
    response = httpx.post(
        f"{small.url}/graphql", json={"query": "{ __typename }", "variables": pad}, headers=auth
    )
    assert only_error(response, 413)["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
    assert small.post("{ __typename }", auth["authorization"].split()[1]).status_code == 200


@pytest.mark.parametrize(
    "kind",
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "text/plain",
        "application/graphql",
    ],
)
def test_a_post_that_is_not_json_is_refused_and_nothing_runs(
    gateway: Gateway, auth: dict[str, str], kind: str
) -> None:
    url = f"{gateway.url}/graphql"
    if kind == "application/x-www-form-urlencoded":
        response = httpx.post(url, data={"query": MUTATION}, headers=auth)
    elif kind == "multipart/form-data":
        response = httpx.post(url, files={"query": (None, MUTATION)}, headers=auth)
    else:
        body = MUTATION if kind == "application/graphql" else json.dumps({"query": MUTATION})
        response = httpx.post(url, content=body, headers={**auth, "content-type": kind})
    assert response.request.headers["content-type"].startswith(kind)
    assert only_error(response, 415)["extensions"] == {"code": "UNSUPPORTED_MEDIA_TYPE"}


def test_json_posts_and_get_queries_execute_but_no_get_mutation(
    gateway: Gateway, auth: dict[str, str]
) -> None:
    url = f"{gateway.url}/graphql"
    for content_type in ("application/json; charset=utf-8", "application/graphql-response+json"):
        response = httpx.post(
            url,
            content=json.dumps({"query": "{ __typename }"}),
            headers={**auth, "content-type": content_type},
        )
        assert response.json() == {"data": {"__typename": "Query"}}, (content_type, response.text)
    csrf = {**auth, "x-graphql-csrf": "1"}  # a GET needs it (test_gateway_get.py)
    got = httpx.get(url, params={"query": "{ __typename }"}, headers=csrf)
    assert got.json() == {"data": {"__typename": "Query"}}
    get_mutation = httpx.get(url, params={"query": MUTATION}, headers=csrf)
    assert only_error(get_mutation, 405)["extensions"] == {"code": "BAD_REQUEST"}


def aliased(count: int) -> str:
    return " ".join(f"a{n}: __typename" for n in range(count))


def test_aliases_over_the_limit_are_refused_with_the_code(
    gateway: Gateway, auth: dict[str, str]
) -> None:
    limit = 30  # LIAISON_GATEWAY_MAX_ALIASES' default
    token = auth["authorization"].split()[1]
    assert "errors" not in gateway.post(f"{{ {aliased(limit)} }}", token).json()
    error = only_error(gateway.post(f"{{ {aliased(limit + 1)} }}", token), 200)
    assert error["extensions"]["code"] == "ALIAS_LIMIT_EXCEEDED", error
    # a fragment's aliases count once per use: 2 x 16 > 30
    fragments = f"{{ ...F ...F }} fragment F on Query {{ {aliased(16)} }}"
    error = only_error(gateway.post(fragments, token), 200)
    assert error["extensions"]["code"] == "ALIAS_LIMIT_EXCEEDED", error


def test_the_alias_limit_follows_its_setting(gateways: Gateways, auth: dict[str, str]) -> None:
    few = gateways.start("few-aliases", {"LIAISON_GATEWAY_MAX_ALIASES": "2"})
    gateways.wait_ready()
    token = auth["authorization"].split()[1]
    assert "errors" not in few.post(f"{{ {aliased(2)} }}", token).json()
    error = only_error(few.post(f"{{ {aliased(3)} }}", token), 200)
    assert error["extensions"]["code"] == "ALIAS_LIMIT_EXCEEDED"


def test_no_suggestions_unless_introspection_is_on(
    gateways: Gateways, auth: dict[str, str]
) -> None:
    closed = gateways.start("closed", {})
    open_ = gateways.start("open", {"LIAISON_GRAPHIQL": "1"})
    gateways.wait_ready()
    token = auth["authorization"].split()[1]
    typo = "{ regoins { id } }"  # the field is `regions`
    hidden = only_error(closed.post(typo, token), 200)
    assert hidden["message"] == 'Cannot query field "regoins" on type "Query".', hidden
    assert hidden["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    shown = only_error(open_.post(typo, token), 200)
    assert "Did you mean" in shown["message"], shown


def test_metrics_are_on_their_own_port_only(gateways: Gateways, auth: dict[str, str]) -> None:
    metrics_port = free_port()
    gateway = gateways.start("metrics", {"LIAISON_GATEWAY_METRICS_PORT": str(metrics_port)})
    gateways.wait_ready()
    gateway.post("{ __typename }", auth["authorization"].split()[1])
    assert httpx.get(f"{gateway.url}/metrics").status_code == 404  # not on the public port
    scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")  # no token: scrapers
    assert scraped.status_code == 200
    families = {line.split()[2] for line in scraped.text.splitlines() if line.startswith("# TYPE ")}
    assert "graphql_yoga_http_duration" in families
    assert httpx.get(f"http://127.0.0.1:{metrics_port}/graphql").status_code == 404


# -- secrets --------------------------------------------------------------------------------

PUBLIC_HOST = "0.0.0.0"
"""Beyond loopback: every interface."""


def test_beyond_loopback_the_development_secrets_stop_the_gateway(gateways: Gateways) -> None:
    gateways.start(
        "defaults", {"LIAISON_JWT_SECRET": "", "LIAISON_GATEWAY_SECRET": ""}, PUBLIC_HOST
    )
    with pytest.raises(RuntimeError) as refused:
        gateways.wait_ready()
    message = str(refused.value)
    assert "Liaison refuses to start" in message
    assert "LIAISON_JWT_SECRET" in message
    assert "LIAISON_GATEWAY_SECRET" in message
    assert "LIAISON_DEV=1" in message


def test_one_development_secret_is_enough_to_stop_it(gateways: Gateways) -> None:
    gateways.start(
        "gateway-secret",
        {"LIAISON_JWT_SECRET": "a-real-one", "LIAISON_GATEWAY_SECRET": DEV_GATEWAY_SECRET},
        PUBLIC_HOST,
    )
    with pytest.raises(RuntimeError, match=r"refuses to start: LIAISON_GATEWAY_SECRET is"):
        gateways.wait_ready()


def test_secrets_from_files_are_accepted_beyond_loopback(
    gateways: Gateways, tmp_path: Path
) -> None:
    jwt_file, gateway_file = tmp_path / "jwt-secret", tmp_path / "gateway-secret"
    jwt_file.write_text(
        "jwt-secret-from-a-file-0123456789abcdef\n"
    )  # a trailing newline, as `echo` leaves one
    gateway_file.write_text("gateway-secret-from-a-file\n")
    gateway = gateways.start(
        "files",
        {
            "LIAISON_JWT_SECRET": "",
            "LIAISON_JWT_SECRET_FILE": str(jwt_file),
            "LIAISON_GATEWAY_SECRET": "",
            "LIAISON_GATEWAY_SECRET_FILE": str(gateway_file),
        },
        PUBLIC_HOST,
    )
    gateways.wait_ready()
    token = issue_token(Settings(jwt_secret="jwt-secret-from-a-file-0123456789abcdef"), "zhou-pmo")
    assert gateway.post("{ __typename }", token).json() == {"data": {"__typename": "Query"}}
    dev_token = issue_token(Settings(), "zhou-pmo")
    assert gateway.post("{ __typename }", dev_token).status_code == 401


def test_a_secret_and_its_file_at_once_stop_the_gateway(gateways: Gateways, tmp_path: Path) -> None:
    (tmp_path / "s").write_text("x")
    gateways.start(
        "both", {"LIAISON_GATEWAY_SECRET": "y", "LIAISON_GATEWAY_SECRET_FILE": str(tmp_path / "s")}
    )
    with pytest.raises(
        RuntimeError, match="both LIAISON_GATEWAY_SECRET and LIAISON_GATEWAY_SECRET_FILE"
    ):
        gateways.wait_ready()


def test_liaison_dev_or_a_public_key_lets_it_start(gateways: Gateways) -> None:
    gateways.start("dev", {"LIAISON_DEV": "1"}, PUBLIC_HOST)
    # tokens verified with a public key: the (development) JWT secret is not used
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    gateways.start(
        "public-key",
        {"LIAISON_JWT_PUBLIC_KEY": pem.decode(), "LIAISON_GATEWAY_SECRET": "a-real-one"},
        PUBLIC_HOST,
    )
    gateways.wait_ready()  # both started


# -- the catalogue --------------------------------------------------------------------------


def test_every_code_the_gateway_sets_is_in_the_catalogue() -> None:
    catalogue = {code.value for code in ErrorCode} | set(GATEWAY_ONLY_CODES)
    for name in ("edge.ts", "error-codes.ts"):
        source = (REPO_ROOT / "gateway" / name).read_text()
        codes = set(re.findall(r"'([A-Z][A-Z_]+[A-Z])'", source))
        codes -= {"SUBREQUEST_HTTP_ERROR", "POST", "GET"}  # Hive Gateway's; methods
        assert codes <= catalogue, (name, codes - catalogue)
