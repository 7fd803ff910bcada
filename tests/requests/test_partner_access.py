"""Partner tokens reach only the partner event APIs (notify), never the company directory."""

from __future__ import annotations

import pytest

from tests.support import Caller, SubgraphClient, nodes

PARTNER = Caller("acme", roles=("PARTNER",), scopes=("requests.*",))
MEMBER = Caller("li", departments=("mkt",))


@pytest.mark.parametrize(
    "query",
    [
        "{ me { id } }",
        "{ regions { id } }",
        "{ departments { id } }",
        "{ people { edges { node { id email } } } }",
        '{ suggestMeetingSlots(attendeeIds: ["li"], durationMinutes: 30,'
        ' from: "2026-12-01T00:00:00Z", to: "2026-12-02T00:00:00Z") { reason } }',
    ],
)
async def test_partner_cannot_read_the_directory(requests_api: SubgraphClient, query: str) -> None:
    body = (await requests_api.post(query, caller=PARTNER)).json()
    assert not any((body["data"] or {}).values())  # null, or each field nulled
    assert body["errors"][0]["message"] == "partner tokens may only use the partner event APIs"


async def test_members_still_read_the_directory(requests_api: SubgraphClient) -> None:
    data = await requests_api.execute(
        "{ regions { id } people { edges { node { id } } } }", caller=MEMBER
    )
    assert (data["regions"], nodes(data["people"])) == ([{"id": "tests"}], [{"id": "li"}])
