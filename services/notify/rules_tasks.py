"""Routing of the tasks service's events: the RACI decides who hears what.

A RACI entry that names only a department stands for its head; a person holding several
roles of one task gets one message naming them all.

* ``tasks.task.created``: R, A and C people; people who are only I are only Informed.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.notify.channels.service import Announcement
from services.notify.repository import person_departments
from services.notify.rules_common import Routed, Rule, draft
from shared.db import Connection
from shared.events.contracts.tasks import RaciEntry, TaskCreated
from shared.events.envelope import EventEnvelope
from shared.replicas import department_heads

_RACI_NAMES = {
    "R": "responsible (R, 负责方)",
    "A": "accountable (A, 审批方)",
    "C": "consulted (C, 咨询方)",
    "I": "informed (I, 知会方)",
}


async def _roles_by_person(conn: Connection, raci: Iterable[RaciEntry]) -> dict[str, set[str]]:
    """Each person's roles; a department-only entry is its head's (none while unknown)."""
    entries = list(raci)
    by_department = [e.department_id for e in entries if not e.person_id and e.department_id]
    heads = await department_heads(conn, by_department)
    roles: dict[str, set[str]] = {}
    for entry in entries:
        person = entry.person_id or heads.get(entry.department_id or "")
        if person and entry.role in _RACI_NAMES:
            roles.setdefault(person, set()).add(entry.role)
    return roles


def _roles_text(roles: set[str]) -> str:
    """``responsible (R, 负责方) and accountable (A, 审批方)``; I only when it is all."""
    shown = sorted(roles - {"I"}) or ["I"]
    return " and ".join(_RACI_NAMES[r] for r in shown)


async def _raci_departments(conn: Connection, raci: list[RaciEntry]) -> list[str]:
    """Departments the RACI touches: named ones, else the person's home department."""
    people = [e.person_id for e in raci if e.person_id and not e.department_id]
    homes = await person_departments(conn, people)
    departments = [e.department_id or homes.get(e.person_id or "") for e in raci]
    return [d for d in departments if d]


async def task_created(conn: Connection, event: EventEnvelope) -> Routed:
    data = TaskCreated.model_validate(event.data)
    title = f"New task: {data.title}"
    link = f"/tasks/{data.id}"
    drafts = [
        draft(
            event,
            person,
            title,
            f"You are {_roles_text(roles)}.",
            link,
            informed_only=roles == {"I"},
        )
        for person, roles in sorted((await _roles_by_person(conn, data.raci)).items())
    ]
    due = f" Due {data.due_at:%Y-%m-%d %H:%M} UTC." if data.due_at else ""
    announcement = Announcement(
        request_id=data.request_id,
        departments=await _raci_departments(conn, data.raci),
        title=title,
        body=f"A task was added to the plan.{due}",
        link=link,
    )
    return Routed(drafts, announcement)


TASK_RULES: dict[str, Rule] = {
    "tasks.task.created": task_created,
}
