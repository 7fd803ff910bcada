"""The tasks service's search documents, read from its outbox: every task it creates or
changes (by hand, from an action item) publishes the task's whole document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.tasks.search_documents import TASKS
from shared.events.contracts.requests import ActionItemCreated
from shared.events.envelope import new_event
from shared.search_documents import reindex
from tests.search_outbox import documents
from tests.support import SubgraphClient
from tests.tasks.helpers import create_task, deliver_envelope, seeded, update


@pytest.fixture
async def api(tasks_api: SubgraphClient) -> SubgraphClient:
    return await seeded(tasks_api)


async def test_a_task_is_published_on_creation_and_on_every_change(api: SubgraphClient) -> None:
    task = await create_task(api, title="准备发布物料", description="Posters for East China")
    [created] = await documents(api, "TASK", task["id"])
    assert created == {
        "kind": "TASK",
        "id": task["id"],
        "request_id": "req-1",
        "code": None,
        "title": "准备发布物料",
        "body": "Posters for East China",
        "departments": [],
        "removed": False,
    }

    changed = await update(api, taskId=task["id"], description="海报 and banners")
    assert changed["userErrors"] == []
    assert (await documents(api, "TASK", task["id"]))[-1]["body"] == "海报 and banners"


async def test_a_refused_change_publishes_nothing(api: SubgraphClient) -> None:
    task = await create_task(api)
    refused = await update(api, taskId=task["id"], progress=150)
    assert refused["userErrors"] != []
    assert len(await documents(api, "TASK", task["id"])) == 1


async def test_an_action_item_turned_task_is_published(api: SubgraphClient) -> None:
    item = ActionItemCreated(
        id="ai-1",
        request_id="req-1",
        meeting_id="m-1",
        title="Send the revised budget",
        owner_id="wang",
        department_id="rd",
        due_at=datetime.now(UTC) + timedelta(days=10),
        chair_id="li",
    )
    assert await deliver_envelope(
        api.runtime, new_event("requests", "requests.action_item.created", "ai-1", item)
    )
    task_id = await api.runtime.pool.fetchval("SELECT id FROM tasks WHERE source_ref = 'ai-1'")
    [document] = await documents(api, "TASK", task_id)
    assert document["title"] == "Send the revised budget"


async def test_reindex_publishes_every_task(api: SubgraphClient) -> None:
    tasks = [await create_task(api, title=f"Task {n}") for n in range(3)]
    await api.runtime.pool.execute("DELETE FROM outbox")
    assert await reindex(api.runtime, [TASKS], batch=2) == 3
    for task in tasks:
        assert len(await documents(api, "TASK", task["id"])) == 1
