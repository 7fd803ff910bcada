"""GraphQL types of the SLA policy and the SLA report."""

from __future__ import annotations

import strawberry

from services.issues import models


@strawberry.type(description="The SLA policy new issues are timed by.")
class SlaPolicy:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    name: str = strawberry.field(description="Name of the policy.")
    response_minutes: int = strawberry.field(description="Minutes to acknowledge (RESPONSE).")
    plan_minutes: int = strawberry.field(description="Minutes to propose a plan (PLAN).")
    urgent_plan_minutes: int = strawberry.field(description="PLAN minutes for urgent issues.")
    business_hours: bool = strawberry.field(
        description="Clocks count the responsible region's working hours (else 24x7)."
    )
    urgent_business_hours: bool = strawberry.field(
        description="Urgent issues count working hours too (by default they count 24x7)."
    )
    warn_at_percents: list[int] = strawberry.field(
        description="Percentages of a target at which a warning goes out."
    )
    escalation_step_minutes: list[int] = strawberry.field(
        description="Clock minutes from level 1 to 2 and from 2 to 3 while a step is late."
    )

    @classmethod
    def from_model(cls, policy: models.SlaPolicy) -> SlaPolicy:
        return cls(
            id=strawberry.ID(policy.id),
            name=policy.name,
            response_minutes=policy.response_minutes,
            plan_minutes=policy.plan_minutes,
            urgent_plan_minutes=policy.urgent_plan_minutes,
            business_hours=policy.business_hours,
            urgent_business_hours=policy.urgent_business_hours,
            warn_at_percents=list(policy.warn_at_percents),
            escalation_step_minutes=list(policy.escalation_step_minutes),
        )


@strawberry.type(description="SLA compliance of one department or region.")
class SlaReportRow:
    key: strawberry.ID = strawberry.field(
        description="Department or region id (empty when the region is not known yet)."
    )
    issue_count: int = strawberry.field(description="Issues reported in the period.")
    response_met_percent: float | None = strawberry.field(
        description="Share of ended RESPONSE clocks that were met; null if none ended."
    )
    plan_met_percent: float | None = strawberry.field(
        description="Share of ended PLAN clocks that were met; null if none ended."
    )
    mean_minutes_to_acknowledge: float | None = strawberry.field(
        description="Mean clock minutes from report to acknowledgement (pauses excluded)."
    )
    p90_minutes_to_acknowledge: float | None = strawberry.field(
        description="90th percentile of the clock minutes to acknowledgement."
    )
    mean_minutes_to_plan: float | None = strawberry.field(
        description="Mean clock minutes from report to the proposed plan (pauses excluded)."
    )
    p90_minutes_to_plan: float | None = strawberry.field(
        description="90th percentile of the clock minutes to the proposed plan."
    )

    @classmethod
    def from_model(cls, row: models.SlaReportRow) -> SlaReportRow:
        return cls(**{**row.__dict__, "key": strawberry.ID(row.key)})
