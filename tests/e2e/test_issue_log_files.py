"""The issue log spreadsheet through the gateway: download, then upload it back as a dry run."""

from __future__ import annotations

import io

import httpx
import pytest
from openpyxl import load_workbook

from tests.e2e.gateway_client import GatewayClient
from tests.e2e.test_issue_flows import REPORT, move, new_request
from tests.e2e.test_walking_skeleton import LI, SUN


@pytest.mark.timeout(120)
async def test_issue_log_downloads_and_uploads_through_the_gateway(gateway: GatewayClient) -> None:
    request_id = await new_request(gateway)
    report = {"requestId": request_id, "title": "Shelf labels misprinted", "severity": "LOW"}
    await move(gateway, REPORT, SUN, **report)
    url = gateway.url.replace("/graphql", "/files/issues.xlsx")
    headers = {"authorization": f"Bearer {gateway.token(LI)}", "accept-language": "en"}
    async with httpx.AsyncClient(timeout=30) as http:
        download = await http.get(url, params={"requestId": request_id}, headers=headers)
        anonymous = await http.get(url)
        upload = await http.post(url, params={"dryRun": "true"}, content=download.content,
                                 headers=headers)  # fmt: skip
    assert download.status_code == 200, download.text
    assert "issue-log.xlsx" in download.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(download.content)).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:3] == ["Code", "Request", "Title"]
    assert [(r[1], r[2]) for r in rows[1:]] == [(request_id, "Shelf labels misprinted")]
    code = rows[1][0]
    assert str(code).startswith("ISS-")
    assert anonymous.status_code == 401
    assert upload.status_code == 200, upload.text
    assert upload.json()["rows"] == [{"row": 2, "code": code, "action": "unchanged", "changes": []}]
