"""Use cases on the request form: create and edit (one transaction each, each emits its event).

Status moves are in :mod:`services.requests.workflow`; the directory in
:mod:`services.requests.directory`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from services.requests import repository as repo
from services.requests import state
from services.requests.directory import repository as directory
from services.requests.models import (
    CollabRequest,
    GoalDraft,
    MilestoneDraft,
    NewRequest,
    RequestStatus,
    ResourceNeedDraft,
)
from shared.auth import Principal, Role
from shared.graphql.errors import Problems
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work

MAX_TITLE_LENGTH = 200

# --- requests -------------------------------------------------------------------------------


def _check_goal(problems: Problems, index: int, goal: GoalDraft) -> None:
    """The handbook wants quantified goals: a metric, a number, a unit and a date."""
    path = f"goals.{index}"
    if not (goal.metric or "").strip():
        problems.add("GOAL_NOT_QUANTIFIED", "a goal needs a metric", f"{path}.metric")
    if goal.target is None or not goal.target.is_finite():
        problems.add("GOAL_NOT_QUANTIFIED", "a goal needs a numeric target", f"{path}.target")
    if not (goal.unit or "").strip():
        problems.add("GOAL_NOT_QUANTIFIED", "a goal needs a unit", f"{path}.unit")
    if goal.due_date is None:
        problems.add("GOAL_NOT_QUANTIFIED", "a goal needs a due date", f"{path}.dueDate")


def _check_resource_need(problems: Problems, index: int, need: ResourceNeedDraft) -> None:
    """Resource needs must be concrete: a description, a positive quantity and a unit."""
    path = f"resourceNeeds.{index}"
    if not need.description.strip():
        problems.add("RESOURCE_NOT_SPECIFIC", "describe the resource", f"{path}.description")
    if need.quantity is None or not need.quantity.is_finite() or need.quantity <= 0:
        problems.add("RESOURCE_NOT_SPECIFIC", "a positive quantity is needed", f"{path}.quantity")
    if not (need.unit or "").strip():
        problems.add("RESOURCE_NOT_SPECIFIC", "a unit is needed", f"{path}.unit")


def _check_request_shape(command: NewRequest) -> Problems:
    problems = Problems()
    title = command.title.strip()
    if not title or len(title) > MAX_TITLE_LENGTH:
        problems.add("INVALID", f"title must be 1 to {MAX_TITLE_LENGTH} characters", "title")
    if not command.goals:
        problems.add("GOAL_REQUIRED", "at least one quantified goal is required", "goals")
    for index, goal in enumerate(command.goals):
        _check_goal(problems, index, goal)
    for index, need in enumerate(command.resource_needs):
        _check_resource_need(problems, index, need)
    _check_span(problems, command)
    others = set(command.participant_department_ids) - {command.lead_department_id}
    if not others:
        problems.add(
            "PARTICIPANT_REQUIRED",
            "at least one participating department besides the lead is required",
            "participantDepartmentIds",
        )
    return problems


def _check_span(problems: Problems, command: NewRequest) -> None:
    """Milestones (the form's time nodes) must fall inside the request's start and end."""
    start, end = command.starts_on, command.ends_on
    if start and end and end < start:
        problems.add("INVALID_SPAN", "the request must end on or after its start", "endsOn")
        return
    for index, milestone in enumerate(command.milestones):
        _check_milestone(problems, index, milestone, command)


def _check_milestone(
    problems: Problems, index: int, milestone: MilestoneDraft, command: NewRequest
) -> None:
    path = f"milestones.{index}"
    if not milestone.title.strip():
        problems.add("INVALID", "a milestone needs a title", f"{path}.title")
    start, end = command.starts_on, command.ends_on
    if start is None or end is None:
        problems.add(
            "SPAN_REQUIRED", "milestones need the request's start and end dates", "startsOn"
        )
    elif not start <= milestone.due_date <= end:
        problems.add(
            "MILESTONE_OUTSIDE_SPAN",
            f"milestone date {milestone.due_date} is outside {start} to {end}",
            f"{path}.dueDate",
        )


async def _check_references(uow: UnitOfWork, command: NewRequest, problems: Problems) -> None:
    providers = {
        n.provider_department_id for n in command.resource_needs if n.provider_department_id
    }
    wanted = {command.lead_department_id, *command.participant_department_ids}
    known = await directory.departments_by_ids(uow.conn, list(wanted | providers))
    if command.lead_department_id not in known:
        problems.add("NOT_FOUND", "no such lead department", "leadDepartmentId")
    for department_id in sorted(set(command.participant_department_ids) - set(known)):
        problems.add("NOT_FOUND", f"no such department {department_id}", "participantDepartmentIds")
    for index, need in enumerate(command.resource_needs):
        if need.provider_department_id and need.provider_department_id not in known:
            field = f"resourceNeeds.{index}.providerDepartmentId"
            problems.add("NOT_FOUND", "no such provider department", field)


APPROVER_ROLES = frozenset({Role.DEPARTMENT_HEAD, Role.PMO})
"""Who may be named approver: a director (department head) or the PMO (handbook, form 1)."""


async def _check_approver(
    uow: UnitOfWork, approver_id: str | None, creator_id: str, problems: Problems
) -> None:
    if not approver_id:
        return  # a draft may leave it open; submitting needs one
    found = await directory.people_by_ids(uow.conn, [approver_id])
    approver = found.get(approver_id)
    if approver is None:
        problems.add("NOT_FOUND", "no such approver", "approverId")
    elif approver_id == creator_id:
        problems.add("INVALID_APPROVER", "nobody approves their own request", "approverId")
    elif not APPROVER_ROLES.intersection(approver.roles):
        problems.add(
            "INVALID_APPROVER",
            f"the approver must be a department head or PMO; {approver.name} is"
            f" {', '.join(approver.roles)}",
            "approverId",
        )


def _without_lead(command: NewRequest) -> NewRequest:
    """Participants are the other departments: the lead and repeats are dropped."""
    participants = tuple(
        dict.fromkeys(
            d for d in command.participant_department_ids if d != command.lead_department_id
        )
    )
    return replace(command, participant_department_ids=participants)


async def create_request(
    runtime: ServiceRuntime, principal: Principal, command: NewRequest
) -> CollabRequest:
    """Create a DRAFT request led by one of the caller's departments."""
    problems = _check_request_shape(command)
    if not principal.sees_everything and command.lead_department_id not in principal.departments:
        problems.add(
            "NOT_IN_LEAD_DEPARTMENT",
            "a request is created by a member of its lead department",
            "leadDepartmentId",
        )
    command = _without_lead(command)
    async with unit_of_work(runtime) as uow:
        await _check_references(uow, command, problems)
        await _check_approver(uow, command.approver_id, principal.sub, problems)
        problems.raise_if_any()
        code = await repo.next_request_code(uow.conn, datetime.now(UTC).year)
        request = await repo.insert_request(uow.conn, command, code=code, created_by=principal.sub)
        await repo.insert_history(
            uow.conn, request.id, "CREATED", None, request.status, principal.sub, ""
        )
        data = await state.state_data(uow, request)
        await uow.emit(
            "requests.request.created",
            request.id,
            data,
            departments=[request.lead_department_id, *command.participant_department_ids],
        )
    return request


EDITABLE = (RequestStatus.DRAFT, RequestStatus.CHANGES_REQUESTED)


async def update_request(
    runtime: ServiceRuntime,
    principal: Principal,
    request_id: str,
    edit: Callable[[NewRequest], NewRequest],
    comment: str = "",
) -> CollabRequest:
    """Apply ``edit`` to the current form; only the lead department, only before approval."""
    async with unit_of_work(runtime) as uow:
        request = await state.load_for_change(uow, principal, request_id)
        state.require_lead(principal, request, "edit the request")
        state.require_status(request, EDITABLE, "edit the request")
        command = _without_lead(edit(await repo.current_form(uow.conn, request)))
        problems = _check_request_shape(command)
        await _check_references(uow, command, problems)
        await _check_approver(uow, command.approver_id, request.created_by, problems)
        problems.raise_if_any()
        updated = await repo.replace_form(uow.conn, request_id, command)
        await state.record_change(
            uow,
            updated,
            action="EDITED",
            actor=principal.sub,
            previous=request.status,
            comment=comment,
        )
    return updated
