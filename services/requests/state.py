"""What every change of a request shares: finding it locked, checking who may act and in which
status, recording the move in the history and emitting the whole new state.

Other services keep copies of requests from ``requests.request.updated``, so every change
(edit, status move, phase change) emits the full state, never a diff.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.requests import repository as repo
from services.requests.models import CollabRequest, RequestStatus
from shared.auth import Principal, Role
from shared.events.contracts.requests import RequestCreated, RequestUpdated
from shared.graphql.errors import DomainError
from shared.unit_of_work import UnitOfWork

NOT_FOUND = "REQUEST_NOT_FOUND"


def not_found(field: str = "requestId") -> DomainError:
    return DomainError.single(NOT_FOUND, "no such request, or you may not see it", field)


async def load_for_change(uow: UnitOfWork, principal: Principal, request_id: str) -> CollabRequest:
    """The request, locked for this transaction; refused as unknown if the caller cannot see it
    (so a refusal does not reveal that a request exists). The named approver sees it too,
    even from a department that takes no part, or they could never decide it."""
    request = await repo.lock_request(uow.conn, request_id)
    if request is None:
        raise not_found()
    visible = request.approver_id == principal.sub or await repo.is_visible(
        uow.conn,
        request_id,
        sees_all=principal.sees_everything,
        departments=principal.departments,
    )
    if not visible:
        raise not_found()
    return request


def is_lead(principal: Principal, request: CollabRequest) -> bool:
    """The lead department (any of its members) or PMO changes the plan and the meetings."""
    return principal.has_role(Role.PMO) or request.lead_department_id in principal.departments


def is_decider(principal: Principal, request: CollabRequest) -> bool:
    """Only the named approver, or PMO, decides (approval, tolerance, sign-off)."""
    return principal.has_role(Role.PMO) or principal.sub == request.approver_id


def require_lead(principal: Principal, request: CollabRequest, doing: str) -> None:
    if not is_lead(principal, request):
        raise DomainError.single(
            "NOT_LEAD_DEPARTMENT",
            f"only the lead department ({request.lead_department_id}) or PMO may {doing}; "
            f"the request is {request.status}",
        )


def require_decider(principal: Principal, request: CollabRequest, doing: str) -> None:
    if not is_decider(principal, request):
        raise DomainError.single(
            "NOT_APPROVER",
            f"only the named approver or PMO may {doing}; the request is {request.status}",
        )


def require_status(request: CollabRequest, allowed: Iterable[RequestStatus], doing: str) -> None:
    allowed = tuple(allowed)
    if request.status not in allowed:
        expected = " or ".join(s.value for s in allowed)
        raise DomainError.single(
            "INVALID_STATUS",
            f"cannot {doing}: the request is {request.status}, it must be {expected}",
        )


async def state_data(uow: UnitOfWork, request: CollabRequest) -> RequestCreated:
    participants = await repo.participants_by_request_ids(uow.conn, [request.id])
    return RequestCreated(
        id=request.id,
        code=request.code,
        kind=request.kind.value,
        title=request.title,
        status=request.status.value,
        lead_department_id=request.lead_department_id,
        participant_department_ids=participants.get(request.id, []),
        created_by=request.created_by,
        phase=request.phase.value,
        approver_id=request.approver_id,
        starts_on=request.starts_on,
        ends_on=request.ends_on,
    )


async def record_change(
    uow: UnitOfWork,
    request: CollabRequest,
    *,
    action: str,
    actor: str,
    previous: RequestStatus | None,
    comment: str = "",
) -> None:
    """Write the history row and emit ``requests.request.updated`` with the whole state."""
    await repo.insert_history(
        uow.conn, request.id, action, previous, request.status, actor, comment
    )
    state = await state_data(uow, request)
    data = RequestUpdated(
        **state.model_dump(),
        actor_id=actor,
        previous_status=previous.value if previous else None,
        comment=comment or None,
        action=action,
    )
    await uow.emit(
        "requests.request.updated",
        request.id,
        data,
        departments=[request.lead_department_id, *state.participant_department_ids],
    )
