"""Routing of task updates and RACI changes: C people are consulted, I people informed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.events.contracts.tasks import RaciEntry, RaciSet, TaskUpdated
from tests.notify.conftest import Events
from tests.support import SubgraphClient

# The directory of conftest.HEADS: ops -> zhou, rd -> chen.
RACI = [
    RaciEntry(role="R", person_id="wang"),
    RaciEntry(role="A", person_id="sun"),
    RaciEntry(role="C", person_id="zhao"),
    RaciEntry(role="I", department_id="ops"),  # its head, zhou
    RaciEntry(role="I", person_id="qian"),
]


async def updated(events: Events, actor: str = "wang", **fields: Any) -> None:
    values: dict[str, Any] = {
        "id": "t1",
        "request_id": "cr1",
        "title": "Print posters",
        "status": "IN_PROGRESS",
        "previous_status": "IN_PROGRESS",
        "progress": 40,
        "changed": ["progress"],
        "actor_id": actor,
        "raci": RACI,
        **fields,
    }
    await events.emit("tasks", "tasks.task.updated", "t1", TaskUpdated(**values))


async def told(api: SubgraphClient) -> dict[str, tuple[str, str, str]]:
    """Person -> (inbox or digest, title, body)."""
    pool = api.runtime.pool
    inbox = await pool.fetch("SELECT recipient_id, title, body, link FROM notifications")
    digest = await pool.fetch("SELECT person_id, title, body, link FROM digest_items")
    assert {r["link"] for r in [*inbox, *digest]} <= {"/tasks/t1"}
    found = {r["recipient_id"]: ("inbox", r["title"], r["body"]) for r in inbox}
    found.update({r["person_id"]: ("digest", r["title"], r["body"]) for r in digest})
    return found


async def test_completion_tells_accountable_and_consulted_and_informs_the_informed(
    notify_api: SubgraphClient, events: Events
) -> None:
    await updated(events, status="DONE", progress=100, changed=["progress", "status"])

    title = "Task done (已完成): Print posters"
    body = "Status IN_PROGRESS → DONE, 100% done."
    assert await told(notify_api) == {
        "sun": ("inbox", title, body),
        "zhao": ("inbox", title, body),
        "zhou": ("digest", title, body),
        "qian": ("digest", title, body),
    }  # wang, the R, marked it done: not told of his own change


async def test_progress_alone_goes_to_the_informed_digests_only(
    notify_api: SubgraphClient, events: Events
) -> None:
    await updated(events, progress=60)

    title, body = "Task progress: Print posters", "60% done."
    assert await told(notify_api) == {
        "zhou": ("digest", title, body),
        "qian": ("digest", title, body),
    }


async def test_a_new_due_date_tells_responsible_and_accountable(
    notify_api: SubgraphClient, events: Events
) -> None:
    due = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
    await updated(events, actor="li", due_at=due, changed=["due_at"])

    title = "Task due date changed: Print posters"
    body = "Now due: 2026-04-01 10:00 UTC."
    assert await told(notify_api) == {"sun": ("inbox", title, body), "wang": ("inbox", title, body)}


async def test_other_edits_tell_nobody(notify_api: SubgraphClient, events: Events) -> None:
    await updated(events, changed=["description", "title"])
    assert await told(notify_api) == {}


async def test_set_raci_tells_who_gained_or_lost_a_role(
    notify_api: SubgraphClient, events: Events
) -> None:
    previous = [
        RaciEntry(role="R", person_id="wang"),
        RaciEntry(role="A", person_id="sun"),
        RaciEntry(role="I", department_id="ops"),
        RaciEntry(role="I", person_id="kong"),
    ]
    raci = [
        RaciEntry(role="R", department_id="rd"),  # its head, chen
        RaciEntry(role="A", person_id="sun"),  # unchanged: not told
        RaciEntry(role="C", person_id="wang"),  # was R
        RaciEntry(role="C", person_id="zhao"),  # the actor, who added himself
        RaciEntry(role="C", person_id="li"),
        RaciEntry(role="I", department_id="ops"),  # unchanged
        RaciEntry(role="I", person_id="qian"),  # newly informed: the digest
    ]  # kong lost only his I: not told
    data = RaciSet(
        task_id="t1",
        request_id="cr1",
        title="Print posters",
        raci=raci,
        previous_raci=previous,
        actor_id="zhao",
    )
    await events.emit("tasks", "tasks.raci.set", "t1", data)

    title = "Task assignment changed (RACI): Print posters"
    assert await told(notify_api) == {
        "chen": ("inbox", title, "You are now responsible (R, 负责方)."),
        "li": ("inbox", title, "You are now consulted (C, 咨询方)."),
        "wang": (
            "inbox",
            title,
            "You are now consulted (C, 咨询方). You are no longer responsible (R, 负责方).",
        ),
        "qian": ("digest", title, "You are now informed (I, 知会方)."),
    }
    rows = await notify_api.runtime.pool.fetch("SELECT type, urgency FROM notifications")
    assert {(r["type"], r["urgency"]) for r in rows} == {("tasks.raci.set", "NORMAL")}
