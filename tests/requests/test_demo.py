"""The demo data: the handbook's four scenarios, each taken through what it shows."""

from __future__ import annotations

from datetime import UTC, date, datetime

from devstack.demo_gateway import launch_tasks
from services.requests.demo import load_demo
from tests.support import SubgraphClient


async def counts(api: SubgraphClient) -> dict[str, int]:
    tables = (
        "collab_requests",
        "meetings",
        "meeting_minutes",
        "action_items",
        "communication_plans",
        "risks",
        "document_folders",
        "secondments",
        "lessons",
    )
    return {t: await api.runtime.pool.fetchval(f"SELECT count(*) FROM {t}") for t in tables}


async def test_demo_covers_the_four_scenarios_and_reloads_cleanly(
    requests_api: SubgraphClient,
) -> None:
    await load_demo(requests_api.runtime)
    rows = await requests_api.runtime.pool.fetch(
        "SELECT kind, status FROM collab_requests ORDER BY kind"
    )
    assert [(r["kind"], r["status"]) for r in rows] == [
        ("EMERGENCY", "CLOSED"),
        ("OPERATIONS", "ACTIVE"),
        ("PROJECT", "ACTIVE"),
        ("RESOURCE_SHARING", "ACTIVE"),
    ]
    loaded = await counts(requests_api)
    assert loaded == {
        "collab_requests": 4,
        "meetings": 2,
        "meeting_minutes": 1,
        "action_items": 2,
        "communication_plans": 2,
        "risks": 2,
        "document_folders": 2,
        "secondments": 1,
        "lessons": 1,
    }
    status = await requests_api.runtime.pool.fetchval("SELECT status FROM secondments")
    assert status == "APPROVED"
    met = await requests_api.runtime.pool.fetchval(
        "SELECT bool_and(met) FROM goals g"
        " JOIN collab_requests r ON r.id = g.request_id WHERE r.kind = 'EMERGENCY'"
    )
    assert met is True
    await load_demo(requests_api.runtime)
    assert await counts(requests_api) == loaded


async def test_every_demo_department_has_a_head_and_a_few_people(
    requests_api: SubgraphClient,
) -> None:
    await load_demo(requests_api.runtime)
    rows = await requests_api.runtime.pool.fetch(
        """
        SELECT d.id, d.head_id, count(p.id) AS people
          FROM departments d LEFT JOIN people p ON p.department_id = d.id
         GROUP BY d.id, d.head_id
        """
    )
    assert rows
    assert all(r["head_id"] is not None for r in rows)
    assert {r["id"]: r["people"] for r in rows if r["people"] < 2} == {}


def test_the_launch_tasks_are_due_on_whole_minutes() -> None:
    """The gateway demo's tasks (created by ``./liaison run``) carry no stray seconds."""
    dues = [datetime.fromisoformat(t["dueAt"]) for t in launch_tasks("cr1", date(2026, 3, 2))]
    assert dues == [
        datetime(2026, 3, 16, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 23, 10, 0, tzinfo=UTC),
        datetime(2026, 4, 15, 10, 0, tzinfo=UTC),
    ]
    for task in launch_tasks("cr1"):  # today's, whatever the clock's seconds are now
        due = datetime.fromisoformat(task["dueAt"])
        assert (due.second, due.microsecond) == (0, 0)
        assert due.tzinfo is not None
