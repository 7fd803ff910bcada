"""Routing of the tasks service's events: the RACI decides who hears what.

A RACI entry that names only a department stands for its head; a person holding several
roles of one task gets one message naming them all.

Nobody is told of their own change, and a person gets one message per event, in the inbox
if any of their roles is told directly, else in the daily digest if one of their roles is
only Informed.

* ``tasks.task.created``: R, A and C people; people who are only I are only Informed.
* ``tasks.task.updated``: a status move (started, blocked, done, cancelled, reopened) tells
  R, A and C, and I people are Informed; a new due date tells R and A (the R works to it,
  the A answers for it); a progress change alone is only for I people's digests. Other
  edits (title, description, links, reminder offsets) tell nobody.
* ``tasks.raci.set``: people who gain an R, A or C role, or lose one, are told what they
  are now (and no longer); people who only become I are Informed; losing only an I tells
  nobody.

Updates and assignment changes are not posted to the chat groups: they hear of new tasks,
and each person concerned hears of the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.notify.channels.service import Announcement
from services.notify.models import NotificationDraft
from services.notify.rules_common import Routed, Rule, draft
from shared.db import Connection
from shared.events.contracts.tasks import RaciEntry, RaciSet, TaskCreated, TaskUpdated
from shared.events.envelope import EventEnvelope
from shared.replicas import department_heads, person_departments

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


_STATUS_NAMES = {
    "TODO": "back to do (待办)",
    "IN_PROGRESS": "started (进行中)",
    "BLOCKED": "blocked (受阻)",
    "DONE": "done (已完成)",
    "CANCELLED": "cancelled (已取消)",
}


@dataclass(frozen=True)
class _Telling:
    """One message about a task and the roles it goes to: ``direct`` in the inbox,
    ``informed`` only in the digest."""

    title: str
    body: str
    direct: frozenset[str] = frozenset()
    informed: frozenset[str] = frozenset()


def _update_telling(data: TaskUpdated) -> _Telling | None:
    """What a task update is worth telling, the most significant change first."""
    if data.status != data.previous_status:
        moved = _STATUS_NAMES.get(data.status, data.status.lower())
        body = f"Status {data.previous_status} → {data.status}, {data.progress}% done."
        return _Telling(f"Task {moved}: {data.title}", body, frozenset("RAC"), frozenset("I"))
    if "due_at" in data.changed:
        due = f"{data.due_at:%Y-%m-%d %H:%M} UTC" if data.due_at else "no due date any more"
        return _Telling(f"Task due date changed: {data.title}", f"Now due: {due}.", frozenset("RA"))
    if "progress" in data.changed:
        body = f"{data.progress}% done."
        return _Telling(f"Task progress: {data.title}", body, informed=frozenset("I"))
    return None


def _told(
    event: EventEnvelope, telling: _Telling, roles: dict[str, set[str]], actor: str, link: str
) -> list[NotificationDraft]:
    drafts = []
    for person, held in sorted(roles.items()):
        direct = bool(held & telling.direct)
        if person == actor or not (direct or held & telling.informed):
            continue
        drafts.append(
            draft(event, person, telling.title, telling.body, link, informed_only=not direct)
        )
    return drafts


async def task_updated(conn: Connection, event: EventEnvelope) -> Routed:
    data = TaskUpdated.model_validate(event.data)
    telling = _update_telling(data)
    if telling is None:
        return Routed()
    roles = await _roles_by_person(conn, data.raci)
    return Routed(_told(event, telling, roles, data.actor_id, f"/tasks/{data.id}"))


def _assignment_change(gained: set[str], lost: set[str]) -> str:
    """``You are now accountable (A, 审批方). You are no longer responsible (R, 负责方).``"""
    said = [f"You are now {_roles_text(gained)}."] if gained else []
    if lost - {"I"}:
        said.append(f"You are no longer {_roles_text(lost)}.")
    return " ".join(said)


async def raci_set(conn: Connection, event: EventEnvelope) -> Routed:
    data = RaciSet.model_validate(event.data)
    before = await _roles_by_person(conn, data.previous_raci)
    after = await _roles_by_person(conn, data.raci)
    title = f"Task assignment changed (RACI): {data.title}"
    link = f"/tasks/{data.task_id}"
    drafts = []
    for person in sorted((before.keys() | after.keys()) - {data.actor_id}):
        gained = after.get(person, set()) - before.get(person, set())
        lost = before.get(person, set()) - after.get(person, set())
        body = _assignment_change(gained, lost)
        if body:
            only_informed = not (gained | lost) - {"I"}
            drafts.append(draft(event, person, title, body, link, informed_only=only_informed))
    return Routed(drafts)


TASK_RULES: dict[str, Rule] = {
    "tasks.task.created": task_created,
    "tasks.task.updated": task_updated,
    "tasks.raci.set": raci_set,
}
