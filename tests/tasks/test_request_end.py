"""A request that has ended (CLOSED, CANCELLED) stops its report deadlines, its recurring
series and its tasks' reminders: the end cancels the timers, and a timer that fires anyway
alerts nobody and arms nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.tasks.recurring import repository as recurring_repo
from services.tasks.recurring.service import generate
from shared.unit_of_work import unit_of_work
from tests.support import SubgraphClient
from tests.tasks.helpers import (
    PAST_WEEK,
    create_task,
    end_request,
    fire_armed,
    outbox,
    seeded,
    set_report_plan,
    timer,
)
from tests.tasks.test_recurring import create_series


@pytest.fixture
async def api(tasks_api: SubgraphClient) -> SubgraphClient:
    return await seeded(tasks_api)


async def test_ending_the_request_cancels_report_and_task_timers(api: SubgraphClient) -> None:
    await set_report_plan(api.runtime)
    task = await create_task(api)
    assert await timer(api, "report.deadline", "req-1") is not None
    assert await timer(api, "task.overdue", task["id"]) is not None

    await end_request(api.runtime, "CLOSED")
    for kind, subject in [
        ("report.deadline", "req-1"),
        ("report.reminder", "req-1"),
        ("task.overdue", task["id"]),
        ("task.reminder", task["id"]),
    ]:
        assert await timer(api, kind, subject) is None, kind


async def test_report_timers_of_an_ended_request_alert_nobody_and_arm_nothing(
    api: SubgraphClient,
) -> None:
    await set_report_plan(api.runtime)  # a running request's deadline would arm the next week
    await end_request(api.runtime, "CANCELLED")
    # Armed before the end arrived, they fire anyway.
    assert await fire_armed(api, "report.reminder", "req-1", PAST_WEEK)
    assert await fire_armed(api, "report.deadline", "req-1", PAST_WEEK)
    assert await outbox(api, "tasks.report.reminder") == []
    assert await outbox(api, "tasks.report.missing") == []
    deadline = await timer(api, "report.deadline", "req-1")
    assert (deadline["payload"], deadline["fired_at"] is not None) == (PAST_WEEK, True)


async def test_task_timers_of_an_ended_request_alert_nobody(api: SubgraphClient) -> None:
    task = await create_task(api, dueAt=(datetime.now(UTC) + timedelta(days=20)).isoformat())
    reminder = await timer(api, "task.reminder", task["id"])
    overdue = await timer(api, "task.overdue", task["id"])
    await end_request(api.runtime, "CLOSED")
    assert await fire_armed(api, "task.reminder", task["id"], reminder["payload"])
    assert await fire_armed(api, "task.overdue", task["id"], overdue["payload"])
    assert await outbox(api, "tasks.task.reminder_due") == []
    assert await outbox(api, "tasks.task.overdue") == []
    assert (await timer(api, "task.reminder", task["id"]))["fired_at"] is not None  # no next


async def test_overdue_digest_leaves_out_ended_requests(api: SubgraphClient) -> None:
    await create_task(api, dueAt="2020-01-01T00:00:00Z")
    await end_request(api.runtime, "CLOSED")
    assert await fire_armed(api, "task.overdue_digest", "li", {"local_date": "2026-03-09"})
    assert await outbox(api, "tasks.overdue.digest") == []


async def test_recurring_series_of_an_ended_request_creates_no_more_tasks(
    api: SubgraphClient,
) -> None:
    created = (await create_series(api))["recurringTask"]
    async with api.runtime.pool.acquire() as conn:
        series = (await recurring_repo.recurring_by_ids(conn, [created["id"]]))[created["id"]]
    later = datetime.now(UTC) + timedelta(days=90)
    async with unit_of_work(api.runtime) as uow:
        assert await generate(uow, series, later) > 0  # while the request runs, it goes on

    await end_request(api.runtime, "CANCELLED")
    assert await timer(api, "recurring.extend", series.id) is None
    count = await api.runtime.pool.fetchval("SELECT count(*) FROM tasks")
    async with unit_of_work(api.runtime) as uow:
        assert await generate(uow, series, later + timedelta(days=90)) == 0
    assert await fire_armed(api, "recurring.extend", series.id, {})
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM tasks") == count
    assert (await timer(api, "recurring.extend", series.id))["fired_at"] is not None
