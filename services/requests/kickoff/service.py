"""Kickoff use cases: the communication plan and the risk register (lead department only).

The responsibility split agreed at the kickoff is the tasks service's RACI per task
(``CollabRequest.raciMatrix`` there); it is not copied here.
"""

from __future__ import annotations

from services.requests import state
from services.requests.directory import repository as directory
from services.requests.kickoff import repository as repo
from services.requests.kickoff.models import CommunicationPlan, Risk, RiskDraft
from services.requests.models import CollabRequest, RequestStatus
from services.requests.repository import participants_by_request_ids
from shared.auth import Principal
from shared.calendars import check_time_zone
from shared.events.contracts.requests import CommunicationPlanSet, RiskRecorded
from shared.graphql.errors import DomainError, Problems
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work

S = RequestStatus
PLANNING = (S.APPROVED, S.ACTIVE)
"""The plan is agreed at the kickoff, after approval, and may be adjusted during execution."""
RISK_OPEN = (S.SUBMITTED, S.APPROVED, S.ACTIVE, S.IN_ACCEPTANCE, S.DRAFT, S.CHANGES_REQUESTED)


async def _departments(uow: UnitOfWork, request: CollabRequest) -> list[str]:
    participants = await participants_by_request_ids(uow.conn, [request.id])
    return [request.lead_department_id, *participants.get(request.id, [])]


def _check_plan(plan: CommunicationPlan) -> None:
    problems = Problems()
    if not plan.meeting_cadence.strip():
        problems.add("INVALID", "say how often the team meets", "meetingCadence")
    if not [c for c in plan.channels if c.strip()]:
        problems.add("INVALID", "name at least one channel", "channels")
    if not plan.report_template.strip():
        problems.add("INVALID", "name the report template", "reportTemplate")
    if not 1 <= plan.report_deadline_weekday <= 7:
        problems.add("INVALID", "weekday is 1 (Monday) to 7", "reportDeadlineWeekday")
    try:
        check_time_zone(plan.time_zone)
    except ValueError as exc:
        problems.add("INVALID", str(exc), "timeZone")
    problems.raise_if_any()


async def set_communication_plan(
    runtime: ServiceRuntime, principal: Principal, plan: CommunicationPlan
) -> CommunicationPlan:
    """Save the plan and tell the tasks service when progress reports are due."""
    _check_plan(plan)
    async with unit_of_work(runtime) as uow:
        request = await state.load_for_change(uow, principal, plan.request_id)
        state.require_lead(principal, request, "set the communication plan")
        state.require_status(request, PLANNING, "set the communication plan")
        saved = await repo.upsert_plan(uow.conn, plan)
        data = CommunicationPlanSet(
            request_id=saved.request_id,
            meeting_cadence=saved.meeting_cadence,
            channels=list(saved.channels),
            report_template=saved.report_template,
            report_cadence=saved.report_cadence.value,
            report_deadline_weekday=saved.report_deadline_weekday,
            report_deadline_time=saved.report_deadline_time.strftime("%H:%M"),
            time_zone=saved.time_zone,
        )
        departments = await _departments(uow, request)
        await uow.emit("requests.communication_plan.set", request.id, data, departments=departments)
    return saved


async def lead_time_zone(runtime: ServiceRuntime, request_id: str) -> str | None:
    """Time zone of the lead department's region: the default for reporting deadlines."""
    async with runtime.pool.acquire() as conn:
        zone: str | None = await conn.fetchval(
            "SELECT g.time_zone FROM collab_requests r JOIN departments d"
            " ON d.id = r.lead_department_id JOIN regions g ON g.id = d.region_id WHERE r.id = $1",
            request_id,
        )
    return zone


async def _check_risk(uow: UnitOfWork, draft: RiskDraft) -> None:
    problems = Problems()
    if not draft.description.strip():
        problems.add("INVALID", "describe the risk", "description")
    if not draft.mitigation.strip():
        problems.add("INVALID", "say how it is mitigated", "mitigation")
    if draft.owner_id and not await directory.people_by_ids(uow.conn, [draft.owner_id]):
        problems.add("NOT_FOUND", "no such owner", "ownerId")
    problems.raise_if_any()


async def _emit_risk(uow: UnitOfWork, request: CollabRequest, risk: Risk) -> None:
    data = RiskRecorded(
        id=risk.id,
        request_id=risk.request_id,
        description=risk.description,
        likelihood=risk.likelihood.value,
        impact=risk.impact.value,
        mitigation=risk.mitigation,
        owner_id=risk.owner_id,
        status=risk.status.value,
    )
    departments = await _departments(uow, request)
    await uow.emit("requests.risk.recorded", risk.id, data, departments=departments)


async def add_risk(
    runtime: ServiceRuntime, principal: Principal, request_id: str, draft: RiskDraft
) -> Risk:
    async with unit_of_work(runtime) as uow:
        request = await state.load_for_change(uow, principal, request_id)
        state.require_lead(principal, request, "change the risk register")
        state.require_status(request, RISK_OPEN, "change the risk register")
        await _check_risk(uow, draft)
        risk = await repo.insert_risk(uow.conn, request_id, draft)
        await _emit_risk(uow, request, risk)
    return risk


async def update_risk(
    runtime: ServiceRuntime, principal: Principal, risk_id: str, draft: RiskDraft
) -> Risk:
    async with unit_of_work(runtime) as uow:
        request_id = await repo.risk_request_id(uow.conn, risk_id)
        if request_id is None:
            raise DomainError.single("RISK_NOT_FOUND", "no such risk", "riskId")
        request = await state.load_for_change(uow, principal, request_id)
        state.require_lead(principal, request, "change the risk register")
        state.require_status(request, RISK_OPEN, "change the risk register")
        await _check_risk(uow, draft)
        risk = await repo.update_risk(uow.conn, risk_id, draft)
        await _emit_risk(uow, request, risk)
    return risk
