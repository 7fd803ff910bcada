"""The rules every move obeys: who may make it (by department) and from which status.

A refusal names the rule it applies, e.g. "only the lead department (mkt) may verify an
issue", with a stable code (``LEAD_DEPARTMENT_ONLY``, ``INVALID_TRANSITION``, ...).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.issues import repository as repo
from services.issues.models import Issue, IssueAction, IssueStatus, Move
from shared.auth import Principal
from shared.graphql.errors import Problems
from shared.replicas import department_regions
from shared.unit_of_work import UnitOfWork

S = IssueStatus
MAX_TEXT = 10_000


class Party(StrEnum):
    LEAD = "the lead department"
    RESPONSIBLE = "the responsible department"
    EITHER = "the lead or the responsible department"
    EITHER_OR_REPORTER = "the lead or the responsible department, or the reporter"


_PARTY_CODES = {
    Party.LEAD: "LEAD_DEPARTMENT_ONLY",
    Party.RESPONSIBLE: "RESPONSIBLE_DEPARTMENT_ONLY",
    Party.EITHER: "ISSUE_PARTIES_ONLY",
    Party.EITHER_OR_REPORTER: "ISSUE_PARTIES_ONLY",
}

Apply = Callable[[UnitOfWork, Issue, Move, datetime], Awaitable[tuple[Issue, IssueAction]]]
Check = Callable[[Problems, UnitOfWork, Issue, Move], Awaitable[None]]


@dataclass(frozen=True)
class Rule:
    verb: str
    party: Party
    from_statuses: frozenset[IssueStatus]
    check: Check
    apply: Apply


def _departments_of(issue: Issue, party: Party) -> tuple[str, ...]:
    if party is Party.LEAD:
        return (issue.lead_department_id,)
    if party is Party.RESPONSIBLE:
        return (issue.responsible_department_id,)
    return issue.parties


def check_party(problems: Problems, principal: Principal, issue: Issue, rule: Rule) -> None:
    departments = _departments_of(issue, rule.party)
    if principal.belongs_to_any(departments):
        return
    if rule.party is Party.EITHER_OR_REPORTER and principal.sub == issue.reporter_id:
        return
    problems.add(
        _PARTY_CODES[rule.party],
        f"only {rule.party.value} ({', '.join(departments)}) may {rule.verb} an issue",
    )


def check_status(problems: Problems, issue: Issue, rule: Rule) -> None:
    if issue.status in rule.from_statuses:
        return
    allowed = ", ".join(sorted(s.value for s in rule.from_statuses))
    problems.add(
        "INVALID_TRANSITION",
        f"cannot {rule.verb} an issue that is {issue.status.value}; it must be {allowed}",
    )


def need_text(problems: Problems, value: str, field: str, what: str) -> None:
    if not value.strip():
        problems.add("INVALID", f"{what} must not be empty", field)
    elif len(value) > MAX_TEXT:
        problems.add("INVALID", f"{what} must be at most {MAX_TEXT} characters", field)


async def check_assignment(problems: Problems, uow: UnitOfWork, issue: Issue, move: Move) -> None:
    """A named responsible department must be known; a named owner must belong to it."""
    department = move.responsible_department_id or issue.responsible_department_id
    if move.responsible_department_id is not None:
        known = await department_regions(uow.conn, [department])
        if department not in known:
            problems.add(
                "DEPARTMENT_NOT_FOUND",
                f"department {department} is not in the directory",
                "responsibleDepartmentId",
            )
    if move.owner_id is not None:
        owner_department = await repo.person_department(uow.conn, move.owner_id)
        if owner_department != department:
            problems.add(
                "OWNER_NOT_IN_DEPARTMENT",
                f"the owner must be a member of the responsible department ({department})",
                "ownerId",
            )
