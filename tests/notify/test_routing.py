"""Routing: which events notify whom, once per person per event."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from services.notify.handlers import EVENT_HANDLERS
from shared.events.contracts.issues import IssueSlaBreached
from shared.events.contracts.tasks import OverdueDigest, RaciEntry, ReportMissing, TaskOverdue
from shared.unit_of_work import unit_of_work
from tests.notify.conftest import Events, issue_reported, sla_breached, task_created
from tests.support import SubgraphClient


async def notifications(api: SubgraphClient) -> list[dict[str, Any]]:
    rows = await api.runtime.pool.fetch(
        "SELECT recipient_id, type, title, body, link, urgency, source_event_id"
        " FROM notifications ORDER BY recipient_id"
    )
    return [dict(r) for r in rows]


async def outbox_subjects(api: SubgraphClient, type_: str) -> list[str]:
    rows = await api.runtime.pool.fetch(
        "SELECT envelope FROM outbox WHERE event_type = $1 ORDER BY seq", type_
    )
    return [r["envelope"]["subject"] for r in rows]


async def test_task_created_notifies_raci_people_and_keeps_informed_for_the_digest(
    notify_api: SubgraphClient, events: Events
) -> None:
    raci = [
        RaciEntry(role="R", person_id="wang"),
        RaciEntry(role="A", person_id="wang"),  # R and A: still one notification
        RaciEntry(role="A", person_id="sun", department_id="mkt"),  # the person, not the head
        RaciEntry(role="R", department_id="rd"),  # department only: its head, chen
        RaciEntry(role="R", department_id="legal"),  # no head known: nobody
        RaciEntry(role="C", person_id="zhao"),
        RaciEntry(role="I", department_id="ops"),  # only Informed: zhou's daily digest
    ]
    envelope = task_created("t1", raci)
    assert await events.handle(envelope)

    found = await notifications(notify_api)
    assert [n["recipient_id"] for n in found] == ["chen", "sun", "wang", "zhao"]
    by_person = {n["recipient_id"]: n for n in found}
    assert "consulted" in by_person["zhao"]["body"]
    digest = await notify_api.runtime.pool.fetch("SELECT person_id, title FROM digest_items")
    assert [(d["person_id"], d["title"]) for d in digest] == [("zhou", "New task: Launch posters")]
    assert "responsible" in by_person["wang"]["body"]
    assert "accountable" in by_person["wang"]["body"]
    assert "accountable" in by_person["sun"]["body"]
    assert all(n["type"] == "tasks.task.created" for n in found)
    assert all(n["source_event_id"] == envelope.id for n in found)
    assert all(n["link"] == "/tasks/t1" and n["urgency"] == "NORMAL" for n in found)
    assert by_person["chen"]["title"] == "New task: Launch posters"

    created = await outbox_subjects(notify_api, "notify.notification.created")
    ids = await notify_api.runtime.pool.fetch("SELECT id FROM notifications")
    assert sorted(created) == sorted(r["id"] for r in ids)


async def test_issue_reported_notifies_lead_department_head(
    notify_api: SubgraphClient, events: Events
) -> None:
    assert await events.handle(issue_reported("i1", lead="ops"))
    assert await events.handle(issue_reported("i2", lead="rd", urgent=True))
    assert await events.handle(issue_reported("i3", lead="legal"))  # no head: nobody

    found = await notifications(notify_api)
    assert [(n["recipient_id"], n["link"], n["urgency"]) for n in found] == [
        ("chen", "/issues/i2", "URGENT"),
        ("zhou", "/issues/i1", "NORMAL"),
    ]
    assert "绿色通道" in found[0]["body"]
    assert found[1]["title"].startswith("Issue IS-0001 reported")


async def test_sla_breach_urgently_notifies_lead_department_head(
    notify_api: SubgraphClient, events: Events
) -> None:
    assert await events.handle(sla_breached("i1", lead="mkt"))

    [found] = await notifications(notify_api)
    assert (found["recipient_id"], found["urgency"]) == ("li", "URGENT")
    assert found["type"] == "issues.issue.sla_breached"
    assert "response" in found["title"]


async def test_same_event_twice_notifies_once(notify_api: SubgraphClient, events: Events) -> None:
    envelope = issue_reported("i1")
    assert await events.handle(envelope)
    assert not await events.handle(envelope)  # the inbox drops the redelivery

    # Even past the inbox (e.g. a handler re-run by hand), the unique key holds.
    async with unit_of_work(notify_api.runtime) as uow:
        await EVENT_HANDLERS[envelope.type](uow, envelope)

    assert len(await notifications(notify_api)) == 1
    assert len(await outbox_subjects(notify_api, "notify.notification.created")) == 1


async def test_events_naming_their_recipients_notify_them(
    notify_api: SubgraphClient, events: Events
) -> None:
    due = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    overdue = TaskOverdue(
        task_id="t9",
        request_id="cr1",
        title="Print posters",
        due_at=due,
        recipient_ids=["sun", "wang"],
        raci=[],
    )
    await events.emit("tasks", "tasks.task.overdue", "t9", overdue)
    breach = IssueSlaBreached(
        issue_id="i1",
        metric="PLAN",
        due_at=due,
        breached_at=due,
        lead_department_id="ops",
        recipient_ids=["wang"],
    )
    await events.emit("issues", "issues.issue.sla_breached", "i1", breach)

    found = await notifications(notify_api)
    assert [(n["recipient_id"], n["type"]) for n in found] == [
        ("sun", "tasks.task.overdue"),
        ("wang", "tasks.task.overdue"),
        ("wang", "issues.issue.sla_breached"),  # named: not the lead head (zhou)
    ]
    assert found[0]["title"] == "Task overdue: Print posters"
    assert found[0]["link"] == "/tasks/t9"
    assert found[2]["urgency"] == "URGENT"


async def test_addressed_events_link_to_the_most_specific_thing_they_name(
    notify_api: SubgraphClient, events: Events
) -> None:
    due = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    missing = ReportMissing(
        request_id="cr1",
        department_id="rd",
        period_start=date(2026, 2, 23),
        period_end=date(2026, 3, 1),
        deadline=due,
        title="Weekly report of R&D",
        recipient_ids=["wang"],
    )
    await events.emit("tasks", "tasks.report.missing", "cr1", missing)
    digest = OverdueDigest(
        accountable_id="sun",
        local_date=date(2026, 3, 2),
        tasks=[],
        title="2 overdue tasks",
        recipient_ids=["sun"],
    )
    await events.emit("tasks", "tasks.overdue.digest", "sun", digest)
    found = {n["type"]: n for n in await notifications(notify_api)}
    assert found["tasks.report.missing"]["link"] == "/requests/cr1"  # not /tasks/cr1
    assert found["tasks.overdue.digest"]["link"] is None  # several tasks: no one link
    assert found["tasks.overdue.digest"]["recipient_id"] == "sun"
