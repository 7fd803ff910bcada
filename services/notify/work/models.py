"""myWork's rows and their states at a moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.events.contracts.work import WorkKind, WorkRole, WorkTarget


class WorkState(StrEnum):
    ON_TRACK = "ON_TRACK"
    AT_RISK = "AT_RISK"
    OVERDUE = "OVERDUE"


class WorkClockState(StrEnum):
    RUNNING = "RUNNING"
    AT_RISK = "AT_RISK"
    BREACHED = "BREACHED"
    PAUSED = "PAUSED"


@dataclass(frozen=True)
class StoredWorkItem:
    source: str
    key: str
    kind: WorkKind
    role: WorkRole
    title: str
    target: WorkTarget
    target_id: str
    request_id: str | None
    due_at: datetime | None
    at_risk_at: datetime | None
    clock_paused: bool
    has_clock: bool
    urgency: int
    since: datetime
    sort_due: datetime

    @property
    def id(self) -> str:
        return f"{self.source}/{self.key}"

    def state(self, now: datetime) -> WorkState:
        """Overdue once due (a paused clock never is), at risk from ``at_risk_at``."""
        if self.clock_paused:
            return WorkState.ON_TRACK
        if self.due_at is not None and self.due_at <= now:
            return WorkState.OVERDUE
        if self.at_risk_at is not None and self.at_risk_at <= now:
            return WorkState.AT_RISK
        return WorkState.ON_TRACK

    def clock_state(self, now: datetime) -> WorkClockState | None:
        """The SLA clock behind the due time, if there is one."""
        if not self.has_clock:
            return None
        if self.clock_paused:
            return WorkClockState.PAUSED
        return {
            WorkState.OVERDUE: WorkClockState.BREACHED,
            WorkState.AT_RISK: WorkClockState.AT_RISK,
            WorkState.ON_TRACK: WorkClockState.RUNNING,
        }[self.state(now)]


@dataclass(frozen=True)
class KindCount:
    kind: WorkKind
    count: int
    overdue: int
    at_risk: int
