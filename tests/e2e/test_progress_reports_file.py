"""Through the gateway: a period's progress reports (template 3) download as a workbook for a
member of the request, in English on request, and for nobody else."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_walking_skeleton import LI, create_request
from tests.support import Caller

OUTSIDER = Caller("e2e-reports-outsider", departments=("e2e-reports-legal",))
PERIOD = {"start": "2027-03-01", "end": "2027-03-07"}


def sheets(body: bytes) -> dict[str, list[list[Any]]]:
    book = load_workbook(io.BytesIO(body))
    return {s.title: [list(r) for r in s.iter_rows(values_only=True)] for s in book.worksheets}


@pytest.mark.timeout(120)
async def test_a_periods_reports_download_through_the_gateway(gateway: GatewayClient) -> None:
    request = await create_request(gateway)
    url = gateway.url.replace("/graphql", f"/files/requests/{request['id']}/progress-reports.xlsx")
    await gateway.enrol(OUTSIDER)
    member = {"authorization": f"Bearer {gateway.token(LI)}", "accept-language": "en"}
    async with httpx.AsyncClient(timeout=10) as http:
        deadline = time.monotonic() + 30
        while (answer := await http.get(url, params=PERIOD, headers=member)).status_code == 404:
            # the tasks service learns of the new request from its event
            assert time.monotonic() < deadline, "the request never reached the tasks service"
            await asyncio.sleep(0.1)
        hidden = await http.get(
            url, params=PERIOD, headers={"authorization": f"Bearer {gateway.token(OUTSIDER)}"}
        )
        anonymous = await http.get(url, params=PERIOD)
    assert answer.status_code == 200, answer.text
    assert "progress-reports-" in answer.headers["content-disposition"]
    found = sheets(answer.content)
    assert list(found) == ["Progress", "Problems", "Resources", "Not submitted"]
    assert found["Progress"] == [
        ["Department", "Task", "Planned (%)", "Actual (%)", "Status", "Delayed", "Delay reason",
         "Submitted by", "Submitted at (UTC)"]
    ]  # fmt: skip
    assert len(found["Not submitted"]) == 2  # the header and R&D, the executing department
    assert (hidden.status_code, anonymous.status_code) == (404, 401)
