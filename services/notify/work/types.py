"""GraphQL types of myWork."""

from __future__ import annotations

from datetime import datetime

import strawberry

from services.notify.types import CollabRequest
from services.notify.work.models import KindCount, StoredWorkItem, WorkClockState, WorkState
from shared.events.contracts.work import WORK_KINDS, WorkKind, WorkRole, WorkTarget
from shared.graphql.enums import described_enum

described_enum(WorkKind, "What is asked of the caller.", WORK_KINDS)
strawberry.enum(WorkRole, description="The handbook role that makes an item the caller's.")
strawberry.enum(
    WorkTarget, description="The kind of record `targetId` names: open it with that query."
)
strawberry.enum(
    WorkState,
    description="OVERDUE once due (never while its clock is paused); AT_RISK from the owning"
    " service's warning moment (an SLA clock's warning, a day before a task's due time, ...).",
)
strawberry.enum(WorkClockState, description="The state of the SLA clock behind a due time.")


@strawberry.type(description="One thing the caller must do now.")
class WorkItem:
    id: strawberry.ID = strawberry.field(description="Stable while the item lasts.")
    kind: WorkKind = strawberry.field(description="What is asked.")
    role: WorkRole = strawberry.field(description="Why it is the caller's.")
    title: str = strawberry.field(description="The record's code (if any) and title.")
    target: WorkTarget = strawberry.field(description="What `targetId` is.")
    target_id: strawberry.ID = strawberry.field(
        description="The record to open: `task(id)`, `issue(id)`, `request(id)`, a"
        " secondment or `meeting(id)`."
    )
    request: CollabRequest | None = strawberry.field(description="The request the item belongs to.")
    due_at: datetime | None = strawberry.field(description="When it is due; null: no due time.")
    state: WorkState = strawberry.field(description="On track, at risk or overdue, now.")
    sla_state: WorkClockState | None = strawberry.field(
        description="The SLA clock behind `dueAt`, if it is one."
    )
    urgent: bool = strawberry.field(description="Urgent (green channel, an emergency).")
    since: datetime = strawberry.field(
        description="When it became the caller's (or their department's)."
    )

    @classmethod
    def from_model(cls, item: StoredWorkItem, now: datetime) -> WorkItem:
        return cls(
            id=strawberry.ID(item.id),
            kind=item.kind,
            role=item.role,
            title=item.title,
            target=item.target,
            target_id=strawberry.ID(item.target_id),
            request=CollabRequest(id=strawberry.ID(item.request_id)) if item.request_id else None,
            due_at=item.due_at,
            state=item.state(now),
            sla_state=item.clock_state(now),
            urgent=item.urgency == 0,
            since=item.since,
        )


@strawberry.type(description="The caller's items of one kind.")
class WorkKindSummary:
    kind: WorkKind = strawberry.field(description="The kind.")
    count: int = strawberry.field(description="How many.")
    overdue: int = strawberry.field(description="How many of them are overdue.")
    at_risk: int = strawberry.field(description="How many are at risk, not yet overdue.")


@strawberry.type(description="Counts of `myWork` for badges, cheap to poll.")
class WorkSummary:
    total: int = strawberry.field(description="Every item of `myWork`.")
    overdue: int = strawberry.field(description="Items overdue.")
    at_risk: int = strawberry.field(description="Items at risk, not yet overdue.")
    by_kind: list[WorkKindSummary] = strawberry.field(
        description="Per kind the caller has items of, by kind."
    )

    @classmethod
    def from_counts(cls, counts: list[KindCount]) -> WorkSummary:
        return cls(
            total=sum(c.count for c in counts),
            overdue=sum(c.overdue for c in counts),
            at_risk=sum(c.at_risk for c in counts),
            by_kind=[
                WorkKindSummary(kind=c.kind, count=c.count, overdue=c.overdue, at_risk=c.at_risk)
                for c in counts
            ],
        )
