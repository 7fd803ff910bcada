"""Meeting use cases: schedule, move, cancel, send the agenda, publish minutes.

Only the lead department (or PMO) changes meetings. Minutes are due
``LIAISON_REQUESTS_MINUTES_DUE_HOURS`` after the end; a durable timer emits
``requests.minutes.overdue`` if they are not out by then, and publishing cancels it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from services.requests import state
from services.requests.directory import repository as directory
from services.requests.meetings import repository as repo
from services.requests.meetings.models import (
    ActionItemDraft,
    Material,
    Meeting,
    MeetingMode,
    MeetingStatus,
    NewMeeting,
)
from services.requests.models import CollabRequest, RequestStatus
from services.requests.repository import participants_by_request_ids, requests_by_ids
from shared.auth import Principal
from shared.events.contracts.requests import (
    ActionItemCreated,
    AgendaSent,
    MeetingScheduled,
    MinutesOverdue,
    MinutesPublished,
)
from shared.graphql.errors import DomainError, Problems
from shared.runtime import ServiceRuntime
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork, unit_of_work

MINUTES_DUE_TIMER = "requests.minutes_due"
MEETING_STATUSES = (RequestStatus.APPROVED, RequestStatus.ACTIVE, RequestStatus.IN_ACCEPTANCE)
"""Meetings start with the kickoff, after approval, and end with the acceptance meeting."""
MAX_MEETING_HOURS = 12


def _check_times(problems: Problems, starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        problems.add("INVALID_TIME", "the meeting must end after it starts", "endsAt")
    elif ends_at - starts_at > timedelta(hours=MAX_MEETING_HOURS):
        problems.add("INVALID_TIME", f"a meeting lasts at most {MAX_MEETING_HOURS} hours", "endsAt")


def _check_place(problems: Problems, command: NewMeeting) -> None:
    """Online needs a join link, in person a room, hybrid both."""
    online = command.mode in (MeetingMode.ONLINE, MeetingMode.HYBRID)
    in_person = command.mode in (MeetingMode.IN_PERSON, MeetingMode.HYBRID)
    url = (command.join_url or "").strip()
    if online and not url.startswith(("https://", "http://")):
        problems.add("JOIN_URL_REQUIRED", "an online meeting needs an http(s) join link", "joinUrl")
    if in_person and not (command.location or "").strip():
        problems.add("LOCATION_REQUIRED", "an in-person meeting needs a room", "location")


def _check_shape(command: NewMeeting) -> Problems:
    problems = Problems()
    if not command.title.strip():
        problems.add("INVALID", "a meeting needs a title", "title")
    _check_times(problems, command.starts_at, command.ends_at)
    _check_place(problems, command)
    for index, item in enumerate(command.agenda):
        if not item.title.strip():
            problems.add("INVALID", "an agenda item needs a title", f"agenda.{index}.title")
        if item.minutes <= 0:
            problems.add("INVALID", "give each item its minutes", f"agenda.{index}.minutes")
    planned = sum(max(i.minutes, 0) for i in command.agenda)
    if planned * 60 > (command.ends_at - command.starts_at).total_seconds() > 0:
        problems.add("AGENDA_TOO_LONG", f"the agenda needs {planned} minutes", "agenda")
    if not any(a.required for a in command.attendees):
        problems.add("ATTENDEE_REQUIRED", "invite at least one required attendee", "attendees")
    ids = [a.person_id for a in command.attendees]
    if len(ids) != len(set(ids)):
        problems.add("DUPLICATE_ATTENDEE", "each person is invited once", "attendees")
    return problems


async def _check_people(uow: UnitOfWork, command: NewMeeting, problems: Problems) -> None:
    wanted = {a.person_id for a in command.attendees}
    wanted |= {i.presenter_id for i in command.agenda if i.presenter_id}
    known = await directory.people_by_ids(uow.conn, list(wanted))
    for person_id in sorted(wanted - set(known)):
        problems.add("NOT_FOUND", f"no such person {person_id}", "attendees")


async def _invitees(uow: UnitOfWork, meeting_id: str) -> tuple[list[str], list[str]]:
    attendees = (await repo.attendees_by_meeting_ids(uow.conn, [meeting_id])).get(meeting_id, [])
    return (
        [a.person_id for a in attendees if a.required],
        [a.person_id for a in attendees if not a.required],
    )


async def _emit_meeting(uow: UnitOfWork, meeting: Meeting, request: CollabRequest) -> None:
    required, optional = await _invitees(uow, meeting.id)
    data = MeetingScheduled(
        id=meeting.id,
        request_id=meeting.request_id,
        kind=meeting.kind.value,
        title=meeting.title,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        mode=meeting.mode.value,
        status=meeting.status.value,
        join_url=meeting.join_url,
        location=meeting.location,
        organizer_id=meeting.organizer_id,
        required_attendee_ids=required,
        optional_attendee_ids=optional,
        minutes_due_at=meeting.minutes_due_at,
        sequence=meeting.sequence,
    )
    await uow.emit(
        "requests.meeting.scheduled", meeting.id, data, departments=await _departments(uow, request)
    )


async def _departments(uow: UnitOfWork, request: CollabRequest) -> list[str]:
    participants = await participants_by_request_ids(uow.conn, [request.id])
    return [request.lead_department_id, *participants.get(request.id, [])]


def _minutes_due(runtime: ServiceRuntime, ends_at: datetime) -> datetime:
    return ends_at + timedelta(hours=runtime.settings.requests_minutes_due_hours)


async def schedule_meeting(
    runtime: ServiceRuntime, principal: Principal, command: NewMeeting
) -> Meeting:
    problems = _check_shape(command)
    async with unit_of_work(runtime) as uow:
        request = await state.load_for_change(uow, principal, command.request_id)
        state.require_lead(principal, request, "schedule meetings")
        state.require_status(request, MEETING_STATUSES, "schedule a meeting")
        await _check_people(uow, command, problems)
        problems.raise_if_any()
        due = _minutes_due(runtime, command.ends_at)
        meeting = await repo.insert_meeting(
            uow.conn, command, organizer_id=principal.sub, minutes_due_at=due
        )
        await uow.arm_timer(MINUTES_DUE_TIMER, meeting.id, due)
        await _emit_meeting(uow, meeting, request)
    return meeting


async def _load_open_meeting(
    uow: UnitOfWork, principal: Principal, meeting_id: str, doing: str
) -> tuple[Meeting, CollabRequest]:
    """The meeting, locked, still scheduled, and its request; the caller must lead it."""
    meeting = await repo.lock_meeting(uow.conn, meeting_id)
    if meeting is None:
        raise DomainError.single("MEETING_NOT_FOUND", "no such meeting", "meetingId")
    try:
        request = await state.load_for_change(uow, principal, meeting.request_id)
    except DomainError:
        raise DomainError.single("MEETING_NOT_FOUND", "no such meeting", "meetingId") from None
    state.require_lead(principal, request, doing)
    if meeting.status is not MeetingStatus.SCHEDULED:
        raise DomainError.single(
            "MEETING_CANCELLED", f"cannot {doing}: the meeting is {meeting.status}"
        )
    if (await repo.minutes_by_meeting_ids(uow.conn, [meeting.id])).get(meeting.id):
        raise DomainError.single(
            "MINUTES_ALREADY_PUBLISHED", f"cannot {doing}: its minutes are already published"
        )
    return meeting, request


async def reschedule_meeting(
    runtime: ServiceRuntime,
    principal: Principal,
    meeting_id: str,
    starts_at: datetime,
    ends_at: datetime,
) -> Meeting:
    """Move a meeting; the minutes deadline moves with it and the invite's SEQUENCE goes up."""
    problems = Problems()
    _check_times(problems, starts_at, ends_at)
    async with unit_of_work(runtime) as uow:
        _, request = await _load_open_meeting(uow, principal, meeting_id, "move the meeting")
        problems.raise_if_any()
        due = _minutes_due(runtime, ends_at)
        meeting = await repo.reschedule(uow.conn, meeting_id, starts_at, ends_at, due)
        await uow.arm_timer(MINUTES_DUE_TIMER, meeting.id, due)
        await _emit_meeting(uow, meeting, request)
    return meeting


