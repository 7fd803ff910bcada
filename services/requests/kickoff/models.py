"""The kickoff's outputs as data: communication plan and risks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum


class ReportCadence(StrEnum):
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


class Level(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class RiskStatus(StrEnum):
    OPEN = "OPEN"
    MITIGATED = "MITIGATED"
    CLOSED = "CLOSED"


@dataclass(frozen=True)
class CommunicationPlan:
    request_id: str
    meeting_cadence: str
    channels: tuple[str, ...]
    report_template: str
    report_cadence: ReportCadence
    report_deadline_weekday: int
    report_deadline_time: time
    time_zone: str
    updated_by: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class RiskDraft:
    description: str
    likelihood: Level
    impact: Level
    mitigation: str
    owner_id: str | None
    status: RiskStatus = RiskStatus.OPEN


@dataclass(frozen=True)
class Risk:
    id: str
    request_id: str
    description: str
    likelihood: Level
    impact: Level
    mitigation: str
    owner_id: str | None
    status: RiskStatus
    created_at: datetime
