"""Through the gateway with every process running: a request the edge refuses changes
nothing (gateway/edge.ts; the subgraphs refuse the same, tests/shared/test_http_guard.py)."""

from __future__ import annotations

import json

import httpx

from tests.e2e.gateway_client import GatewayClient
from tests.support import ADMIN

REGION_ID = "edge-zz"
UPSERT = (
    'mutation { upsertRegion(input: {id: "REGION", code: "EZ", name: "Edge", timeZone: "UTC"})'
    " { userErrors { code } } }".replace("REGION", REGION_ID)
)


async def region_ids(gateway: GatewayClient) -> set[str]:
    return {r["id"] for r in (await gateway.execute("{ regions { id } }", caller=ADMIN))["regions"]}


async def test_refused_requests_change_nothing(gateway: GatewayClient) -> None:
    headers = {"authorization": f"Bearer {gateway.token(ADMIN)}"}
    too_large = json.dumps({"query": UPSERT, "variables": {"pad": "x" * 2_000_000}})
    async with httpx.AsyncClient(timeout=30) as http:
        refused = {
            "form": await http.post(gateway.url, data={"query": UPSERT}, headers=headers),
            "multipart": await http.post(
                gateway.url, files={"query": (None, UPSERT)}, headers=headers
            ),
            "text": await http.post(
                gateway.url,
                content=json.dumps({"query": UPSERT}),
                headers={**headers, "content-type": "text/plain"},
            ),
            "get": await http.get(
                gateway.url, params={"query": UPSERT}, headers={**headers, "x-graphql-csrf": "1"}
            ),
            "get without x-graphql-csrf": await http.get(
                gateway.url, params={"query": UPSERT}, headers=headers
            ),
            "2 MB": await http.post(
                gateway.url,
                content=too_large,
                headers={**headers, "content-type": "application/json"},
            ),
        }
    answers = {
        kind: (r.status_code, r.json()["errors"][0]["extensions"]["code"])
        for kind, r in refused.items()
    }
    assert answers == {
        "form": (415, "UNSUPPORTED_MEDIA_TYPE"),
        "multipart": (415, "UNSUPPORTED_MEDIA_TYPE"),
        "text": (415, "UNSUPPORTED_MEDIA_TYPE"),
        "get": (405, "BAD_REQUEST"),
        "get without x-graphql-csrf": (403, "CSRF_HEADER_MISSING"),
        "2 MB": (413, "PAYLOAD_TOO_LARGE"),
    }
    assert REGION_ID not in await region_ids(gateway)


async def test_subgraph_errors_carry_no_suggestions_through_the_gateway(
    gateway: GatewayClient,
) -> None:
    """A variable that does not coerce is refused by the subgraph, which names no enum value
    it would have suggested; the gateway's own validation suggests nothing either."""
    response = await gateway.post(
        "query($f: RequestFilter) { requests(filter: $f) { totalCount } }",
        {"f": {"kind": "PROJEC"}},
        caller=ADMIN,
    )
    messages = [e["message"] for e in response.json()["errors"]]
    assert messages
    assert not any("Did you mean" in m for m in messages), messages
    typo = (await gateway.post("{ regoins { id } }", caller=ADMIN)).json()["errors"]
    assert not any("Did you mean" in e["message"] for e in typo), typo