async def cancel_meeting(runtime: ServiceRuntime, principal: Principal, meeting_id: str) -> Meeting:
    async with unit_of_work(runtime) as uow:
        _, request = await _load_open_meeting(uow, principal, meeting_id, "cancel the meeting")
        meeting = await repo.cancel(uow.conn, meeting_id)
        await uow.cancel_timer(MINUTES_DUE_TIMER, meeting_id)
        await _emit_meeting(uow, meeting, request)
    return meeting


async def send_agenda(
    runtime: ServiceRuntime, principal: Principal, meeting_id: str, materials: Sequence[Material]
) -> Meeting:
    """Record that the agenda and background materials went out (the handbook: in advance)."""
    for index, material in enumerate(materials):
        if not material.url.startswith(("https://", "http://")) or not material.title.strip():
            raise DomainError.single(
                "INVALID", "a material needs a title and an http(s) link", f"materials.{index}"
            )
    async with unit_of_work(runtime) as uow:
        meeting, request = await _load_open_meeting(uow, principal, meeting_id, "send the agenda")
        agenda = await repo.agenda_by_meeting_ids(uow.conn, [meeting_id])
        if not agenda.get(meeting_id):
            raise DomainError.single("AGENDA_EMPTY", "the meeting has no agenda to send", "agenda")
        meeting = await repo.mark_agenda_sent(uow.conn, meeting_id, principal.sub, materials)
        required, optional = await _invitees(uow, meeting_id)
        assert meeting.agenda_sent_at is not None
        data = AgendaSent(
            meeting_id=meeting_id,
            request_id=meeting.request_id,
            sent_at=meeting.agenda_sent_at,
            sent_by=principal.sub,
            attendee_ids=required + optional,
            material_urls=[m.url for m in materials],
        )
        departments = await _departments(uow, request)
        await uow.emit("requests.meeting.agenda_sent", meeting_id, data, departments=departments)
    return meeting


