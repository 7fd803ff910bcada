"""Acceptance and lessons.

ACTIVE -> IN_ACCEPTANCE (lead department) -> actual value per goal recorded (lead department),
met or not computed with the tolerance the approver sets -> sign-off by the approver (or PMO)
closes the request, once every goal has its actual value.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from services.requests import repository as requests_repo
from services.requests import state
from services.requests.acceptance import repository as repo
from services.requests.models import CollabRequest, Goal, GoalDirection, RequestStatus
from services.requests.workflow.service import Move, apply_move, run_move
from shared.auth import Principal
from shared.events.contracts.requests import LessonAdded
from shared.graphql.errors import DomainError, Problems
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work

S = RequestStatus
START = Move("ACCEPTANCE_STARTED", S.IN_ACCEPTANCE, (S.ACTIVE,), "start acceptance")
SIGN_OFF = Move("CLOSED", S.CLOSED, (S.IN_ACCEPTANCE,), "sign off the acceptance", by_decider=True)
TOLERANCE_STATUSES = (S.ACTIVE, S.IN_ACCEPTANCE)
MAX_TOLERANCE = Decimal(100)


def is_met(goal: Goal, actual: Decimal, tolerance_percent: Decimal) -> bool:
    """Met when the actual reaches the target, loosened by the tolerance (a percentage of it)."""
    slack = abs(goal.target) * tolerance_percent / 100
    if goal.direction is GoalDirection.AT_MOST:
        return actual <= goal.target + slack
    return actual >= goal.target - slack


async def start_acceptance(
    runtime: ServiceRuntime, principal: Principal, request_id: str, comment: str = ""
) -> CollabRequest:
    return await run_move(runtime, principal, request_id, START, comment)


async def _goals(uow: UnitOfWork, request_id: str) -> list[Goal]:
    return (await requests_repo.goals_by_request_ids(uow.conn, [request_id])).get(request_id, [])


async def _record_change(
    uow: UnitOfWork, principal: Principal, request_id: str, action: str, comment: str
) -> CollabRequest:
    """A change that keeps the status still goes to the history and out as the whole state."""
    request = (await requests_repo.requests_by_ids(uow.conn, [request_id]))[request_id]
    await state.record_change(
        uow, request, action=action, actor=principal.sub, previous=request.status, comment=comment
    )
    return request


async def set_tolerance(
    runtime: ServiceRuntime,
    principal: Principal,
    request_id: str,
    percent: Decimal,
    comment: str = "",
) -> CollabRequest:
    """The approver sets how far below (or above) target still counts as met."""
    if not percent.is_finite() or not 0 <= percent <= MAX_TOLERANCE:
        raise DomainError.single("INVALID", "tolerance is 0 to 100 percent", "tolerancePercent")
    async with unit_of_work(runtime) as uow:
        request = await state.load_for_change(uow, principal, request_id)
        state.require_decider(principal, request, "set the acceptance tolerance")
        state.require_status(request, TOLERANCE_STATUSES, "set the acceptance tolerance")
        await repo.set_tolerance(uow.conn, request_id, percent)
        for goal in await _goals(uow, request_id):
            if goal.actual is not None:  # results already recorded are judged again
                await repo.set_met(uow.conn, goal.id, is_met(goal, goal.actual, percent))
        return await _record_change(uow, principal, request_id, "TOLERANCE_SET", comment)


async def record_acceptance(
    runtime: ServiceRuntime,
    principal: Principal,
    request_id: str,
    results: Sequence[tuple[str, Decimal]],
    comment: str = "",
) -> CollabRequest:
    """Record the actual value per goal; met or not follows from target and tolerance."""
    async with unit_of_work(runtime) as uow:
        request = await state.load_for_change(uow, principal, request_id)
        state.require_lead(principal, request, "record acceptance results")
        state.require_status(request, (S.IN_ACCEPTANCE,), "record acceptance results")
        goals = {g.id: g for g in await _goals(uow, request_id)}
        problems = Problems()
        for index, (goal_id, actual) in enumerate(results):
            if goal_id not in goals:
                problems.add("NOT_FOUND", "no such goal on this request", f"results.{index}.goalId")
            if not actual.is_finite():
                problems.add("INVALID", "a number is needed", f"results.{index}.actual")
        if not results:
            problems.add("INVALID", "give at least one result", "results")
        problems.raise_if_any()
        tolerance = request.acceptance_tolerance_percent
        for goal_id, actual in results:
            met = is_met(goals[goal_id], actual, tolerance)
            await repo.record_actual(uow.conn, goal_id, actual, met, principal.sub)
        return await _record_change(uow, principal, request_id, "ACCEPTANCE_RECORDED", comment)


async def _all_recorded(uow: UnitOfWork, request: CollabRequest) -> None:
    missing = [g.metric for g in await _goals(uow, request.id) if g.actual is None]
    if missing:
        raise DomainError.single(
            "ACCEPTANCE_INCOMPLETE",
            f"record the actual value of every goal first (missing: {', '.join(missing)}); "
            f"the request is {request.status}",
        )


async def close_request(
    runtime: ServiceRuntime, principal: Principal, request_id: str, comment: str = ""
) -> CollabRequest:
    """Sign-off by the approver (or PMO) closes the request."""
    async with unit_of_work(runtime) as uow:
        return await apply_move(uow, principal, request_id, SIGN_OFF, comment, _all_recorded)


MAX_TAGS = 20


def _check_lesson(title: str, body: str, tags: Sequence[str]) -> None:
    problems = Problems()
    if not title.strip():
        problems.add("INVALID", "a lesson needs a title", "title")
    if not body.strip():
        problems.add("INVALID", "a lesson needs a body", "body")
    if len(tags) > MAX_TAGS:
        problems.add("INVALID", f"at most {MAX_TAGS} tags", "tags")
    problems.raise_if_any()


async def add_lesson(
    runtime: ServiceRuntime,
    principal: Principal,
    request_id: str,
    title: str,
    body: str,
    tags: Sequence[str],
) -> repo.Lesson:
    """Anyone taking part may write down a lesson, at any point of the request."""
    tags = [t.strip() for t in tags if t.strip()]
    _check_lesson(title, body, tags)
    async with unit_of_work(runtime) as uow:
        request = await state.load_for_change(uow, principal, request_id)
        lesson = await repo.insert_lesson(
            uow.conn, request_id, title.strip(), body.strip(), tags, principal.sub
        )
        data = LessonAdded(
            id=lesson.id,
            request_id=request_id,
            title=lesson.title,
            tags=list(lesson.tags),
            author_id=principal.sub,
        )
        participants = await requests_repo.participants_by_request_ids(uow.conn, [request_id])
        departments = [request.lead_department_id, *participants.get(request_id, [])]
        await uow.emit("requests.lesson.added", lesson.id, data, departments=departments)
    return lesson
