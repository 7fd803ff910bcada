"""gateway/gateway.config.ts, run by the real gateway: the settings it shares with the Python
side mean the same there."""

from __future__ import annotations

import json

import httpx
import pydantic
import pytest

from shared.auth import issue_token
from shared.settings import Settings
from tests.gateway.conftest import Gateway, Gateways

INTROSPECTION = "{ __schema { queryType { name } } }"
WORDS = ("", "yes", "TRUE", "0", "off")
"""``LIAISON_GRAPHIQL`` values ("" = unset) the Python settings read as booleans."""


def _graphiql_is_on(gateway: Gateway, token: str) -> bool:
    """Introspection answers and GraphiQL is served; asserts the two agree."""
    introspection = gateway.post(INTROSPECTION, token).json()
    graphiql = httpx.get(f"{gateway.url}/graphql", headers={"accept": "text/html"}).status_code
    introspects = introspection.get("data") is not None
    assert introspects == (graphiql == 200), (introspection, graphiql)
    if not introspects:
        assert "introspection" in str(introspection["errors"]).lower()
    return introspects


def python_reads(word: str) -> bool:
    """What the Python processes make of ``LIAISON_GRAPHIQL=word`` ("" = unset)."""
    return (
        Settings(graphiql=word).graphiql
        if word
        else bool(Settings.model_fields["graphiql"].default)
    )


def test_graphiql_and_introspection_follow_liaison_graphiql_as_python_reads_it(
    gateways: Gateways,
) -> None:
    started = {
        word: gateways.start(f"graphiql-{i}", {"LIAISON_GRAPHIQL": word})
        for i, word in enumerate(WORDS)
    }
    gateways.wait_ready()
    token = issue_token(Settings(), "zhou-pmo")
    for word, gateway in started.items():
        assert _graphiql_is_on(gateway, token) == python_reads(word), word
        # the gateway's own field resolves either way: only introspection is off
        assert gateway.post("{ __typename }", token).json() == {"data": {"__typename": "Query"}}


def test_a_value_python_refuses_stops_the_gateway(gateways: Gateways) -> None:
    with pytest.raises(pydantic.ValidationError):
        Settings(graphiql="maybe")
    gateways.start("graphiql-maybe", {"LIAISON_GRAPHIQL": "maybe"})
    with pytest.raises(RuntimeError, match="LIAISON_GRAPHIQL=maybe is not a boolean"):
        gateways.wait_ready()


def test_logs_are_json_lines_with_service_and_region(gateways: Gateways) -> None:
    gateway = gateways.start(
        "logs", {"LIAISON_REGION": "eu", "LIAISON_LOG_FORMAT": "json", "LOG_JSON": "1"}
    )
    gateways.wait_ready()
    assert gateway.post("{ __typename }", None).status_code == 401  # no token
    entries = [json.loads(line) for line in gateway.log_lines()]  # every line is JSON
    assert all({"level", "msg", "timestamp"} <= set(entry) for entry in entries)
    # from the config on (the CLI's first lines come before it), service and region
    configured = entries[next(i for i, e in enumerate(entries) if "Listening" in e["msg"]) :]
    assert all((e["service"], e["region"]) == ("gateway", "eu") for e in configured), configured
