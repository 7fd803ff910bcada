"""The error contract as a front end meets it through the gateway: subgraph codes arrive
unchanged, bad text is a userError that stores nothing, limits have their own codes."""

from __future__ import annotations

from typing import Any

from tests.e2e.gateway_client import GatewayClient
from tests.support import Caller

PMO = Caller("e2e-err-pmo", roles=("PMO",))

CREATE = """
mutation($input: CreateRequestInput!) {
  createRequest(input: $input) { request { id } userErrors { field code message } }
}
"""


async def _errors(
    gateway: GatewayClient, query: str, variables: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    response = await gateway.post(query, variables, caller=PMO)
    assert response.status_code < 500, response.text
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors


async def test_bad_text_in_a_mutation_is_a_user_error_through_the_gateway(
    gateway: GatewayClient,
) -> None:
    before = await gateway.execute("{ requests(first: 1) { totalCount } }", caller=PMO)
    variables = {
        "input": {
            "kind": "PROJECT",
            "title": "null\x00byte",
            "leadDepartmentId": "mkt",
            "participantDepartmentIds": ["rd"],
            "goals": [],
        }
    }
    data = await gateway.execute(CREATE, variables, caller=PMO)
    payload = data["createRequest"]
    assert payload["request"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("title", "INVALID_TEXT")]
    after = await gateway.execute("{ requests(first: 1) { totalCount } }", caller=PMO)
    assert after == before


async def test_subgraph_codes_reach_the_client_unchanged(gateway: GatewayClient) -> None:
    cases = [
        ('{ request(id: "r\\u0000") { id } }', None, "BAD_USER_INPUT"),
        ("{ requests(first: 1000) { edges { cursor } } }", None, "PAGE_SIZE_EXCEEDED"),
        (
            "query($d: DateTime!) { slaReport(from: $d, to: $d, groupBy: DEPARTMENT)"
            " { __typename } }",
            {"d": "yesterday"},
            "BAD_USER_INPUT",
        ),
    ]
    for query, variables, code in cases:
        [error] = await _errors(gateway, query, variables)
        assert error["extensions"]["code"] == code, (query, error)
        assert "invalid literal" not in error["message"], error


async def test_limits_have_their_codes_at_the_gateway(gateway: GatewayClient) -> None:
    nested = "{ departments { " + "parent { " * 20 + "id" + " }" * 20 + " } }"
    [error] = await _errors(gateway, nested)
    assert error["extensions"]["code"] == "DEPTH_LIMIT_EXCEEDED", error
