"""Query cost analysis at the gateway (gateway/cost.ts): an operation estimated over
``LIAISON_GATEWAY_MAX_COST`` is refused with COST_LIMIT_EXCEEDED before anything runs.

No subgraph runs behind these gateways: an operation that got as far as executing reaches for
one and answers DOWNSTREAM_SERVICE_ERROR, so an answer with COST_LIMIT_EXCEEDED alone shows
that nothing ran.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import graphql
import pytest

from shared.auth import issue_token
from shared.graphql.error_codes import GATEWAY_ONLY_CODES
from shared.settings import REPO_ROOT, Settings
from tests.gateway.conftest import Gateway, Gateways

DEFAULT_MAX_COST = 200_000
"""LIAISON_GATEWAY_MAX_COST's default (gateway/gateway.config.ts)."""

TASKS_OF_REQUESTS = (
    "requests(first: 100) { edges { node { tasks(first: 100) { edges { node { id } } } } } }"
)
ATTACK = "{ " + " ".join(f"a{n}: {TASKS_OF_REQUESTS}" for n in range(30)) + " }"
"""30 aliases (the alias limit allows them) of 100 requests with up to 100 tasks each."""


@pytest.fixture
def token() -> str:
    return issue_token(Settings(), "zhou-pmo", ttl=timedelta(minutes=10))


Variables = Mapping[str, object] | None


def codes(gateway: Gateway, query: str, token: str, variables: Variables = None) -> list[str]:
    """The codes of the answer's errors (a missing variable is refused with 400, after the
    estimate)."""
    response = gateway.post(query, token, variables)
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


def only_cost_error(
    gateway: Gateway, query: str, token: str, variables: Variables = None
) -> dict[str, Any]:
    response = gateway.post(query, token, variables)
    assert response.status_code == 200, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "COST_LIMIT_EXCEEDED", error
    return dict(error)


def test_the_attack_is_refused_with_its_cost_and_nothing_runs(
    gateways: Gateways, token: str
) -> None:
    gateway = gateways.start("gateway", {})
    gateways.wait_ready()
    error = only_cost_error(gateway, ATTACK, token)
    # 30 x (requests 1 + 100 x (edges 1 + node 1 + tasks 1 + 100 x (edges, node, id 1 each)))
    assert error["extensions"]["cost"] == 30 * (1 + 100 * (3 + 100 * 3))
    assert error["extensions"]["maxCost"] == DEFAULT_MAX_COST
    assert "909030" in error["message"], error
    assert str(DEFAULT_MAX_COST) in error["message"], error
    assert "http" not in error["extensions"]
    # one of them alone is within the limit: it executes (and finds no subgraph)
    assert codes(gateway, f"{{ {TASKS_OF_REQUESTS} }}", token) == ["DOWNSTREAM_SERVICE_ERROR"]


ESTIMATES: list[tuple[str, Variables, int]] = [
    ("{ __typename }", None, 1),
    ("{ regions { id timeZone } }", None, 1 + 100 * 2),  # a list without `first`: max page
    ("{ requests { edges { node { id } } } }", None, 1 + 20 * 3),  # `first`'s default, 20
    ("{ requests(first: 7) { totalCount edges { cursor } } }", None, 1 + 7 * 3),
    ("{ requests(first: 500) { edges { cursor } } }", None, 1 + 100 * 2),  # capped: max page
    ("query($n: Int!) { requests(first: $n) { edges { cursor } } }", {"n": 3}, 1 + 3 * 2),
    ("query($n: Int! = 4) { requests(first: $n) { edges { cursor } } }", None, 1 + 4 * 2),
    # a variable that does not coerce is refused when it runs; the estimate takes the default
    ("query($n: Int!) { requests(first: $n) { edges { cursor } } }", {"n": "x"}, 1 + 20 * 2),
    ("{ a: regions { id } b: regions { id } }", None, 2 * 101),  # aliases count
    (
        "{ ...R ...R } fragment R on Query { requests(first: 2) { edges { ...E } } }"
        " fragment E on CollabRequestEdge { cursor node { id } }",
        None,
        2 * (1 + 2 * (1 + 3)),  # fragments count once per spread
    ),
    (
        "{ requests(first: 2) { edges { node { id"
        " tasks(first: 3) { edges { node { id raci { role } } } } } } } }",
        None,
        # a plain list in a page of a page: raci counts the max page
        1 + 2 * (1 + 1 + 1 + (1 + 3 * (1 + 1 + 1 + (1 + 100 * 1)))),
    ),
    ("subscription { events { id type } }", None, 3),
]


