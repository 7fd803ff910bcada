"""Status moves: each is one use case that checks who may make it and from which status.

DRAFT -> SUBMITTED -> APPROVED | REJECTED | CHANGES_REQUESTED; CHANGES_REQUESTED -> SUBMITTED;
APPROVED -> ACTIVE; ACTIVE -> IN_ACCEPTANCE -> CLOSED (see :mod:`services.requests.acceptance`);
anything not finished -> CANCELLED. Every move is written to the history and emitted whole.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from services.requests import repository as repo
from services.requests import state
from services.requests.models import CollabRequest, Phase, RequestStatus
from shared.auth import Principal
from shared.graphql.errors import DomainError
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work

S = RequestStatus

PHASE_OF = {
    S.DRAFT: Phase.PREPARATION,
    S.SUBMITTED: Phase.PREPARATION,
    S.CHANGES_REQUESTED: Phase.PREPARATION,
    S.APPROVED: Phase.PREPARATION,
    S.ACTIVE: Phase.EXECUTION,
    S.IN_ACCEPTANCE: Phase.ACCEPTANCE,
    S.CLOSED: Phase.CLOSED,
    S.REJECTED: Phase.CLOSED,
    S.CANCELLED: Phase.CLOSED,
}
"""The phase follows the status; channel names use it."""

MAX_COMMENT_LENGTH = 2000


class Decision(StrEnum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    REQUEST_CHANGES = "REQUEST_CHANGES"


DECISION_TARGET = {
    Decision.APPROVE: S.APPROVED,
    Decision.REJECT: S.REJECTED,
    Decision.REQUEST_CHANGES: S.CHANGES_REQUESTED,
}

Check = Callable[[UnitOfWork, CollabRequest], Awaitable[None]]


@dataclass(frozen=True)
class Move:
    """One kind of status move: its name in the history, its target and its rules."""

    action: str
    target: RequestStatus
    allowed_from: tuple[RequestStatus, ...]
    doing: str
    by_decider: bool = False
    comment_required: bool = False


SUBMIT = Move("SUBMITTED", S.SUBMITTED, (S.DRAFT, S.CHANGES_REQUESTED), "submit the request")
ACTIVATE = Move("ACTIVATED", S.ACTIVE, (S.APPROVED,), "start execution")
CANCEL = Move(
    "CANCELLED",
    S.CANCELLED,
    (S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED, S.APPROVED, S.ACTIVE, S.IN_ACCEPTANCE),
    "cancel the request",
    comment_required=True,
)


def decision_move(decision: Decision) -> Move:
    # A refusal or a request for changes must say why, so the lead department can act on it.
    return Move(
        DECISION_TARGET[decision].value,
        DECISION_TARGET[decision],
        (S.SUBMITTED,),
        "decide the request",
        by_decider=True,
        comment_required=decision is not Decision.APPROVE,
    )


def _check_comment(move: Move, comment: str, status: RequestStatus) -> None:
    if len(comment) > MAX_COMMENT_LENGTH:
        raise DomainError.single(
            "INVALID",
            f"a comment is at most {MAX_COMMENT_LENGTH} characters; the request stays {status}",
            "comment",
        )
    if move.comment_required and not comment.strip():
        raise DomainError.single(
            "COMMENT_REQUIRED",
            f"say why when you {move.doing}; the request stays {status}",
            "comment",
        )


async def apply_move(
    uow: UnitOfWork,
    principal: Principal,
    request_id: str,
    move: Move,
    comment: str = "",
    check: Check | None = None,
) -> CollabRequest:
    """Check and make ``move`` inside an open unit of work."""
    request = await state.load_for_change(uow, principal, request_id)
    if move.by_decider:
        state.require_decider(principal, request, move.doing)
    else:
        state.require_lead(principal, request, move.doing)
    state.require_status(request, move.allowed_from, move.doing)
    _check_comment(move, comment, request.status)
    if check is not None:
        await check(uow, request)
    moved = await repo.set_status(uow.conn, request.id, move.target, PHASE_OF[move.target])
    await state.record_change(
        uow,
        moved,
        action=move.action,
        actor=principal.sub,
        previous=request.status,
        comment=comment,
    )
    return moved


async def run_move(
    runtime: ServiceRuntime,
    principal: Principal,
    request_id: str,
    move: Move,
    comment: str = "",
    check: Check | None = None,
) -> CollabRequest:
    async with unit_of_work(runtime) as uow:
        return await apply_move(uow, principal, request_id, move, comment, check)


async def _has_approver(uow: UnitOfWork, request: CollabRequest) -> None:
    """A request goes to a named approver; without one nobody but PMO could ever decide it."""
    if request.approver_id is None:
        raise DomainError.single(
            "APPROVER_REQUIRED",
            f"name an approver before submitting; the request is {request.status}",
            "approverId",
        )


async def submit_request(
    runtime: ServiceRuntime, principal: Principal, request_id: str, comment: str = ""
) -> CollabRequest:
    return await run_move(runtime, principal, request_id, SUBMIT, comment, _has_approver)


async def decide_request(
    runtime: ServiceRuntime,
    principal: Principal,
    request_id: str,
    decision: Decision,
    comment: str = "",
) -> CollabRequest:
    return await run_move(runtime, principal, request_id, decision_move(decision), comment)


async def activate_request(
    runtime: ServiceRuntime, principal: Principal, request_id: str, comment: str = ""
) -> CollabRequest:
    return await run_move(runtime, principal, request_id, ACTIVATE, comment)


async def cancel_request(
    runtime: ServiceRuntime, principal: Principal, request_id: str, comment: str
) -> CollabRequest:
    return await run_move(runtime, principal, request_id, CANCEL, comment)
