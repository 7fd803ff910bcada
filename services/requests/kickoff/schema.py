"""Mutations for the communication plan and the risk register."""

from __future__ import annotations

from datetime import time

import strawberry

from services.requests.kickoff import models, service
from services.requests.kickoff.types import CommunicationPlan, Risk
from shared.graphql.context import Info
from shared.graphql.errors import UserError, run_mutation


@strawberry.input(description="The communication plan agreed at the kickoff.")
class SetCommunicationPlanInput:
    request_id: strawberry.ID = strawberry.field(description="The request.")
    meeting_cadence: str = strawberry.field(description="e.g. `weekly progress meeting, Mon`.")
    channels: list[str] = strawberry.field(description="Tools used (at least one).")
    report_template: str = strawberry.field(description="Progress report template.")
    report_cadence: models.ReportCadence = strawberry.field(
        default=models.ReportCadence.WEEKLY, description="Weekly or monthly."
    )
    report_deadline_weekday: int = strawberry.field(
        default=5, description="ISO weekday reports are due (5 = Friday)."
    )
    report_deadline_time: time = strawberry.field(
        default=time(17), description="Local time reports are due."
    )
    time_zone: str | None = strawberry.field(
        default=None, description="Zone of the deadline; default the lead department's region."
    )


@strawberry.input(description="A risk of the register.")
class RiskInput:
    description: str = strawberry.field(description="What could go wrong.")
    likelihood: models.Level = strawberry.field(description="How likely.")
    impact: models.Level = strawberry.field(description="How bad.")
    mitigation: str = strawberry.field(description="What is done about it.")
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="Who watches it.")
    status: models.RiskStatus = strawberry.field(
        default=models.RiskStatus.OPEN, description="Open, mitigated or closed."
    )

    def to_draft(self) -> models.RiskDraft:
        return models.RiskDraft(
            self.description,
            self.likelihood,
            self.impact,
            self.mitigation,
            self.owner_id,
            self.status,
        )


@strawberry.input(description="Add a risk to a request's register.")
class AddRiskInput:
    request_id: strawberry.ID = strawberry.field(description="The request.")
    risk: RiskInput = strawberry.field(description="The risk.")


@strawberry.input(description="Replace a risk of the register.")
class UpdateRiskInput:
    risk_id: strawberry.ID = strawberry.field(description="The risk.")
    risk: RiskInput = strawberry.field(description="Its new state.")


@strawberry.type(description="Result of `setCommunicationPlan`.")
class CommunicationPlanPayload:
    communication_plan: CommunicationPlan | None = strawberry.field(
        default=None, description="The saved plan."
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.type(description="Result of a risk mutation.")
class RiskPayload:
    risk: Risk | None = strawberry.field(default=None, description="The saved risk.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


async def _plan(info: Info, input: SetCommunicationPlanInput) -> models.CommunicationPlan:
    ctx = info.context
    zone = input.time_zone or await service.lead_time_zone(ctx.runtime, input.request_id) or "UTC"
    plan = models.CommunicationPlan(
        request_id=input.request_id,
        meeting_cadence=input.meeting_cadence,
        channels=tuple(c.strip() for c in input.channels if c.strip()),
        report_template=input.report_template,
        report_cadence=input.report_cadence,
        report_deadline_weekday=input.report_deadline_weekday,
        report_deadline_time=input.report_deadline_time,
        time_zone=zone,
        updated_by=ctx.principal.sub,
    )
    return await service.set_communication_plan(ctx.runtime, ctx.principal, plan)


@strawberry.type
class KickoffMutation:
    @strawberry.mutation(
        description="Set the communication plan (lead department); the tasks service learns "
        "when progress reports are due."
    )
    async def set_communication_plan(
        self, info: Info, input: SetCommunicationPlanInput
    ) -> CommunicationPlanPayload:
        return await run_mutation(
            CommunicationPlanPayload,
            "communication_plan",
            _plan(info, input),
            CommunicationPlan.from_model,
        )

    @strawberry.mutation(description="Add a risk to the register (lead department).")
    async def add_risk(self, info: Info, input: AddRiskInput) -> RiskPayload:
        ctx = info.context
        action = service.add_risk(
            ctx.runtime, ctx.principal, input.request_id, input.risk.to_draft()
        )
        return await run_mutation(RiskPayload, "risk", action, Risk.from_model)

    @strawberry.mutation(description="Change a risk, e.g. mark it mitigated (lead department).")
    async def update_risk(self, info: Info, input: UpdateRiskInput) -> RiskPayload:
        ctx = info.context
        action = service.update_risk(
            ctx.runtime, ctx.principal, input.risk_id, input.risk.to_draft()
        )
        return await run_mutation(RiskPayload, "risk", action, Risk.from_model)
