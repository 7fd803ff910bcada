"""What a subgraph refuses before anything runs (shared/http_guard.py): bodies over
``LIAISON_MAX_BODY_BYTES`` and POSTs that are not JSON; and no "Did you mean ...?" in its
errors while introspection is off (shared/graphql/error_contract.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import strawberry

from shared.graphql.schema import build_schema
from shared.settings import Settings
from tests.support import ADMIN, SubgraphClient

REGION_ID = "guard-zz"
UPSERT = (
    'mutation { upsertRegion(input: {id: "REGION", code: "ZZ", name: "Guard",'
    ' timeZone: "UTC"}) { userErrors { code } } }'.replace("REGION", REGION_ID)
)
REGIONS = "{ regions { id } }"
PADDING = {"pad": "x" * 2_000_000}
"""A variable the operation does not declare: ignored, were the body read at all."""


async def region_ids(api: SubgraphClient) -> set[str]:
    return {r["id"] for r in (await api.execute(REGIONS))["regions"]}


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": code}, error


async def test_the_mutation_itself_runs_when_sent_as_json(requests_api: SubgraphClient) -> None:
    """The control: the same mutation, as JSON within the limit, changes the directory."""
    await requests_api.execute(UPSERT)
    assert REGION_ID in await region_ids(requests_api)


async def test_a_body_over_the_limit_is_refused_with_413_and_nothing_runs(
    requests_api: SubgraphClient,
) -> None:
    limit = requests_api.runtime.settings.max_body_bytes
    assert limit == 1_048_576  # the default, 1 MiB
    body = json.dumps({"query": UPSERT, "variables": PADDING}).encode()
    headers = {**await requests_api.headers(ADMIN), "content-type": "application/json"}
    response = await requests_api.http.post("/graphql", content=body, headers=headers)
    assert_refused(response, 413, "PAYLOAD_TOO_LARGE")
    assert REGION_ID not in await region_ids(requests_api)


async def test_a_chunked_body_is_counted_as_it_arrives(requests_api: SubgraphClient) -> None:
    """No Content-Length to trust: the body is cut off at the limit all the same."""
    body = json.dumps({"query": UPSERT, "variables": PADDING}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    headers = {**await requests_api.headers(ADMIN), "content-type": "application/json"}
    response = await requests_api.http.post("/graphql", content=chunks(), headers=headers)
    assert "content-length" not in response.request.headers
    assert_refused(response, 413, "PAYLOAD_TOO_LARGE")
    assert REGION_ID not in await region_ids(requests_api)


@pytest.mark.parametrize(
    "kind", ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]
)
async def test_a_post_that_is_not_json_is_refused_and_changes_nothing(
    requests_api: SubgraphClient, kind: str
) -> None:
    headers = await requests_api.headers(ADMIN)
    if kind == "application/x-www-form-urlencoded":
        response = await requests_api.http.post("/graphql", data={"query": UPSERT}, headers=headers)
    elif kind == "multipart/form-data":
        response = await requests_api.http.post(
            "/graphql", files={"query": (None, UPSERT)}, headers=headers
        )
    else:
        response = await requests_api.http.post(
            "/graphql",
            content=json.dumps({"query": UPSERT}),
            headers={**headers, "content-type": "text/plain"},
        )
    assert response.request.headers["content-type"].startswith(kind)
    assert_refused(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert REGION_ID not in await region_ids(requests_api)


async def test_json_with_parameters_and_graphql_response_json_execute(
    requests_api: SubgraphClient,
) -> None:
    for content_type in ("application/json; charset=utf-8", "application/graphql-response+json"):
        response = await requests_api.http.post(
            "/graphql",
            content=json.dumps({"query": REGIONS}),
            headers={**await requests_api.headers(ADMIN), "content-type": content_type},
        )
        assert response.status_code == 200, (content_type, response.text)
        assert "errors" not in response.json()


@strawberry.type
class _Query:
    @strawberry.field
    def region(self) -> str:
        return "hq"


async def _errors(settings: Settings, query: str, variables: dict[str, object]) -> list[str]:
    from strawberry.asgi import GraphQL

    schema = build_schema(settings, _Query)
    transport = httpx.ASGITransport(app=GraphQL(schema))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables})
    return [e["message"] for e in response.json()["errors"]]


async def test_no_suggestions_while_introspection_is_off() -> None:
    query = "{ regoin }"
    hidden = await _errors(Settings(graphiql=False), query, {})
    shown = await _errors(Settings(graphiql=True), query, {})
    assert hidden == ["Cannot query field 'regoin' on type 'Query'."], hidden
    assert any("Did you mean 'region'?" in m for m in shown), shown


async def test_no_suggestions_in_variable_errors_either(requests_api: SubgraphClient) -> None:
    """Coercing a variable (after validation) suggests enum values: those go too."""
    body = (
        await requests_api.post(
            "query($f: RequestFilter) { requests(filter: $f) { totalCount } }",
            {"f": {"kind": "PROJEC"}},
        )
    ).json()
    messages = [e["message"] for e in body["errors"]]
    assert messages
    assert not any("Did you mean" in m for m in messages), messages
