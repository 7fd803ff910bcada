"""Reminders in the R's business hours, overdue alerts to R and A, daily digests per A: on
the shared durable timer, moved or cancelled with the task, never sent twice, not lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.tasks.reminders.schedule import instant_before, next_local_hour, reminder_plan
from services.tasks.worker import TIMER_HANDLERS
from shared.calendars import AroundTheClock, BusinessHours, WorkCalendar
from shared.timer_firing import fire_timer, sweep
from shared.unit_of_work import unit_of_work
from tests.support import SubgraphClient
from tests.tasks.helpers import (
    LI,
    WANG,
    create_task,
    fire,
    make_due,
    outbox,
    seeded,
    timer,
    update,
)

SHANGHAI = BusinessHours(WorkCalendar(time_zone="Asia/Shanghai", holiday_country="CN"))


def test_offsets_count_working_minutes_back_from_due() -> None:
    # Monday 2026-03-09 10:00 Shanghai (02:00 UTC). 2 working hours back: Monday 09:00 takes
    # one, Friday 17:00-18:00 the other.
    due = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
    assert instant_before(SHANGHAI, due, 120) == datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
    assert instant_before(AroundTheClock(), due, 120) == due - timedelta(hours=2)


def test_reminders_skip_holidays_and_count_make_up_workdays() -> None:
    # Due Thursday 2025-10-09 10:00 Shanghai, right after the National Day week (1-8 Oct).
    # 24 working hours back: Oct 9 09:00-10:00 (1 h), then Saturday Oct 11 is *after*, so
    # it goes to Sunday Sept 28 (a make-up workday, 7.5 h), Sept 26 and 29, 30 ...
    due = datetime(2025, 10, 9, 2, 0, tzinfo=UTC)
    one_hour = instant_before(SHANGHAI, due, 60)
    assert one_hour == datetime(2025, 10, 9, 1, 0, tzinfo=UTC)  # 09:00 on the 9th
    two_hours = instant_before(SHANGHAI, due, 120)
    assert two_hours == datetime(2025, 9, 30, 9, 0, tzinfo=UTC)  # 17:00 on Sept 30
    plan = reminder_plan(SHANGHAI, due, [1440, 120])
    assert [offset for _, offset in plan] == [1440, 120]
    # 1 h on the 9th, 7.5 h each on Sept 30, 29, 28 (Sunday, make-up workday) = 23.5 h;
    # the last half hour is Friday Sept 26, 17:30-18:00.
    assert plan[0][0] == datetime(2025, 9, 26, 9, 30, tzinfo=UTC)


def test_digest_hour_is_local() -> None:
    after = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Saturday, Berlin still on CET
    instant, day = next_local_hour("Europe/Berlin", 9, after)
    assert (instant, day.isoformat()) == (datetime(2026, 3, 29, 7, 0, tzinfo=UTC), "2026-03-29")


@pytest.fixture
async def api(tasks_api: SubgraphClient) -> SubgraphClient:
    return await seeded(tasks_api)


async def test_reminder_fires_once_reaches_r_and_arms_the_next_offset(api: SubgraphClient) -> None:
    task = await create_task(api, dueAt=(datetime.now(UTC) + timedelta(days=20)).isoformat())
    first = await timer(api, "task.reminder", task["id"])
    assert first["payload"]["offset"] == 1440

    timer_id, version = await make_due(api, "task.reminder", task["id"])
    assert await fire_timer(api.runtime, TIMER_HANDLERS, timer_id, version) is True
    assert await fire_timer(api.runtime, TIMER_HANDLERS, timer_id, version) is False
    assert await sweep(api.runtime, TIMER_HANDLERS) == 0

    [event] = await outbox(api, "tasks.task.reminder_due")
    assert event["data"]["offset_minutes"] == 1440
    assert event["data"]["recipient_ids"] == ["wang"]
    assert {(e["role"], e["department_id"]) for e in event["data"]["raci"]} >= {
        ("C", "legal"),
        ("I", "eu"),
    }
    following = await timer(api, "task.reminder", task["id"])
    assert following["payload"]["offset"] == 120
    assert following["fired_at"] is None
    assert following["version"] == version + 1


async def test_a_lost_job_is_fired_by_the_sweep_exactly_once(api: SubgraphClient) -> None:
    """A worker that died with the job queued: the row is still due, the sweep fires it."""
    task = await create_task(api)
    await make_due(api, "task.overdue", task["id"])
    assert await sweep(api.runtime, TIMER_HANDLERS) == 1
    assert await sweep(api.runtime, TIMER_HANDLERS) == 0
    [event] = await outbox(api, "tasks.task.overdue")
    assert sorted(event["data"]["recipient_ids"]) == ["li", "wang"]  # R and A


async def test_moving_the_due_time_moves_reminders_and_old_jobs_find_nothing(
    api: SubgraphClient,
) -> None:
    task = await create_task(api, dueAt=(datetime.now(UTC) + timedelta(days=20)).isoformat())
    old = await timer(api, "task.overdue", task["id"])
    new_due = datetime.now(UTC) + timedelta(days=30)
    await update(api, taskId=task["id"], dueAt=new_due.isoformat())
    moved = await timer(api, "task.overdue", task["id"])
    assert moved["due_at"] == new_due.replace(microsecond=moved["due_at"].microsecond)
    assert moved["version"] == old["version"] + 1
    # The job queued for the old version runs (even late) and finds nothing to fire.
    await api.runtime.pool.execute(
        "UPDATE timers SET due_at = now() - interval '1 second' WHERE id = $1", old["id"]
    )
    assert await fire_timer(api.runtime, TIMER_HANDLERS, str(old["id"]), old["version"]) is False
    assert await outbox(api, "tasks.task.overdue") == []


async def test_unrelated_edits_do_not_rearm_a_fired_alert(api: SubgraphClient) -> None:
    task = await create_task(api)
    assert await fire(api, "task.overdue", task["id"])
    await update(api, taskId=task["id"], title="Renamed", progress=30)
    assert (await timer(api, "task.overdue", task["id"]))["fired_at"] is not None
    assert await sweep(api.runtime, TIMER_HANDLERS) >= 0
    assert len(await outbox(api, "tasks.task.overdue")) == 1


async def test_cancelling_cancels_the_timers(api: SubgraphClient) -> None:
    task = await create_task(api)
    await update(api, taskId=task["id"], status="CANCELLED")
    assert await timer(api, "task.reminder", task["id"]) is None
    assert await timer(api, "task.overdue", task["id"]) is None
    await update(api, taskId=task["id"], status="TODO")  # back in the plan: armed again
    assert await timer(api, "task.overdue", task["id"]) is not None


async def test_finishing_cancels_the_pending_reminders(api: SubgraphClient) -> None:
    task = await create_task(api, dueAt=(datetime.now(UTC) + timedelta(days=20)).isoformat())
    await update(api, taskId=task["id"], status="IN_PROGRESS")
    assert (await timer(api, "task.reminder", task["id"]))["fired_at"] is None  # still pending
    assert (await timer(api, "task.overdue", task["id"]))["fired_at"] is None
    done = await update(api, caller=WANG, taskId=task["id"], status="DONE")
    assert done["userErrors"] == []
    assert await timer(api, "task.reminder", task["id"]) is None
    assert await timer(api, "task.overdue", task["id"]) is None
    await update(api, taskId=task["id"], status="IN_PROGRESS")  # reopened: armed again
    assert (await timer(api, "task.reminder", task["id"]))["fired_at"] is None


async def test_a_timer_that_outlived_its_task_change_sends_nothing(api: SubgraphClient) -> None:
    """Re-arming a timer by hand (as a stale sweep might) cannot resurrect a finished task."""
    task = await create_task(api)
    row = await timer(api, "task.overdue", task["id"])
    await update(api, taskId=task["id"], status="IN_PROGRESS")
    await update(api, taskId=task["id"], status="DONE")
    async with unit_of_work(api.runtime) as uow:
        rearmed = await uow.arm_timer(
            "task.overdue", task["id"], datetime.now(UTC) - timedelta(seconds=1), row["payload"]
        )
    assert await fire_timer(api.runtime, TIMER_HANDLERS, str(rearmed.id), rearmed.version)
    assert await outbox(api, "tasks.task.overdue") == []


async def test_reminders_count_in_the_responsible_regions_calendar(api: SubgraphClient) -> None:
    """Same due time, R in Berlin instead of Shanghai: the 2 h reminder lands elsewhere."""
    due = datetime.now(UTC) + timedelta(days=20)
    task = await create_task(api, dueAt=due.isoformat(), reminderOffsetsMinutes=[120])
    in_shanghai = (await timer(api, "task.reminder", task["id"]))["due_at"]
    from tests.tasks.helpers import SET_RACI

    await api.execute(
        SET_RACI,
        {
            "input": {
                "taskId": task["id"],
                "assignments": [{"role": "A", "personId": "li"}, {"role": "R", "personId": "hans"}],
            }
        },
        caller=LI,
    )
    in_berlin = (await timer(api, "task.reminder", task["id"]))["due_at"]
    berlin = BusinessHours(WorkCalendar(time_zone="Europe/Berlin", holiday_country="DE"))
    stored_due = (await timer(api, "task.overdue", task["id"]))["due_at"]
    assert in_shanghai == instant_before(SHANGHAI, stored_due, 120)
    assert in_berlin == instant_before(berlin, stored_due, 120)
    assert in_shanghai != in_berlin


async def test_daily_digest_lists_an_accountables_overdue_tasks_until_none_are_left(
    api: SubgraphClient,
) -> None:
    late = await create_task(api, title="Late", dueAt="2020-01-01T00:00:00Z")
    await create_task(api, title="Also late", dueAt="2020-01-02T00:00:00Z")
    await sweep(api.runtime, TIMER_HANDLERS)  # both overdue alerts fire now
    assert len(await outbox(api, "tasks.task.overdue")) == 2
    digest = await timer(api, "task.overdue_digest", "li")
    assert digest["due_at"] > datetime.now(UTC)  # next 09:00 in li's time zone

    assert await fire(api, "task.overdue_digest", "li")
    [sent] = await outbox(api, "tasks.overdue.digest")
    assert [line["title"] for line in sent["data"]["tasks"]] == ["Late", "Also late"]
    assert sent["data"]["recipient_ids"] == ["li"]  # the A it is for
    assert sent["data"]["title"] == "2 overdue task(s) you are accountable for"
    again = await timer(api, "task.overdue_digest", "li")
    assert again["fired_at"] is None  # tomorrow's is armed
    assert again["due_at"] > datetime.now(UTC)

    for title_task in (late,):
        await update(api, taskId=title_task["id"], status="CANCELLED")
    await api.runtime.pool.execute("UPDATE tasks SET status = 'CANCELLED'")
    assert await fire(api, "task.overdue_digest", "li")
    assert len(await outbox(api, "tasks.overdue.digest")) == 1  # nothing overdue: no digest
    assert (await timer(api, "task.overdue_digest", "li"))["fired_at"] is not None
