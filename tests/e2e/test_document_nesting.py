"""Through the gateway: a document nesting brackets deeper than the parser can recurse is
refused with DEPTH_LIMIT_EXCEEDED before graphql-js parses it (gateway/edge.ts), never
answered as an unexpected error; brackets inside strings and comments do not count."""

from __future__ import annotations

import pytest

from tests.e2e.gateway_client import GatewayClient
from tests.support import Caller

MEMBER = Caller("e2e-nesting-member", departments=("e2e-nesting",))


def codes(body: dict[str, object]) -> list[str]:
    errors = body.get("errors")
    assert isinstance(errors, list)
    return [e["extensions"]["code"] for e in errors]


@pytest.mark.parametrize(
    "document",
    [
        "{ __typename(x: " + "[" * 2300 + "]" * 2300 + ") }",  # overflowed the parser's stack
        "{ __typename(x: " + "[" * 120 + "]" * 120 + ") }",
        "{" + " a {" * 2000 + " b" + " }" * 2001,
    ],
)
async def test_a_document_nesting_too_deep_is_refused_with_its_code(
    gateway: GatewayClient, document: str
) -> None:
    response = await gateway.post(document, caller=MEMBER)
    assert response.status_code == 400
    assert codes(response.json()) == ["DEPTH_LIMIT_EXCEEDED"]


async def test_brackets_in_strings_and_comments_do_not_count(gateway: GatewayClient) -> None:
    brackets = "[" * 150
    document = f'# {brackets}\n{{ __typename(x: "{brackets}") }}'
    response = await gateway.post(document, caller=MEMBER)
    assert codes(response.json()) == ["GRAPHQL_VALIDATION_FAILED"]  # parsed, then validated
