"""The gateway's own refusals carry codes from the catalogue (docs/errors.md), and a
subgraph that is down is the one case of DOWNSTREAM_SERVICE_ERROR."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth import issue_token
from shared.settings import Settings
from tests.gateway.conftest import Gateway, Gateways


@pytest.fixture
def gateway(gateways: Gateways) -> Gateway:
    started = gateways.start("gateway", {})
    gateways.wait_ready()
    return started


def _errors(gateway: Gateway, query: str, token: str | None) -> list[dict[str, Any]]:
    response = gateway.post(query, token)
    assert response.status_code in (200, 400, 401), response.text  # a refusal is no 5xx
    errors: list[dict[str, Any]] = response.json()["errors"]
    assert all("http" not in e.get("extensions", {}) for e in errors), errors
    return errors


def test_gateway_refusals_have_codes(gateway: Gateway) -> None:
    token = issue_token(Settings(), "zhou-pmo")
    depth = "{ regions { " + "calendar { " * 20 + "timeZone" + " }" * 20 + " } }"
    tokens = "{ " + " ".join("__typename" for _ in range(6000)) + " }"
    cases = [
        ("{ __typename }", None, "UNAUTHENTICATED"),
        ("{ __typename }", "not.a.token", "UNAUTHENTICATED"),
        ("{ __typename ", token, "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", token, "GRAPHQL_VALIDATION_FAILED"),
        (depth, token, "DEPTH_LIMIT_EXCEEDED"),
        (tokens, token, "TOKEN_LIMIT_EXCEEDED"),
    ]
    for query, sent_token, code in cases:
        [error] = _errors(gateway, query, sent_token)
        assert error["extensions"]["code"] == code, (query[:40], error)
        assert not error["message"].startswith("Syntax Error: Query depth"), error


def test_a_subgraph_that_is_down_is_a_downstream_service_error(gateway: Gateway) -> None:
    token = issue_token(Settings(), "zhou-pmo")
    [error] = _errors(gateway, "{ regions { id } }", token)
    assert error["extensions"]["code"] == "DOWNSTREAM_SERVICE_ERROR", error
