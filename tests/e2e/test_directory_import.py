"""Through the gateway: an ADMIN brings departments and people in from a spreadsheet, dry run
first, and the directory answers with them; others may not."""

from __future__ import annotations

import io

import httpx
from openpyxl import Workbook

from tests.e2e.gateway_client import GatewayClient
from tests.support import ADMIN, Caller

MEMBER = Caller("e2e-dir-member", departments=("e2e-imp-ops",))
REGION = """
mutation { upsertRegion(input: {id: "e2e-imp", code: "E2E-IMP", name: "Import",
                                timeZone: "Asia/Shanghai", holidayCountry: "CN"})
  { userErrors { code } } }
"""
PEOPLE = """
query { people(departmentId: "e2e-imp-ops") { edges { node { id name department { id } } } } }
"""


def directory_sheet() -> bytes:
    book = Workbook()
    departments = book.active
    assert departments is not None
    departments.title = "Departments"
    departments.append(["ID", "Code", "Name", "Region", "Parent", "Head"])
    departments.append(["e2e-imp-ops", "E2E-IMP-OPS", "运营部", "e2e-imp", None, "e2e-imp-sun"])
    people = book.create_sheet("People")
    people.append(["ID", "Name", "E-mail", "Department", "Region", "Time zone", "Roles"])
    people.append(["e2e-imp-sun", "孙悦", "sun@e2e.example", "e2e-imp-ops", "e2e-imp",
                   "Asia/Shanghai", "DEPARTMENT_HEAD"])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_an_admin_imports_the_directory_through_the_gateway(gateway: GatewayClient) -> None:
    await gateway.execute(REGION, caller=ADMIN)
    await gateway.enrol(ADMIN)
    url = gateway.url.replace("/graphql", "/files/directory.xlsx")
    admin = {"authorization": f"Bearer {gateway.token(ADMIN)}"}
    async with httpx.AsyncClient(timeout=10) as http:
        dry = await http.post(
            url, params={"dryRun": "true"}, content=directory_sheet(), headers=admin
        )
        assert dry.status_code == 200, dry.text
        assert [(r["id"], r["action"]) for r in dry.json()["rows"]] == [
            ("e2e-imp-ops", "create"),
            ("e2e-imp-sun", "create"),
        ]
        stored = await http.post(url, content=directory_sheet(), headers=admin)
        assert (stored.status_code, stored.json()["stored"]) == (200, True), stored.text
        await gateway.enrol(MEMBER)
        member = {"authorization": f"Bearer {gateway.token(MEMBER)}"}
        refused = await http.post(url, content=directory_sheet(), headers=member)
        assert refused.status_code == 403
    people = await gateway.execute(PEOPLE, caller=ADMIN)
    nodes = {e["node"]["id"]: e["node"] for e in people["people"]["edges"]}
    assert nodes["e2e-imp-sun"] == {
        "id": "e2e-imp-sun",
        "name": "孙悦",
        "department": {"id": "e2e-imp-ops"},
    }
