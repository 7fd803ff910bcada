"""GraphQL inputs and payloads of the issues subgraph's mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry

from services.issues import models
from services.issues.repository import ListFilter
from services.issues.types import Issue
from shared.graphql.errors import PublicError, UserError


@strawberry.input(description="A problem to log against a request (handbook template 5).")
class ReportIssueInput:
    request_id: strawberry.ID = strawberry.field(description="The request it concerns.")
    title: str = strawberry.field(description="Short statement of the problem (1-200 chars).")
    severity: models.Severity = strawberry.field(description="How badly it hurts.")
    task_id: strawberry.ID | None = strawberry.field(
        default=None, description="The task it blocks, if any."
    )
    description: str = strawberry.field(default="", description="What happened, in detail.")
    impact: str = strawberry.field(default="", description="What it affects and how badly.")
    urgent: bool = strawberry.field(
        default=False, description="Green channel: the plan is due within 2 hours."
    )
    attempted_measures: str = strawberry.field(
        default="", description="What was tried before reporting."
    )
    reporting_department_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The reporter's department it is reported for (default: the first of"
        " theirs that takes part in the request).",
    )
    lead_department_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The department that will acknowledge and verify the issue (default: the"
        " request's lead). It must be in the directory (DEPARTMENT_NOT_FOUND) and take part"
        " in the request (LEAD_NOT_IN_REQUEST).",
    )

    def to_command(self) -> models.NewIssue:
        return models.NewIssue(
            request_id=self.request_id,
            title=self.title,
            severity=self.severity,
            task_id=self.task_id,
            description=self.description,
            impact=self.impact,
            urgent=self.urgent,
            attempted_measures=self.attempted_measures,
            reporting_department_id=self.reporting_department_id,
            lead_department_id=self.lead_department_id,
        )


@strawberry.input(description="The lead department takes the issue on (stops RESPONSE).")
class AcknowledgeIssueInput:
    issue_id: strawberry.ID = strawberry.field(description="The issue.")
    responsible_department_id: strawberry.ID | None = strawberry.field(
        default=None, description="Department that will plan and resolve (default: the lead)."
    )
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Person of the responsible department who owns it."
    )
    comment: str = strawberry.field(default="", description="Note for the timeline.")

    def to_move(self) -> models.Move:
        return models.Move(
            issue_id=self.issue_id,
            comment=self.comment,
            responsible_department_id=self.responsible_department_id,
            owner_id=self.owner_id,
        )


@strawberry.input(description="The responsible department's plan (stops PLAN).")
class ProposePlanInput:
    issue_id: strawberry.ID = strawberry.field(description="The issue.")
    plan: str = strawberry.field(description="What will be done, by whom, by when.")
    comment: str = strawberry.field(default="", description="Note for the timeline.")

    def to_move(self) -> models.Move:
        return models.Move(issue_id=self.issue_id, plan=self.plan, comment=self.comment)


@strawberry.input(description="A move that needs only the issue and an optional comment.")
class IssueMoveInput:
    issue_id: strawberry.ID = strawberry.field(description="The issue.")
    comment: str = strawberry.field(
        default="", description="Note for the timeline; required as the reason when waiting."
    )

    def to_move(self) -> models.Move:
        return models.Move(issue_id=self.issue_id, comment=self.comment)


@strawberry.input(description="The responsible department closes the loop.")
class ResolveIssueInput:
    issue_id: strawberry.ID = strawberry.field(description="The issue.")
    resolution: str = strawberry.field(description="What was done and the result.")
    comment: str = strawberry.field(default="", description="Note for the timeline.")

    def to_move(self) -> models.Move:
        return models.Move(issue_id=self.issue_id, resolution=self.resolution, comment=self.comment)


@strawberry.input(description="The lead department's verdict on the resolution.")
class VerifyResolutionInput:
    issue_id: strawberry.ID = strawberry.field(description="The issue.")
    accepted: bool = strawberry.field(
        description="True: verified. False: back to IN_PROGRESS with `comment` as the reason."
    )
    comment: str = strawberry.field(default="", description="Required when not accepted.")

    def to_move(self) -> models.Move:
        return models.Move(issue_id=self.issue_id, accepted=self.accepted, comment=self.comment)


@strawberry.input(description="Hand the issue to another responsible department or owner.")
class ReassignIssueInput:
    issue_id: strawberry.ID = strawberry.field(description="The issue.")
    responsible_department_id: strawberry.ID = strawberry.field(
        description="The new responsible department; running clocks switch to its region."
    )
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Its member who owns the issue."
    )
    comment: str = strawberry.field(default="", description="Note for the timeline.")

    def to_move(self) -> models.Move:
        return models.Move(
            issue_id=self.issue_id,
            comment=self.comment,
            responsible_department_id=self.responsible_department_id,
            owner_id=self.owner_id,
        )


@strawberry.input(description="Escalate one level by hand.")
class EscalateIssueInput:
    issue_id: strawberry.ID = strawberry.field(description="The issue.")
    reason: str = strawberry.field(description="Why it needs the next level's attention.")

    def to_move(self) -> models.Move:
        return models.Move(issue_id=self.issue_id, comment=self.reason)


@strawberry.input(description="Which issues to list; every given condition must hold.")
class IssueFilter:
    statuses: list[models.IssueStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )
    request_id: strawberry.ID | None = strawberry.field(
        default=None, description="On this request."
    )
    responsible_department_id: strawberry.ID | None = strawberry.field(
        default=None, description="With this responsible department."
    )
    urgent: bool | None = strawberry.field(default=None, description="Urgent or not.")
    text: str | None = strawberry.field(
        default=None,
        description="Words that must all occur in the issue's code, title or description"
        " (separated by spaces; Chinese and other scripts alike, any case; a code such as"
        " `ISS-2026-0001` finds its issue). Empty: no condition.",
    )
    severities: list[models.Severity] | None = strawberry.field(
        default=None, description="Any of these severities."
    )
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Owned by this person."
    )
    reporter_id: strawberry.ID | None = strawberry.field(
        default=None, description="Reported by this person."
    )
    lead_department_id: strawberry.ID | None = strawberry.field(
        default=None, description="With this lead department."
    )
    region_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Whose responsible department is in this region (the region whose working"
        " hours its SLA clocks count in).",
    )
    clock_states: list[models.IssueClockState] | None = strawberry.field(
        default=None,
        description="With an SLA clock not yet stopped (its step not done) in any of these"
        " states, as of the time of the query.",
    )
    reported_after: datetime | None = strawberry.field(
        default=None, description="Reported at or after this instant (inclusive)."
    )
    reported_before: datetime | None = strawberry.field(
        default=None,
        description="Reported before this instant (exclusive); not before `reportedAfter`"
        " (BAD_USER_INPUT).",
    )

    def to_filter(self) -> ListFilter:
        """As the repository reads it; an inverted range of report times is refused."""
        chosen = ListFilter(
            statuses=self.statuses,
            request_id=self.request_id,
            responsible_department_id=self.responsible_department_id,
            urgent=self.urgent,
            text=self.text,
            severities=self.severities,
            owner_id=self.owner_id,
            reporter_id=self.reporter_id,
            lead_department_id=self.lead_department_id,
            region_id=self.region_id,
            clock_states=self.clock_states,
            reported_after=self.reported_after,
            reported_before=self.reported_before,
        )
        if chosen.inverted:
            raise PublicError("`reportedBefore` is earlier than `reportedAfter`")
        return chosen


@strawberry.type(description="Result of `reportIssue`.")
class ReportIssuePayload:
    issue: Issue | None = strawberry.field(default=None, description="The logged issue.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.type(description="Result of a lifecycle move or an escalation.")
class IssuePayload:
    issue: Issue | None = strawberry.field(
        default=None, description="The issue after the change; null if refused."
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")
