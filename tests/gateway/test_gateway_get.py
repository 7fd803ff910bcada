"""GraphQL over HTTP GET at the gateway, and CSRF prevention (csrfPrevention in
gateway/gateway.config.ts): a request that is not a JSON POST runs only with an
`x-graphql-csrf` header, which a cross-site page cannot add without a CORS preflight.

No subgraph runs behind these gateways: an operation that got as far as executing reaches for
one and answers DOWNSTREAM_SERVICE_ERROR, so a refusal with its own code shows that nothing
ran.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.auth import issue_token
from shared.graphql.error_codes import GATEWAY_ONLY_CODES
from shared.settings import REPO_ROOT, Settings
from tests.gateway.conftest import Gateway, Gateways

RUNS = "{ regions { id } }"
"""Would go to the requests subgraph, which is not there."""
MUTATION = (
    'mutation { cancelRequest(input: {requestId: "r1", comment: "no"}) { userErrors { code } } }'
)
CSRF = {"x-graphql-csrf": "1"}


@pytest.fixture
def gateway(gateways: Gateways) -> Gateway:
    started = gateways.start("gateway", {})
    gateways.wait_ready()
    return started


@pytest.fixture
def auth() -> dict[str, str]:
    token = issue_token(Settings(), "zhou-pmo", ttl=timedelta(minutes=10))
    return {"authorization": f"Bearer {token}"}


def get(gateway: Gateway, query: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{gateway.url}/graphql", params={"query": query}, headers=headers)


def only_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    [error] = response.json()["errors"]
    assert "http" not in error.get("extensions", {}), error
    return dict(error)


def test_a_get_query_with_the_header_runs(gateway: Gateway, auth: dict[str, str]) -> None:
    answered = get(gateway, "{ __typename }", {**auth, **CSRF})
    assert answered.json() == {"data": {"__typename": "Query"}}, answered.text
    ran = only_error(get(gateway, RUNS, {**auth, **CSRF}), 200)
    assert ran["extensions"]["code"] == "DOWNSTREAM_SERVICE_ERROR"
    # a Content-Type a cross-site page cannot send without a preflight does as well
    typed = get(gateway, "{ __typename }", {**auth, "content-type": "application/json"})
    assert typed.json() == {"data": {"__typename": "Query"}}, typed.text


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_get_without_the_header_is_refused_and_nothing_runs(
    gateway: Gateway, auth: dict[str, str], content_type: str | None
) -> None:
    headers = {**auth, **({"content-type": content_type} if content_type else {})}
    error = only_error(get(gateway, RUNS, headers), 403)
    assert error["extensions"] == {"code": "CSRF_HEADER_MISSING"}, error


def test_no_mutation_over_get_even_with_the_header(gateway: Gateway, auth: dict[str, str]) -> None:
    error = only_error(get(gateway, MUTATION, {**auth, **CSRF}), 405)
    assert error["extensions"] == {"code": "BAD_REQUEST"}, error


def test_json_posts_need_no_header(gateway: Gateway, auth: dict[str, str]) -> None:
    response = httpx.post(f"{gateway.url}/graphql", json={"query": RUNS}, headers=auth)
    assert only_error(response, 200)["extensions"]["code"] == "DOWNSTREAM_SERVICE_ERROR"


def test_the_code_is_in_the_catalogue() -> None:
    source = (REPO_ROOT / "gateway" / "error-codes.ts").read_text()
    assert "'CSRF_HEADER_MISSING'" in source
    assert "CSRF_HEADER_MISSING" in GATEWAY_ONLY_CODES
