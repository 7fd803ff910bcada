"""The first ADMIN of a new installation comes from the command line, then runs the directory."""

from __future__ import annotations

from services.requests.directory.bootstrap import _arguments, bootstrap
from shared.auth import issue_token
from tests.support import SubgraphClient

ARGS = [
    "--id", "ops-admin", "--name", "Ops Admin", "--email", "ops@example.com",
    "--department", "it", "--department-name", "IT", "--region", "hq", "--region-name", "HQ",
]  # fmt: skip


async def test_the_first_admin_can_sign_in_and_maintain_the_directory(
    requests_api: SubgraphClient,
) -> None:
    token = issue_token(requests_api.runtime.settings, "ops-admin")
    headers = {**(await requests_api.headers(None)), "authorization": f"Bearer {token}"}
    query = {"query": "{ me { id roles department { name } region { name } } }"}
    before = await requests_api.http.post("/graphql", json=query, headers=headers)
    assert before.status_code == 401  # not in the directory yet

    await bootstrap(requests_api.runtime, _arguments(ARGS))
    await bootstrap(requests_api.runtime, _arguments(ARGS))  # running it twice is harmless

    me = (await requests_api.http.post("/graphql", json=query, headers=headers)).json()
    assert me == {
        "data": {
            "me": {"id": "ops-admin", "roles": ["ADMIN"], "department": {"name": "IT"},
                   "region": {"name": "HQ"}}
        }
    }  # fmt: skip
    upsert = """mutation { upsertDepartment(input: {id: "hr", code: "HR", name: "HR",
      regionId: "hq"}) { userErrors { code } } }"""
    body = await requests_api.http.post("/graphql", json={"query": upsert}, headers=headers)
    assert body.json() == {"data": {"upsertDepartment": {"userErrors": []}}}
    async with requests_api.runtime.pool.acquire() as conn:
        events = await conn.fetch("SELECT event_type FROM outbox ORDER BY seq")
    assert [e["event_type"] for e in events][:3] == [
        "requests.region.upserted",
        "requests.department.upserted",
        "requests.person.upserted",
    ]
