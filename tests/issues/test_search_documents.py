"""The issues service's search documents, read from its outbox: a reported issue publishes its
code, title and description, and every move its departments again."""

from __future__ import annotations

from typing import Any

import pytest

from services.issues.search_documents import ISSUES
from shared.search_documents import reindex
from tests.issues.helpers import LI, report, seed_directory
from tests.issues.test_lifecycle import ACK, REASSIGN, SUN, ok
from tests.search_outbox import documents
from tests.support import SubgraphClient


@pytest.fixture
async def issue(issues: SubgraphClient) -> dict[str, Any]:
    await seed_directory(issues)
    return await report(issues, caller=SUN, title="清关延误", description="Units held at customs")


async def test_a_reported_issue_is_published_with_its_code(
    issues: SubgraphClient, issue: dict[str, Any]
) -> None:
    [reported] = await documents(issues, "ISSUE", issue["id"])
    assert reported == {
        "kind": "ISSUE",
        "id": issue["id"],
        "request_id": "cr1",
        "code": issue["code"],
        "title": "清关延误",
        "body": "Units held at customs",
        "departments": ["mkt"],
        "removed": False,
    }


async def test_every_move_publishes_who_holds_it(
    issues: SubgraphClient, issue: dict[str, Any]
) -> None:
    await ok(issues, ACK, LI, issueId=issue["id"], responsibleDepartmentId="rd")
    assert (await documents(issues, "ISSUE", issue["id"]))[-1]["departments"] == ["mkt", "rd"]
    await ok(issues, REASSIGN, LI, issueId=issue["id"], responsibleDepartmentId="ops")
    published = await documents(issues, "ISSUE", issue["id"])
    assert len(published) == 3
    assert published[-1]["departments"] == ["mkt", "ops"]


async def test_reindex_publishes_every_issue(issues: SubgraphClient, issue: dict[str, Any]) -> None:
    await issues.runtime.pool.execute("DELETE FROM outbox")
    assert await reindex(issues.runtime, [ISSUES]) == 1
    assert len(await documents(issues, "ISSUE", issue["id"])) == 1