async def _check_action_items(
    uow: UnitOfWork, request: CollabRequest, meeting: Meeting, items: Sequence[ActionItemDraft]
) -> None:
    problems = Problems()
    taking_part = set(await _departments(uow, request))
    known = await directory.people_by_ids(uow.conn, [i.owner_id for i in items])
    for index, item in enumerate(items):
        path = f"actionItems.{index}"
        if not item.title.strip():
            problems.add("INVALID", "an action item needs a title", f"{path}.title")
        if item.owner_id not in known:
            problems.add("NOT_FOUND", "no such owner", f"{path}.ownerId")
        if item.department_id not in taking_part:
            problems.add(
                "DEPARTMENT_NOT_TAKING_PART",
                "the department does not take part in the request",
                f"{path}.departmentId",
            )
        if item.due_at <= meeting.starts_at:
            problems.add("INVALID_TIME", "due after the meeting", f"{path}.dueAt")
    problems.raise_if_any()


async def publish_minutes(
    runtime: ServiceRuntime,
    principal: Principal,
    meeting_id: str,
    summary: str,
    decisions: Sequence[str],
    items: Sequence[ActionItemDraft],
) -> Meeting:
    """Publish minutes once; each action item is emitted for the tasks service to pick up."""
    if not summary.strip():
        raise DomainError.single("INVALID", "minutes need a summary", "summary")
    async with unit_of_work(runtime) as uow:
        meeting, request = await _load_open_meeting(uow, principal, meeting_id, "publish minutes")
        await _check_action_items(uow, request, meeting, items)
        minutes, actions = await repo.insert_minutes(
            uow.conn,
            meeting,
            summary=summary,
            decisions=[d for d in decisions if d.strip()],
            published_by=principal.sub,
            items=items,
        )
        await uow.cancel_timer(MINUTES_DUE_TIMER, meeting_id)
        departments = await _departments(uow, request)
        lead = await directory.departments_by_ids(uow.conn, [request.lead_department_id])
        head = lead[request.lead_department_id].head_id
        for action in actions:
            data = ActionItemCreated(
                id=action.id,
                request_id=action.request_id,
                meeting_id=meeting_id,
                title=action.title,
                owner_id=action.owner_id,
                department_id=action.department_id,
                due_at=action.due_at,
                chair_id=meeting.organizer_id,
                lead_department_head_id=head,
            )
            await uow.emit("requests.action_item.created", action.id, data, departments=departments)
        required, optional = await _invitees(uow, meeting_id)
        published = MinutesPublished(
            meeting_id=meeting_id,
            request_id=meeting.request_id,
            published_by=principal.sub,
            published_at=minutes.published_at,
            summary=summary,
            decisions=list(minutes.decisions),
            action_item_ids=[a.id for a in actions],
            late=minutes.late,
            attendee_ids=required + optional,
        )
        await uow.emit("requests.minutes.published", meeting_id, published, departments=departments)
    return meeting


async def on_minutes_due(uow: UnitOfWork, timer: TimerRow) -> None:
    """Timer handler: the minutes deadline passed; emit the overdue event unless they are out."""
    meetings = await repo.meetings_by_ids(uow.conn, [timer.subject])
    meeting = meetings.get(timer.subject)
    if meeting is None or meeting.status is not MeetingStatus.SCHEDULED:
        return
    if (await repo.minutes_by_meeting_ids(uow.conn, [meeting.id])).get(meeting.id):
        return  # published in a race with the timer: nothing is overdue
    request = (await requests_by_ids(uow.conn, [meeting.request_id]))[meeting.request_id]
    data = MinutesOverdue(
        meeting_id=meeting.id,
        request_id=meeting.request_id,
        title=meeting.title,
        ended_at=meeting.ends_at,
        due_at=meeting.minutes_due_at,
        organizer_id=meeting.organizer_id,
        lead_department_id=request.lead_department_id,
    )
    departments = await _departments(uow, request)
    await uow.emit("requests.minutes.overdue", meeting.id, data, departments=departments)
