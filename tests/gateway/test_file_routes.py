"""Files pass through the gateway to the subgraph that owns them (gateway/files.ts); what a
route does not allow is refused at the gateway. Downloads and uploads themselves are tested
end to end with their subgraphs (tests/e2e)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.gateway.conftest import Gateway, Gateways


@pytest.fixture(scope="module")
def gateway(gateway_packages: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    started = Gateways(tmp_path_factory.mktemp("files-gateway"))
    try:
        served = started.start("gateway", {})
        started.wait_ready()
        yield served
    finally:
        started.group.stop()


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
