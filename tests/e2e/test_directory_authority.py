"""The directory, not the token, decides who may do what: through the gateway, on every service.

A token names its caller (``sub``) and nothing more that Liaison believes: roles and
departments claimed in it are ignored, a ``sub`` the directory does not know is refused, and a
change made by an administrator (a promotion, a person leaving, a partner client disabled)
reaches every service within seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from shared.settings import Settings
from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_walking_skeleton import create_request
from tests.support import ADMIN, Caller

HR = Caller("da-hr", departments=("da-hr",))
"""A member of a department that takes part in nothing."""
PARTNER = Caller("da-partner", roles=("PARTNER",), scopes=("requests.request.*",))
EVERY_SERVICE = {
    "requests": "{ me { id } }",
    "tasks": '{ task(id: "none") { id } }',
    "issues": "{ issues(first: 1) { totalCount } }",
    "notify": "{ unreadCount }",
}
"""One root field of each subgraph, so a refusal is seen on each of them."""
CHANGE_SECONDS = 15.0
"""How long a directory change may take to reach every service (cache plus copy lag)."""

UPSERT_PERSON = """
mutation($input: UpsertPersonInput!) {
  upsertPerson(input: $input) { person { id roles active } userErrors { code message } }
}
"""
UPSERT_PARTNER = """
mutation($input: UpsertPartnerClientInput!) {
  upsertPartnerClient(input: $input) { partnerClient { id enabled } userErrors { code message } }
}
"""
REQUESTS = "{ requests(first: 50) { edges { node { id } } } }"


def forged(settings: Settings, sub: str, **claims: Any) -> str:
    """A correctly signed token that also claims what the directory did not give."""
    now = datetime.now(UTC)
    payload = {"sub": sub, "iss": settings.jwt_issuer, "aud": settings.jwt_audience, "iat": now}
    payload |= {"exp": now + timedelta(minutes=5), **claims}
    return jwt.encode(payload, settings.jwt_secret, algorithm="HS256")


async def post_as(gateway: GatewayClient, token: str, query: str) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(gateway.url, json={"query": query}, headers=headers)
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> set[str]:
    return {e.get("extensions", {}).get("code") for e in body.get("errors", [])}


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + CHANGE_SECONDS
    while not await check():
        assert time.monotonic() < deadline, f"not within {CHANGE_SECONDS} s: {what}"
        await asyncio.sleep(0.2)


async def visible_requests(gateway: GatewayClient, caller: Caller) -> set[str]:
    data = await gateway.execute(REQUESTS, caller=caller)
    return {edge["node"]["id"] for edge in data["requests"]["edges"]}


async def test_claimed_roles_and_departments_are_ignored(gateway: GatewayClient) -> None:
    request = await create_request(gateway)
    await gateway.enrol(HR)
    settings = gateway.settings
    claims_pmo = forged(settings, HR.sub, roles=["PMO"], departments=["mkt"])
    body = await post_as(gateway, claims_pmo, REQUESTS)
    assert "errors" not in body, body
    assert request["id"] not in {e["node"]["id"] for e in body["data"]["requests"]["edges"]}
    by_id = await post_as(gateway, claims_pmo, f'{{ request(id: "{request["id"]}") {{ id }} }}')
    assert by_id["data"] == {"request": None}
    me = await post_as(gateway, claims_pmo, "{ me { roles department { id } } }")
    assert me["data"]["me"] == {"roles": ["MEMBER"], "department": {"id": "da-hr"}}


async def test_a_sub_the_directory_does_not_know_is_refused_everywhere(
    gateway: GatewayClient,
) -> None:
    token = forged(gateway.settings, "da-nobody", roles=["PMO"])
    for service, query in EVERY_SERVICE.items():
        body = await post_as(gateway, token, query)
        assert codes(body) == {"UNAUTHENTICATED"}, (service, body)
        assert "not in Liaison's directory" in body["errors"][0]["message"], (service, body)


async def test_a_promotion_and_a_departure_reach_every_service_within_seconds(
    gateway: GatewayClient,
) -> None:
    request = await create_request(gateway)
    mover = Caller("da-mover", departments=("da-hr",))
    await gateway.enrol(mover)
    assert request["id"] not in await visible_requests(gateway, mover)
    person = {
        "id": mover.sub,
        "name": "Mover",
        "email": "mover@da.example",
        "departmentId": "da-hr",
        "regionId": "tests",
        "timeZone": "Asia/Shanghai",
    }
    promoted = await gateway.execute(
        UPSERT_PERSON, {"input": {**person, "roles": ["PMO"]}}, caller=ADMIN
    )
    assert promoted["upsertPerson"]["userErrors"] == []

    async def sees_the_request() -> bool:
        return request["id"] in await visible_requests(gateway, mover)

    await eventually(sees_the_request, "the promotion to PMO in the requests service")

    left = await gateway.execute(
        UPSERT_PERSON, {"input": {**person, "roles": ["PMO"], "active": False}}, caller=ADMIN
    )
    assert left["upsertPerson"]["person"]["active"] is False
    token = gateway.token(mover)
    for service, query in EVERY_SERVICE.items():

        async def refused(query: str = query) -> bool:
            return codes(await post_as(gateway, token, query)) == {"UNAUTHENTICATED"}

        await eventually(refused, f"the departure reaching {service}")


async def test_a_partner_client_is_never_a_person_and_can_be_disabled(
    gateway: GatewayClient,
) -> None:
    await gateway.enrol(PARTNER)
    as_member = forged(gateway.settings, PARTNER.sub, roles=["PARTNER", "MEMBER"])
    body = await post_as(gateway, as_member, "{ me { id } }")
    assert codes(body) == {"FORBIDDEN"}, body
    events = await post_as(gateway, as_member, "{ events(first: 1) { edges { node { id } } } }")
    assert "errors" not in events, events

    client = {"id": PARTNER.sub, "name": "Partner", "ownerId": "partner-owner", "scopes": ["*"]}
    disabled = await gateway.execute(
        UPSERT_PARTNER, {"input": {**client, "enabled": False}}, caller=ADMIN
    )
    assert disabled["upsertPartnerClient"]["partnerClient"] == {
        "id": PARTNER.sub,
        "enabled": False,
    }

    async def refused() -> bool:
        body = await post_as(gateway, as_member, "{ events(first: 1) { edges { node { id } } } }")
        return codes(body) == {"UNAUTHENTICATED"}

    await eventually(refused, "the disabled partner client reaching notify")


async def test_a_partner_client_id_may_not_be_a_persons(gateway: GatewayClient) -> None:
    await gateway.enrol(HR)
    client = {"id": HR.sub, "name": "Spoof", "ownerId": HR.sub, "scopes": ["*"]}
    payload = (await gateway.execute(UPSERT_PARTNER, {"input": client}, caller=ADMIN))[
        "upsertPartnerClient"
    ]
    assert payload["partnerClient"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["ID_TAKEN"]
