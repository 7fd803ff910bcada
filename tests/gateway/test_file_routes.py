"""Files pass through the gateway to the subgraph that owns them (gateway/files.ts); what a
route does not allow is refused at the gateway. Downloads and uploads themselves are tested
end to end with their subgraphs (tests/e2e)."""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.conftest import Gateway


@pytest.fixture(scope="module")
def gateway(plain_gateway: Gateway) -> Gateway:
    return plain_gateway


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/meetings/m1/invite.ics", "GET"),
        ("DELETE", "/files/requests/r1/raci.xlsx", "GET, POST"),
        ("PUT", "/files/issues.csv", "GET, POST"),
    ],
)
def test_a_method_a_file_route_does_not_take_is_refused_there(
    gateway: Gateway, method: str, path: str, allowed: str
) -> None:
    response = httpx.request(method, f"{gateway.url}{path}")
    assert response.status_code == 405
    assert response.headers["allow"] == allowed


def test_an_upload_declared_over_the_file_limit_is_refused_at_the_gateway(
    gateway: Gateway,
) -> None:
    """A spreadsheet upload may be larger than a GraphQL body (1 MiB), up to 10 MB."""
    body = b"\0" * (10 * 2**20 + 1)
    response = httpx.post(f"{gateway.url}/files/issues.xlsx", content=body)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
