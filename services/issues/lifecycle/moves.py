"""What each move checks and changes; the moves themselves as :class:`Rule` constants."""

from __future__ import annotations

from datetime import datetime

from services.issues import repository as repo
from services.issues.lifecycle.rules import Party, Rule, S, check_assignment, need_text
from services.issues.models import CLOSED_STATUSES, Issue, IssueAction, IssueStatus, Move, SlaMetric
from services.issues.sla import clocks
from shared.graphql.errors import Problems
from shared.unit_of_work import UnitOfWork


async def _no_check(problems: Problems, uow: UnitOfWork, issue: Issue, move: Move) -> None:
    return None


async def _assign(
    uow: UnitOfWork, issue: Issue, move: Move, now: datetime, **changes: object
) -> Issue:
    department = move.responsible_department_id or issue.responsible_department_id
    owner = (
        move.owner_id
        if move.owner_id is not None
        else (issue.owner_id if department == issue.responsible_department_id else None)
    )
    updated = await repo.update_issue(
        uow.conn, issue.id, now, responsible_department_id=department, owner_id=owner, **changes
    )
    if department != issue.responsible_department_id:
        await clocks.recompute_clocks(uow, updated, now)
    return updated


async def _acknowledge(
    uow: UnitOfWork, issue: Issue, move: Move, now: datetime
) -> tuple[Issue, IssueAction]:
    await clocks.stop_clock(uow, issue, SlaMetric.RESPONSE, now)
    return await _assign(uow, issue, move, now, status=S.ACKNOWLEDGED), IssueAction.ACKNOWLEDGED


async def _check_plan(problems: Problems, uow: UnitOfWork, issue: Issue, move: Move) -> None:
    need_text(problems, move.plan, "plan", "the plan")


async def _propose(
    uow: UnitOfWork, issue: Issue, move: Move, now: datetime
) -> tuple[Issue, IssueAction]:
    await clocks.stop_clock(uow, issue, SlaMetric.PLAN, now)
    updated = await repo.update_issue(
        uow.conn, issue.id, now, status=S.PLAN_PROPOSED, plan=move.plan.strip()
    )
    return updated, IssueAction.PLAN_PROPOSED


async def _start(
    uow: UnitOfWork, issue: Issue, move: Move, now: datetime
) -> tuple[Issue, IssueAction]:
    return await repo.update_issue(
        uow.conn, issue.id, now, status=S.IN_PROGRESS
    ), IssueAction.WORK_STARTED


async def _check_reason(problems: Problems, uow: UnitOfWork, issue: Issue, move: Move) -> None:
    need_text(problems, move.comment, "comment", "the reason")


async def _wait(
    uow: UnitOfWork, issue: Issue, move: Move, now: datetime
) -> tuple[Issue, IssueAction]:
    await clocks.pause_clocks(uow, issue, now)
    updated = await repo.update_issue(
        uow.conn, issue.id, now, status=S.WAITING, status_before_waiting=issue.status
    )
    return updated, IssueAction.WAITING


async def _resume(
    uow: UnitOfWork, issue: Issue, move: Move, now: datetime
) -> tuple[Issue, IssueAction]:
    await clocks.resume_clocks(uow, issue, now)
    back_to = issue.status_before_waiting or S.IN_PROGRESS
    updated = await repo.update_issue(
        uow.conn, issue.id, now, status=back_to, status_before_waiting=None
    )
    return updated, IssueAction.RESUMED


async def _check_resolution(problems: Problems, uow: UnitOfWork, issue: Issue, move: Move) -> None:
    need_text(problems, move.resolution, "resolution", "the resolution")


async def _resolve(
    uow: UnitOfWork, issue: Issue, move: Move, now: datetime
) -> tuple[Issue, IssueAction]:
    updated = await repo.update_issue(
        uow.conn, issue.id, now, status=S.RESOLVED, resolution=move.resolution.strip()
    )
    return updated, IssueAction.RESOLVED


async def _check_verdict(problems: Problems, uow: UnitOfWork, issue: Issue, move: Move) -> None:
    if not move.accepted:
        need_text(problems, move.comment, "comment", "the reason for rejecting")


async def _verify(
    uow: UnitOfWork, issue: Issue, move: Move, now: datetime
) -> tuple[Issue, IssueAction]:
    if move.accepted:
        return await repo.update_issue(
            uow.conn, issue.id, now, status=S.VERIFIED
        ), IssueAction.VERIFIED
    return await repo.update_issue(
        uow.conn, issue.id, now, status=S.IN_PROGRESS
    ), IssueAction.REOPENED


async def _archive(
    uow: UnitOfWork, issue: Issue, move: Move, now: datetime
) -> tuple[Issue, IssueAction]:
    return await repo.update_issue(uow.conn, issue.id, now, status=S.ARCHIVED), IssueAction.ARCHIVED


async def _check_reassign(problems: Problems, uow: UnitOfWork, issue: Issue, move: Move) -> None:
    if move.responsible_department_id is None:
        problems.add("INVALID", "name the new responsible department", "responsibleDepartmentId")
        return
    await check_assignment(problems, uow, issue, move)


async def _reassign(
    uow: UnitOfWork, issue: Issue, move: Move, now: datetime
) -> tuple[Issue, IssueAction]:
    return await _assign(uow, issue, move, now), IssueAction.REASSIGNED


_OPEN = frozenset(IssueStatus) - CLOSED_STATUSES

_WAITABLE = frozenset({S.ACKNOWLEDGED, S.PLAN_PROPOSED, S.IN_PROGRESS})
# The verb is what refusals say: "only the lead department (mkt) may acknowledge an issue".
ACKNOWLEDGE = Rule(
    "acknowledge", Party.LEAD, frozenset({S.REPORTED}), check_assignment, _acknowledge
)
PROPOSE_PLAN = Rule(
    "propose a plan for", Party.RESPONSIBLE, frozenset({S.ACKNOWLEDGED}), _check_plan, _propose
)
START_WORK = Rule(
    "start work on", Party.RESPONSIBLE, frozenset({S.PLAN_PROPOSED}), _no_check, _start
)
WAIT = Rule("put on hold", Party.EITHER, _WAITABLE, _check_reason, _wait)
RESUME = Rule("resume", Party.EITHER_OR_REPORTER, frozenset({S.WAITING}), _no_check, _resume)
RESOLVE = Rule(
    "resolve", Party.RESPONSIBLE, frozenset({S.IN_PROGRESS}), _check_resolution, _resolve
)
VERIFY = Rule("verify", Party.LEAD, frozenset({S.RESOLVED}), _check_verdict, _verify)
ARCHIVE = Rule("archive", Party.LEAD, frozenset({S.VERIFIED}), _no_check, _archive)
REASSIGN = Rule("reassign", Party.LEAD, _OPEN, _check_reassign, _reassign)

EVENTS = {
    IssueAction.ACKNOWLEDGED: "issues.issue.acknowledged",
    IssueAction.PLAN_PROPOSED: "issues.issue.plan_proposed",
    IssueAction.WORK_STARTED: "issues.issue.work_started",
    IssueAction.WAITING: "issues.issue.waiting",
    IssueAction.RESUMED: "issues.issue.resumed",
    IssueAction.RESOLVED: "issues.issue.resolved",
    IssueAction.VERIFIED: "issues.issue.verified",
    IssueAction.REOPENED: "issues.issue.reopened",
    IssueAction.ARCHIVED: "issues.issue.archived",
    IssueAction.REASSIGNED: "issues.issue.reassigned",
}
