"""Moving an issue through its lifecycle, with the role rules of each move.

REPORTED -> ACKNOWLEDGED -> PLAN_PROPOSED -> IN_PROGRESS <-> WAITING -> RESOLVED -> VERIFIED
-> ARCHIVED; a failed verification goes back to IN_PROGRESS. The lead department acknowledges,
verifies and archives; the responsible department proposes plans, starts work and resolves.
WAITING (for the reporter) may also interrupt ACKNOWLEDGED or PLAN_PROPOSED, pausing the
clocks, and returns to the status it interrupted.

Each move locks the issue row first, so concurrent moves run one after the other and the
second one sees the first one's result (and is refused if it no longer applies).

Layout: :mod:`.rules` (who and from which status), :mod:`.moves` (what each move checks
and changes), this module (the use cases: one transaction, timeline entry and event each).
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.issues import repository as repo
from services.issues.lifecycle.moves import EVENTS
from services.issues.lifecycle.rules import Rule, check_party, check_status, need_text
from services.issues.models import CLOSED_STATUSES, Issue, IssueAction, Move
from services.issues.sla import escalation
from shared.auth import Principal
from shared.events.contracts.issues import IssueChanged
from shared.graphql.errors import DomainError, Problems
from shared.replicas import get_request
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work


async def locked_visible_issue(uow: UnitOfWork, principal: Principal, issue_id: str) -> Issue:
    """The issue, locked for this transaction; NOT_FOUND if missing or not visible."""
    issue = await repo.lock_issue(uow.conn, issue_id)
    if issue is not None and not principal.sees_everything:
        replica = await get_request(uow.conn, issue.request_id)
        departments = replica.departments if replica else issue.parties
        if not principal.may_see((*departments, *issue.parties)):
            issue = None
    if issue is None:
        raise DomainError.single("NOT_FOUND", f"issue {issue_id} does not exist", "issueId")
    return issue


async def move_issue(
    runtime: ServiceRuntime,
    principal: Principal,
    rule: Rule,
    move: Move,
    now: datetime | None = None,
) -> Issue:
    """Apply one lifecycle move, or refuse it with every rule it breaks (changing nothing)."""
    now = now or datetime.now(UTC)
    async with unit_of_work(runtime) as uow:
        issue = await locked_visible_issue(uow, principal, move.issue_id)
        problems = Problems()
        check_party(problems, principal, issue, rule)
        check_status(problems, issue, rule)
        await rule.check(problems, uow, issue, move)
        problems.raise_if_any()
        updated, action = await rule.apply(uow, issue, move, now)
        await record_move(uow, principal, issue, updated, action, move, now)
    return updated


async def record_move(
    uow: UnitOfWork, principal: Principal, before: Issue, after: Issue, action: IssueAction,
    move: Move, now: datetime,
) -> None:  # fmt: skip
    """The move's timeline entry and event (for the mutations, and for imported moves)."""
    note = move.comment.strip()
    if (
        action is IssueAction.REASSIGNED
        or after.responsible_department_id != before.responsible_department_id
    ):
        owner = after.owner_id or "-"
        note = f"responsible: {after.responsible_department_id}, owner: {owner}. {note}".strip()
    await repo.add_timeline(
        uow.conn, after.id, now, action, actor_id=principal.sub, from_status=before.status,
        to_status=after.status, note=note,
    )  # fmt: skip
    replica = await get_request(uow.conn, after.request_id)
    data = IssueChanged(
        issue_id=after.id,
        code=after.code,
        title=after.title,
        request_id=after.request_id,
        action=action.value,
        from_status=before.status.value,
        to_status=after.status.value,
        actor_id=principal.sub,
        comment=move.comment.strip(),
        urgent=after.urgent,
        reporter_id=after.reporter_id,
        lead_department_id=after.lead_department_id,
        responsible_department_id=after.responsible_department_id,
        owner_id=after.owner_id,
        **_handover(before, after),
    )
    departments = list(replica.departments) if replica else list(after.parties)
    await uow.emit(EVENTS[action], after.id, data, departments=departments)


def _handover(before: Issue, after: Issue) -> dict[str, str | None]:
    """Who held the issue before, when the move handed it to another department."""
    if after.responsible_department_id == before.responsible_department_id:
        return {}
    return {
        "previous_responsible_department_id": before.responsible_department_id,
        "previous_owner_id": before.owner_id,
    }


# --- escalating by hand ---------------------------------------------------------------------


async def escalate_issue(
    runtime: ServiceRuntime, principal: Principal, move: Move, now: datetime | None = None
) -> Issue:
    """One level up (at most 3); the lead or responsible department, or the PMO, may ask."""
    now = now or datetime.now(UTC)
    async with unit_of_work(runtime) as uow:
        issue = await locked_visible_issue(uow, principal, move.issue_id)
        problems = Problems()
        if not (principal.belongs_to_any(issue.parties) or principal.sees_everything):
            problems.add(
                "ISSUE_PARTIES_ONLY",
                f"only the lead or the responsible department ({', '.join(issue.parties)}) or"
                " the PMO may escalate an issue",
            )
        if issue.status in CLOSED_STATUSES:
            problems.add(
                "INVALID_TRANSITION", f"an issue that is {issue.status.value} needs no escalation"
            )
        if issue.escalation_level >= escalation.MAX_LEVEL:
            problems.add(
                "MAX_ESCALATION_LEVEL", "the issue is already escalated to the PMO (level 3)"
            )
        need_text(problems, move.comment, "comment", "the reason")
        problems.raise_if_any()
        late = await escalation.open_breach(uow.conn, issue.id)
        return await escalation.escalate(
            uow, issue, issue.escalation_level + 1, reason=move.comment.strip(),
            actor_id=principal.sub, clock=late, now=now,
        )  # fmt: skip
