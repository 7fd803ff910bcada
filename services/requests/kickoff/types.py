"""GraphQL types of the kickoff outputs, and their DataLoaders."""

from __future__ import annotations

from datetime import datetime, time

import strawberry

from services.requests.directory.types import (
    Department,
    Person,
    department_or_none,
    person_or_none,
)
from services.requests.kickoff import models
from services.requests.kickoff import repository as repo
from services.requests.models import Phase
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.loaders import one_per_key

strawberry.enum(models.ReportCadence, description="How often progress reports are due.")
strawberry.enum(models.Level, description="Low, medium or high.")
strawberry.enum(models.RiskStatus, description="Open, mitigated or closed.")


load_plans = one_per_key(repo.plans_by_request_ids)


@strawberry.type(description="How the collaboration communicates (agreed at the kickoff).")
class CommunicationPlan:
    meeting_cadence: str = strawberry.field(description="e.g. `weekly progress meeting, Mon`.")
    channels: list[str] = strawberry.field(description="Tools used, e.g. DingTalk group.")
    report_template: str = strawberry.field(description="Progress report template to use.")
    report_cadence: models.ReportCadence = strawberry.field(description="Weekly or monthly.")
    report_deadline_weekday: int = strawberry.field(description="ISO weekday reports are due.")
    report_deadline_time: time = strawberry.field(description="Local time reports are due.")
    time_zone: str = strawberry.field(description="Time zone of the deadline.")
    updated_at: datetime | None = strawberry.field(description="When it was last set.")

    @classmethod
    def from_model(cls, p: models.CommunicationPlan) -> CommunicationPlan:
        return cls(
            meeting_cadence=p.meeting_cadence,
            channels=list(p.channels),
            report_template=p.report_template,
            report_cadence=p.report_cadence,
            report_deadline_weekday=p.report_deadline_weekday,
            report_deadline_time=p.report_deadline_time,
            time_zone=p.time_zone,
            updated_at=p.updated_at,
        )


@strawberry.type(description="A risk in the request's register.")
class Risk:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    description: str = strawberry.field(description="What could go wrong.")
    likelihood: models.Level = strawberry.field(description="How likely it is.")
    impact: models.Level = strawberry.field(description="How bad it would be.")
    mitigation: str = strawberry.field(description="What is done about it.")
    status: models.RiskStatus = strawberry.field(description="Open, mitigated or closed.")
    created_at: datetime = strawberry.field(description="When it was recorded.")
    owner_id: strawberry.Private[str | None]

    @classmethod
    def from_model(cls, r: models.Risk) -> Risk:
        return cls(
            id=strawberry.ID(r.id),
            description=r.description,
            likelihood=r.likelihood,
            impact=r.impact,
            mitigation=r.mitigation,
            status=r.status,
            created_at=r.created_at,
            owner_id=r.owner_id,
        )

    @strawberry.field(
        description="Who watches it.",
        metadata=sql.to_one("people", "{target}.id = {row}.owner_id"),
    )
    async def owner(self, info: Info) -> Person | None:
        return await person_or_none(info, self.owner_id)


@strawberry.type(description="A chat channel name `[title]-[phase]-[department]`.")
class ChannelName:
    name: str = strawberry.field(description="The full name (title shortened by the rule).")
    phase: Phase = strawberry.field(description="The phase it is for.")
    department_id: strawberry.Private[str]

    @strawberry.field(description="The department it is for.")
    async def department(self, info: Info) -> Department | None:
        return await department_or_none(info, self.department_id)
