"""The RACI matrix as .xlsx through the gateway: downloaded by a member in English, read
back with openpyxl, imported again (dry run, then real: nothing changes), and refused to an
outsider and to an anonymous caller."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_walking_skeleton import (
    CREATE_TASK,
    LI,
    create_request,
    retry_while_unknown,
    task_input,
)
from tests.support import Caller

OUTSIDER = Caller("e2e-sheet-outsider", departments=("e2e-sheet-legal",))
"""Of a department that takes part in no request here."""


def matrix(body: bytes) -> list[list[Any]]:
    book = load_workbook(io.BytesIO(body))
    return [list(r) for r in book["RACI matrix"].iter_rows(values_only=True)]


@pytest.mark.timeout(120)
async def test_raci_sheet_out_and_back_in_through_the_gateway(gateway: GatewayClient) -> None:
    request = await create_request(gateway)
    variables = {"input": task_input(request["id"], "Product promotion materials")}
    task = (await retry_while_unknown(gateway, CREATE_TASK, variables, LI, "createTask"))["task"]
    url = gateway.url.replace("/graphql", f"/files/requests/{request['id']}/raci.xlsx")
    await gateway.enrol(OUTSIDER)
    member = {"authorization": f"Bearer {gateway.token(LI)}", "accept-language": "en"}
    async with httpx.AsyncClient(timeout=10) as http:
        exported = await http.get(url, headers=member)
        assert exported.status_code == 200, exported.text
        assert f"RACI-matrix-{request['code']}.xlsx" in exported.headers["content-disposition"]
        parties = ["Marketing [department:mkt]", "Sun Yu [person:sun]", "Wang Lei [person:wang]"]
        assert matrix(exported.content) == [
            ["Task ID", "Task", *parties],
            [task["id"], "Product promotion materials", "I", "R", "A"],
        ]
        dry = await http.post(url, content=exported.content, headers=member)
        real = await http.post(
            url, params={"dryRun": "false"}, content=exported.content, headers=member
        )
        outsider = {"authorization": f"Bearer {gateway.token(OUTSIDER)}"}
        hidden = await http.get(url, headers=outsider)
        anonymous = await http.get(url)
        again = await http.get(url, headers=member)
    assert dry.status_code == 200
    assert [(r["row"], r["action"]) for r in dry.json()["rows"]] == [(2, "unchanged")]
    assert real.status_code == 200
    assert real.json() == {**dry.json(), "dryRun": False, "stored": False}
    assert hidden.status_code == 404
    assert anonymous.status_code == 401
    assert matrix(again.content) == matrix(exported.content)
