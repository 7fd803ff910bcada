"""People who are only Informed get one daily digest instead of a message per event, unless
the message is urgent or they turned digests off."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from arq.worker import Worker

from services.notify import people
from services.notify.models import NotificationDraft, Urgency
from services.notify.worker import TIMER_HANDLERS
from shared.events.contracts.tasks import RaciEntry
from shared.timer_firing import sweep
from shared.unit_of_work import unit_of_work
from tests.notify.conftest import Events, Mailbox, seed_people, task_created, wait_for
from tests.support import Caller, SubgraphClient

ZHOU = Caller("zhou", departments=("ops",))
INBOX = "{ myNotifications { totalCount edges { node { type title body } } } }"


def informed(task_id: str) -> list[RaciEntry]:
    return [RaciEntry(role="R", person_id="wang"), RaciEntry(role="I", person_id="zhou")]


async def inbox(api: SubgraphClient) -> dict[str, Any]:
    data = await api.execute(INBOX, caller=ZHOU)
    page: dict[str, Any] = data["myNotifications"]
    return page


async def test_informed_people_get_one_daily_digest(
    notify_api: SubgraphClient, events: Events, worker: Worker, mailbox: Mailbox
) -> None:
    await seed_people(events, ("zhou", "ops", "Europe/Berlin"))
    assert await events.handle(task_created("t1", informed("t1"), title="Print posters"))
    assert await events.handle(task_created("t2", informed("t2"), title="Book the hall"))
    assert (await inbox(notify_api))["totalCount"] == 0  # nothing yet, one message later

    [timer] = await notify_api.runtime.pool.fetch(
        "SELECT due_at FROM timers WHERE kind = 'notify.digest' AND subject = 'zhou'"
    )
    local = timer["due_at"].astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) == (9, 0)  # LIAISON_NOTIFY_DIGEST_HOUR, their time
    assert timedelta(0) < timer["due_at"] - datetime.now(UTC) <= timedelta(days=1)

    await notify_api.runtime.pool.execute(
        "UPDATE timers SET due_at = now() WHERE kind = 'notify.digest'"
    )
    assert await sweep(notify_api.runtime, TIMER_HANDLERS) == 1
    page = await inbox(notify_api)
    assert page["totalCount"] == 1
    [edge] = page["edges"]
    assert edge["node"] == {
        "type": "notify.digest",
        "title": "每日摘要：2 条动态",
        "body": "- New task: Print posters\n- New task: Book the hall",
    }

    async def mailed() -> bool:
        return len(mailbox.messages) == 1

    await wait_for(mailed, what="the digest e-mail")
    [(to, message)] = mailbox.messages
    assert to == ["zhou@x.example"]
    assert message["Subject"] == "每日摘要：2 条动态"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert "今日动态（共 2 条）" in str(body.get_content())
    # The next informed event starts a new digest; nothing is sent twice.
    assert await sweep(notify_api.runtime, TIMER_HANDLERS) == 0
    assert await events.handle(task_created("t3", informed("t3")))
    pending = await notify_api.runtime.pool.fetchval(
        "SELECT count(*) FROM digest_items WHERE digest_id IS NULL"
    )
    assert pending == 1


async def test_urgent_or_digest_off_means_a_message_now(
    notify_api: SubgraphClient, events: Events
) -> None:
    urgent = NotificationDraft(
        recipient_id="zhou",
        type="tasks.task.overdue",
        title="Overdue: Print posters",
        body="It was due yesterday.",
        source_event_id="e-urgent",
        urgency=Urgency.URGENT,
        informed_only=True,
    )
    async with unit_of_work(notify_api.runtime) as uow:
        await people.tell(uow, urgent)
    assert (await inbox(notify_api))["totalCount"] == 1

    change = """
    mutation {
      setNotificationPreferences(input: {digestForInformed: false}) { userErrors { code } }
    }
    """
    assert (await notify_api.execute(change, caller=ZHOU))["setNotificationPreferences"] == {
        "userErrors": []
    }
    assert await events.handle(task_created("t1", informed("t1")))
    page = await inbox(notify_api)
    assert page["totalCount"] == 2
    assert await notify_api.runtime.pool.fetchval("SELECT count(*) FROM digest_items") == 0


async def test_an_item_added_while_the_digest_is_sent_waits_for_the_next_one(
    notify_api: SubgraphClient, events: Events
) -> None:
    await seed_people(events, ("zhou", "ops", "Europe/Berlin"))
    assert await events.handle(task_created("t1", informed("t1")))
    pool = notify_api.runtime.pool
    async with pool.acquire() as firing:
        sending = firing.transaction()
        await sending.start()
        # What fire_timer does first: mark the digest timer fired (and lock its row).
        await firing.execute(
            "UPDATE timers SET fired_at = now() WHERE kind = 'notify.digest' AND subject = 'zhou'"
        )
        late = asyncio.create_task(events.handle(task_created("t2", informed("t2"))))
        await asyncio.sleep(0.3)
        assert not late.done(), "the new item must wait for the digest being sent"
        await firing.execute(  # the digest takes what was pending when it started
            "UPDATE digest_items SET digest_id = 'd1' WHERE digest_id IS NULL"
        )
        await sending.commit()
    assert await late
    armed = await pool.fetchval(
        "SELECT count(*) FROM timers WHERE kind = 'notify.digest' AND fired_at IS NULL"
    )
    assert armed == 1, "the late item has a digest of its own coming"
    pending = await pool.fetchval("SELECT count(*) FROM digest_items WHERE digest_id IS NULL")
    assert pending == 1


async def test_the_digest_email_waits_for_the_end_of_quiet_hours(
    notify_api: SubgraphClient, events: Events
) -> None:
    await seed_people(events, ("zhou", "ops", "Europe/Berlin"))
    berlin = ZoneInfo("Europe/Berlin")
    local = datetime.now(UTC).astimezone(berlin)
    start, end = (local - timedelta(hours=1)).time(), (local + timedelta(hours=2)).time()
    quiet = f'{{start: "{start:%H:%M}:00", end: "{end:%H:%M}:00"}}'
    change = f"""
    mutation {{
      setNotificationPreferences(input: {{quietHours: {quiet}, timeZone: "Europe/Berlin"}}) {{
        userErrors {{ code }}
      }}
    }}"""
    assert (await notify_api.execute(change, caller=ZHOU))["setNotificationPreferences"] == {
        "userErrors": []
    }
    assert await events.handle(task_created("t1", informed("t1")))
    await notify_api.runtime.pool.execute("UPDATE timers SET due_at = now()")
    assert await sweep(notify_api.runtime, TIMER_HANDLERS) == 1

    assert (await inbox(notify_api))["totalCount"] == 1  # the inbox has it at once
    [mail] = await notify_api.runtime.pool.fetch(
        "SELECT next_attempt_at FROM deliveries WHERE target_kind = 'EMAIL'"
    )
    waits = mail["next_attempt_at"].astimezone(berlin)
    assert (waits.hour, waits.minute) == (end.hour, end.minute)
    assert waits > datetime.now(UTC)