def test_the_estimate_counts_fields_pages_aliases_and_fragments(
    gateways: Gateways, token: str
) -> None:
    """With a maximum of 0 every operation is refused, and its error says what it cost."""
    gateway = gateways.start("priced", {"LIAISON_GATEWAY_MAX_COST": "0"})
    gateways.wait_ready()
    for query, variables, cost in ESTIMATES:
        error = only_cost_error(gateway, query, token, variables)
        assert error["extensions"]["cost"] == cost, (query, error)


def test_the_maximum_and_the_page_size_follow_their_settings(
    gateways: Gateways, token: str
) -> None:
    gateway = gateways.start(
        "small", {"LIAISON_GATEWAY_MAX_COST": "100", "LIAISON_GRAPHQL_MAX_PAGE": "10"}
    )
    gateways.wait_ready()
    regions = "regions { id code name timeZone __typename }"  # a list: 1 + 10 items x 5
    assert codes(gateway, f"{{ {regions} }}", token) == ["DOWNSTREAM_SERVICE_ERROR"]
    error = only_cost_error(gateway, f"{{ {regions} again: {regions} }}", token)
    assert (error["extensions"]["cost"], error["extensions"]["maxCost"]) == (102, 100)
    # `first` counts at most the page size too (a larger one the subgraph refuses anyway):
    # 1 + 10 x 7, where 99 would make it 1 + 99 x 7
    page = "requests(first: 99) { edges { node { id code title status kind } } }"
    assert codes(gateway, f"{{ {page} }}", token) == ["DOWNSTREAM_SERVICE_ERROR"]


# -- the front ends' own operations pass ------------------------------------------------------

FRONT_END_SOURCES = [
    *sorted((REPO_ROOT / "tests" / "e2e").glob("*.py")),
    REPO_ROOT / "devstack" / "demo_gateway.py",
    REPO_ROOT / ".ci" / "smoke.py",
]
"""Where the operations of real clients are: the end-to-end tests, the demo, the CI smoke."""


def operations_in(path: Path) -> list[str]:
    """Every string literal of ``path`` that is a GraphQL operation."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if not re.match(r"\s*(query|mutation|subscription|\{)", node.value):
            continue
        try:
            graphql.parse(node.value)
        except graphql.GraphQLError:
            continue
        found.append(node.value)
    return found


def test_no_operation_of_the_front_ends_is_refused(gateways: Gateways, token: str) -> None:
    """Sent without variables: the lists they page through count as the schema defaults."""
    gateway = gateways.start("gateway", {})
    gateways.wait_ready()
    operations = {query for path in FRONT_END_SOURCES for query in operations_in(path)}
    assert len(operations) > 50  # the sources were read
    # the text, not the JSON: a subscription is answered as a stream of server-sent events
    refused = [query for query in operations if "COST_LIMIT" in gateway.post(query, token).text]
    assert refused == []


def test_the_code_is_in_the_catalogue() -> None:
    source = (REPO_ROOT / "gateway" / "cost.ts").read_text()
    assert set(re.findall(r"code: '([A-Z_]+)'", source)) == {"COST_LIMIT_EXCEEDED"}
    assert "COST_LIMIT_EXCEEDED" in GATEWAY_ONLY_CODES
