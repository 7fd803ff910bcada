"""Secondments and their approvals (plain data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class SecondmentStatus(StrEnum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"


class SecondmentDecision(StrEnum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"


@dataclass(frozen=True)
class NewSecondment:
    person_id: str
    from_department_id: str
    to_department_id: str
    starts_on: date
    ends_on: date
    duties: tuple[str, ...]
    evaluation_criteria: tuple[str, ...]
    support: tuple[str, ...] = ()
    request_id: str | None = None


@dataclass(frozen=True)
class Secondment:
    id: str
    request_id: str | None
    person_id: str
    from_department_id: str
    to_department_id: str
    starts_on: date
    ends_on: date
    duties: tuple[str, ...]
    evaluation_criteria: tuple[str, ...]
    support: tuple[str, ...]
    status: SecondmentStatus
    requested_by: str
    created_at: datetime

    def status_on(self, today: date) -> SecondmentStatus:
        """An approved secondment is ACTIVE during its period and COMPLETED after it."""
        if self.status is not SecondmentStatus.APPROVED or today < self.starts_on:
            return self.status
        return SecondmentStatus.ACTIVE if today <= self.ends_on else SecondmentStatus.COMPLETED


@dataclass(frozen=True)
class Approval:
    secondment_id: str
    department_id: str
    approver_id: str
    decision: SecondmentDecision
    comment: str
    decided_at: datetime
