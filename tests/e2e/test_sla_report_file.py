"""Through the gateway: the SLA report downloads as a spreadsheet, with its file name and
headers in the caller's language; no token, no file."""

from __future__ import annotations

import io

import httpx
from openpyxl import load_workbook

from tests.e2e.gateway_client import GatewayClient
from tests.support import Caller

PMO = Caller("e2e-sla-pmo", departments=("e2e-sla-pmo",), roles=("PMO",))


async def test_the_sla_report_downloads_through_the_gateway(gateway: GatewayClient) -> None:
    await gateway.enrol(PMO)
    url = gateway.url.replace("/graphql", "/files/sla-report.xlsx")
    params = {"from": "2026-11-01T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00"}
    headers = {"authorization": f"Bearer {gateway.token(PMO)}", "accept-language": "en"}
    async with httpx.AsyncClient(timeout=10) as http:
        report = await http.get(url, params={**params, "groupBy": "REGION"}, headers=headers)
        anonymous = await http.get(url, params=params)
    assert report.status_code == 200, report.text
    assert (
        'filename="SLA-report-2026-11-01_2026-12-01.xlsx"' in report.headers["content-disposition"]
    )
    sheet = load_workbook(io.BytesIO(report.content)).worksheets[0]
    assert sheet.title == "SLA report"
    assert [c.value for c in next(sheet.iter_rows())][:2] == ["Region", "Issues"]
    assert anonymous.status_code == 401
