"""The work items of requests, secondments and meetings (``myWork``, shared/projections.py).

Each item mirrors who the use case lets make the move:

- a SUBMITTED request is decided by its named approver (``state.require_decider``); the
  same approver signs off an IN_ACCEPTANCE request once every goal has its actual value
  (``acceptance.close_request``): a ``SIGN_OFF_REQUEST``. There is no decision deadline for
  either: no due time.
- a REQUESTED secondment is decided by the heads of both departments, the lending and the
  borrowing one, each once (``secondments.service._heads_deciding``): one head-only item
  per department that has not decided yet.
- minutes are published by any member of the request's lead department
  (``meetings.service._load_open_meeting``), so theirs is a department item, shown once the
  meeting has ended and while it is scheduled and its minutes are not out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from services.requests import work_repository as repo
from services.requests.meetings.models import MeetingStatus
from services.requests.models import RequestKind, RequestStatus
from services.requests.secondments.models import SecondmentStatus
from services.requests.work_repository import MeetingWork, RequestWork, SecondmentWork
from shared.events.contracts.work import WorkItem, WorkKind, WorkRole, WorkTarget
from shared.events.envelope import EventEnvelope
from shared.projections import publish_records, subjects
from shared.unit_of_work import UnitOfWork

REQUEST_EVENTS = frozenset({"requests.request.created", "requests.request.updated"})
SECONDMENT_EVENTS = frozenset({"requests.secondment.updated"})
MEETING_EVENTS = frozenset({"requests.meeting.scheduled", "requests.minutes.published"})
"""Scheduled, moved, cancelled (all ``meeting.scheduled``) and minutes published; the
subject of each is the record's id."""

MINUTES_AT_RISK = timedelta(hours=4)
"""Minutes are at risk this long before they are due."""

NORMAL = 2
URGENT = 0


def request_items(request: RequestWork) -> list[WorkItem]:
    """The approver's decision on a SUBMITTED request, or sign-off of a finished acceptance."""
    approver = request.approver_id
    if approver is None:
        return []
    if request.status is RequestStatus.SUBMITTED:
        key, kind = f"APPROVER:{approver}", WorkKind.DECIDE_REQUEST
    elif request.status is RequestStatus.IN_ACCEPTANCE and request.results_recorded:
        key, kind = f"SIGN_OFF:{approver}", WorkKind.SIGN_OFF_REQUEST
    else:
        return []
    return [
        WorkItem(
            key=key,
            kind=kind,
            role=WorkRole.APPROVER,
            title=f"{request.code} {request.title}",
            target=WorkTarget.REQUEST,
            target_id=request.id,
            request_id=request.id,
            person_id=approver,
            urgency=URGENT if request.kind is RequestKind.EMERGENCY else NORMAL,
        )
    ]


def secondment_items(secondment: SecondmentWork) -> list[WorkItem]:
    """One head-only item per department (lending, borrowing) still to decide."""
    if secondment.status is not SecondmentStatus.REQUESTED:
        return []
    prefix = f"{secondment.request_code} " if secondment.request_code else ""
    title = (
        f"{prefix}{secondment.person_name}: "
        f"{secondment.from_department_code} → {secondment.to_department_code}"
    )
    sides = dict.fromkeys((secondment.from_department_id, secondment.to_department_id))
    return [
        WorkItem(
            key=f"HEAD:{department}",
            kind=WorkKind.APPROVE_SECONDMENT,
            role=WorkRole.DEPARTMENT_HEAD,
            title=title,
            target=WorkTarget.SECONDMENT,
            target_id=secondment.id,
            request_id=secondment.request_id,
            department_id=department,
            heads_only=True,
        )
        for department in sides
        if department not in secondment.decided_department_ids
    ]


def meeting_items(meeting: MeetingWork) -> list[WorkItem]:
    """The lead department's minutes, from the meeting's end until they are published."""
    if meeting.status is MeetingStatus.CANCELLED or meeting.minutes_published:
        return []
    return [
        WorkItem(
            key=f"LEAD:{meeting.lead_department_id}",
            kind=WorkKind.PUBLISH_MINUTES,
            role=WorkRole.ORGANIZER,
            title=f"{meeting.request_code} {meeting.title}",
            target=WorkTarget.MEETING,
            target_id=meeting.id,
            request_id=meeting.request_id,
            department_id=meeting.lead_department_id,
            visible_from=meeting.ends_at,
            due_at=meeting.minutes_due_at,
            at_risk_at=max(meeting.ends_at, meeting.minutes_due_at - MINUTES_AT_RISK),
        )
    ]


async def project(uow: UnitOfWork, events: Sequence[EventEnvelope]) -> None:
    """Publish the work items of every request, secondment and meeting the unit changed."""
    requests = subjects(events, REQUEST_EVENTS)
    await publish_records(uow, "REQUEST", requests, repo.requests_work, request_items)
    secondments = subjects(events, SECONDMENT_EVENTS)
    await publish_records(uow, "SECONDMENT", secondments, repo.secondments_work, secondment_items)
    meetings = subjects(events, MEETING_EVENTS)
    await publish_records(uow, "MEETING", meetings, repo.meetings_work, meeting_items)
