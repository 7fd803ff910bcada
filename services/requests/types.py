"""GraphQL object types of the requests subgraph and the DataLoaders behind their relations."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from services.requests import models
from services.requests import repository as repo
from services.requests.acceptance import repository as acceptance_repo
from services.requests.directory.types import (
    Department,
    Person,
    department_of,
    department_or_none,
    load_departments,
    person_or_none,
)
from services.requests.kickoff import repository as kickoff_repo
from services.requests.meetings import repository as meetings_repo
from shared.graphql.child_pages import After, First, child_connection, page_of
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.enums import described_enum
from shared.graphql.errors import UserError
from shared.graphql.loaders import many_per_key, one_per_key
from shared.graphql.pagination import Connection

if TYPE_CHECKING:
    from services.requests.acceptance.types import Acceptance, Lesson
    from services.requests.folders.schema import DocumentFolder
    from services.requests.kickoff.types import ChannelName, CommunicationPlan, Risk
    from services.requests.meetings.types import Meeting

KICKOFF = "services.requests.kickoff.types"
ACCEPTANCE = "services.requests.acceptance.types"

# Registering the domain enums lets GraphQL fields use them directly.
strawberry.enum(models.RequestKind, description="The handbook's four scenarios.")
strawberry.enum(models.RequestStatus, description="Where a request is in its lifecycle.")
strawberry.enum(models.Phase, description="Collaboration phase; used in channel names.")
strawberry.enum(models.ResourceKind, description="What sort of resource is needed.")
strawberry.enum(models.ChannelLanguage, description="Language of phase labels in channel names.")
strawberry.enum(models.GoalDirection, description="Met at or above, or at or below the target.")
described_enum(
    models.RequestSort,
    "Orders of the `requests` list; each breaks ties by id, so pages never skip or repeat a"
    " request.",
    {
        "CREATED_NEWEST": "Newest first (creation order, latest first).",
        "CREATED_OLDEST": "Oldest first (creation order).",
        "UPDATED_NEWEST": "Most recently edited or moved first.",
        "NEAREST_MILESTONE": "Soonest milestone first: the earliest due day of a milestone"
        " whose day has not ended in the lead department's region. Requests with none ahead,"
        " and REJECTED, CLOSED or CANCELLED ones, last.",
    },
)


# --- loaders: one query per relation per request, whatever the page size ---------------------


load_requests = one_per_key(repo.requests_by_ids)


load_resource_needs = many_per_key(repo.resource_needs_by_request_ids)


load_participants = many_per_key(repo.participants_by_request_ids)


load_milestones = many_per_key(repo.milestones_by_request_ids)


load_goals = many_per_key(repo.goals_by_request_ids)


# --- requests -------------------------------------------------------------------------------


@strawberry.type(description="A quantified goal: metric, target, unit and due date.")
class Goal:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    metric: str = strawberry.field(description="What is measured, e.g. `sales revenue`.")
    target: Decimal = strawberry.field(description="The number to reach.")
    unit: str = strawberry.field(description="Unit of the target, e.g. `CNY`.")
    due_date: date = strawberry.field(description="Calendar day by which the target is due.")
    regions: list[str] = strawberry.field(description="Region codes the goal applies to.")
    direction: models.GoalDirection = strawberry.field(
        description="AT_LEAST: met by reaching the target; AT_MOST: met by staying under it."
    )
    actual: Decimal | None = strawberry.field(
        description="Value reached, recorded at acceptance; null before."
    )
    met: bool | None = strawberry.field(
        description="Whether the actual meets the target within the request's tolerance."
    )
    recorded_at: datetime | None = strawberry.field(description="When the actual was recorded.")

    @classmethod
    def from_model(cls, goal: models.Goal) -> Goal:
        return cls(
            id=strawberry.ID(goal.id),
            metric=goal.metric,
            # Fixed-point text (2000000, not 2.00E+6), whatever exponent the input had.
            target=Decimal(format(goal.target, "f")),
            unit=goal.unit,
            due_date=goal.due_date,
            regions=list(goal.regions),
            direction=goal.direction,
            actual=Decimal(format(goal.actual, "f")) if goal.actual is not None else None,
            met=goal.met,
            recorded_at=goal.recorded_at,
        )


@strawberry.type(description="A time node of the request, inside its start and end dates.")
class Milestone:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    title: str = strawberry.field(description="What is reached by then.")
    due_date: date = strawberry.field(description="Calendar day of the milestone.")

    @classmethod
    def from_model(cls, m: models.Milestone) -> Milestone:
        return cls(id=strawberry.ID(m.id), title=m.title, due_date=m.due_date)


@strawberry.type(description="One recorded move or edit of a request.")
class HistoryEntry:
    action: str = strawberry.field(
        description="CREATED, EDITED, SUBMITTED, APPROVED, REJECTED, CHANGES_REQUESTED, "
        "ACTIVATED, ACCEPTANCE_STARTED, ACCEPTANCE_RECORDED, TOLERANCE_SET, CLOSED, CANCELLED."
    )
    from_status: models.RequestStatus | None = strawberry.field(
        description="Status before the move (null on creation)."
    )
    to_status: models.RequestStatus = strawberry.field(description="Status after the move.")
    comment: str = strawberry.field(description="What the actor wrote, possibly empty.")
    at: datetime = strawberry.field(description="When it happened.")
    actor_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, e: models.HistoryEntry) -> HistoryEntry:
        return cls(
            action=e.action,
            from_status=e.from_status,
            to_status=e.to_status,
            comment=e.comment,
            at=e.at,
            actor_id=e.actor_id,
        )

    @strawberry.field(
        description="Who made the move.",
        metadata=sql.to_one("people", "{target}.id = {row}.actor_id"),
    )
    async def actor(self, info: Info) -> Person | None:
        return await person_or_none(info, self.actor_id)


@strawberry.type(description="A concrete resource the request needs, e.g. 150,000 CNY budget.")
class ResourceNeed:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    kind: models.ResourceKind = strawberry.field(description="Budget, headcount, equipment...")
    description: str = strawberry.field(description="What exactly is needed.")
    quantity: Decimal = strawberry.field(description="How much.")
    unit: str = strawberry.field(description="Unit of the quantity, e.g. `CNY`, `person`.")
    provider_department_id: strawberry.Private[str | None]

    @classmethod
    def from_model(cls, need: models.ResourceNeed) -> ResourceNeed:
        return cls(
            id=strawberry.ID(need.id),
            kind=need.kind,
            description=need.description,
            quantity=Decimal(format(need.quantity, "f")),
            unit=need.unit,
            provider_department_id=need.provider_department_id,
        )

    @strawberry.field(description="The department expected to provide it, if agreed.")
    async def provider_department(self, info: Info) -> Department | None:
        return await department_or_none(info, self.provider_department_id)


@sql.entity(repo.request_entity)
@strawberry.federation.type(
    keys=["id"], description="A cross-department collaboration request (handbook template 1)."
)
class CollabRequest:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    code: str = strawberry.field(description="Readable code, e.g. `CR-2026-0001`.")
    kind: models.RequestKind = strawberry.field(description="Scenario of the collaboration.")
    title: str = strawberry.field(description="Short title; also the start of channel names.")
    background: str = strawberry.field(description="Why the collaboration is needed.")
    status: models.RequestStatus = strawberry.field(description="Lifecycle status.")
    phase: models.Phase = strawberry.field(description="Current collaboration phase.")
    created_at: datetime = strawberry.field(description="When the request was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    starts_on: date | None = strawberry.field(description="First day of the collaboration.")
    ends_on: date | None = strawberry.field(description="Last day of the collaboration.")
    lead_department_id: strawberry.Private[str]
    approver_id: strawberry.Private[str | None]
    tolerance: strawberry.Private[Decimal]

    @classmethod
    def from_model(cls, r: models.CollabRequest) -> CollabRequest:
        return cls(
            id=strawberry.ID(r.id),
            code=r.code,
            kind=r.kind,
            title=r.title,
            background=r.background,
            status=r.status,
            phase=r.phase,
            created_at=r.created_at,
            updated_at=r.updated_at,
            starts_on=r.starts_on,
            ends_on=r.ends_on,
            lead_department_id=r.lead_department_id,
            approver_id=r.approver_id,
            tolerance=r.acceptance_tolerance_percent,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> CollabRequest | None:
        return await visible_request(info, id)

    @strawberry.field(
        description="The department that leads and answers for the request.",
        metadata=sql.to_one("departments", "{target}.id = {row}.lead_department_id"),
    )
    async def lead_department(self, info: Info) -> Department:
        return await department_of(info, self.lead_department_id)

    @strawberry.field(
        description="Participating departments besides the lead.",
        metadata=sql.to_many(
            "(SELECT p.request_id, d.* FROM request_participants p"
            " JOIN departments d ON d.id = p.department_id)",
            "{target}.request_id = {row}.id",
            order="{target}.id",
        ),
    )
    async def participants(self, info: Info) -> list[Department]:
        ids = await info.context.loader(load_participants).load(self.id)
        found = await info.context.loader(load_departments).load_many(ids)
        return [Department.from_model(d) for d in found if d is not None]

    @strawberry.field(
        description="Quantified goals, in the order given.",
        metadata=sql.to_many("goals", "{target}.request_id = {row}.id", "{target}.position"),
    )
    async def goals(self, info: Info) -> list[Goal]:
        return [Goal.from_model(g) for g in await info.context.loader(load_goals).load(self.id)]

    @strawberry.field(description="Resources the request needs, in the order given.")
    async def resource_needs(self, info: Info) -> list[ResourceNeed]:
        needs = await info.context.loader(load_resource_needs).load(self.id)
        return [ResourceNeed.from_model(n) for n in needs]

    @strawberry.field(
        description="The director or PMO member who decides the request.",
        metadata=sql.to_one("people", "{target}.id = {row}.approver_id"),
    )
    async def approver(self, info: Info) -> Person | None:
        return await person_or_none(info, self.approver_id)

    @strawberry.field(
        description="Time nodes inside the request's span, in the order given.",
        metadata=sql.to_many("milestones", "{target}.request_id = {row}.id", "{target}.position"),
    )
    async def milestones(self, info: Info) -> list[Milestone]:
        found = await info.context.loader(load_milestones).load(self.id)
        return [Milestone.from_model(m) for m in found]

    @strawberry.field(
        description="Meetings of the request, earliest start first, 20 per page by default.",
        metadata=sql.nested_connection(meetings_repo.MEETINGS_OF_REQUESTS),
    )
    async def meetings(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Annotated[Meeting, strawberry.lazy("services.requests.meetings.types")]]:
        from services.requests.meetings.types import Meeting

        page = page_of(info, first, after)
        return await child_connection(
            info, meetings_repo.MEETINGS_OF_REQUESTS, self.id, page, Meeting.from_model
        )

    @strawberry.field(description="Communication plan agreed at the kickoff, if set.")
    async def communication_plan(
        self, info: Info
    ) -> Annotated[CommunicationPlan, strawberry.lazy(KICKOFF)] | None:
        from services.requests.kickoff.types import CommunicationPlan, load_plans

        found = await info.context.loader(load_plans).load(self.id)
        return CommunicationPlan.from_model(found) if found else None

    @strawberry.field(
        description="The risk register, oldest first, 20 per page by default.",
        metadata=sql.nested_connection(kickoff_repo.RISKS),
    )
    async def risks(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Annotated[Risk, strawberry.lazy(KICKOFF)]]:
        from services.requests.kickoff.types import Risk

        page = page_of(info, first, after)
        return await child_connection(info, kickoff_repo.RISKS, self.id, page, Risk.from_model)

    @strawberry.field(
        description="Chat channel names `[title]-[phase]-[department]` for every phase and "
        "taking-part department (lead first); titles over 16 characters are cut to 15 plus `…`."
    )
    async def channel_names(
        self,
        info: Info,
        language: Annotated[
            models.ChannelLanguage,
            strawberry.argument(description="ZH (default: 筹备, 执行, 验收, 收尾) or EN."),
        ] = models.ChannelLanguage.ZH,
    ) -> list[Annotated[ChannelName, strawberry.lazy(KICKOFF)]]:
        from services.requests.kickoff.channels import channel_names
        from services.requests.kickoff.types import ChannelName

        participants = await info.context.loader(load_participants).load(self.id)
        ids = [self.lead_department_id, *participants]
        found = await info.context.loader(load_departments).load_many(ids)
        departments = [d for d in found if d is not None]
        names = channel_names(self.title, departments, language)
        return [
            ChannelName(name=n.name, phase=n.phase, department_id=n.department_id) for n in names
        ]

    @strawberry.field(description="Acceptance against the goals, once it has started.")
    def acceptance(self) -> Annotated[Acceptance, strawberry.lazy(ACCEPTANCE)] | None:
        from services.requests.acceptance.types import Acceptance

        started = self.status in (models.RequestStatus.IN_ACCEPTANCE, models.RequestStatus.CLOSED)
        return Acceptance(tolerance_percent=self.tolerance, request_id=self.id) if started else None

    @strawberry.field(
        description="Lessons learned on this request, oldest first, 20 per page by default.",
        metadata=sql.nested_connection(acceptance_repo.LESSONS_OF_REQUESTS),
    )
    async def lessons(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Annotated[Lesson, strawberry.lazy(ACCEPTANCE)]]:
        from services.requests.acceptance.types import Lesson

        page = page_of(info, first, after)
        return await child_connection(
            info, acceptance_repo.LESSONS_OF_REQUESTS, self.id, page, Lesson.from_model
        )

    @strawberry.field(
        description="Document folders the caller is on a view or edit list of (PMO and ADMIN:"
        " every folder), by path, 20 per page by default."
    )
    async def folders(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Annotated[DocumentFolder, strawberry.lazy("services.requests.folders.schema")]]:
        from services.requests.folders.schema import visible_folders

        return await visible_folders(info, self.id, page_of(info, first, after))

    @strawberry.field(
        description="Every move and edit, oldest first: who, when, why; 20 per page by default.",
        metadata=sql.nested_connection(repo.HISTORY),
    )
    async def history(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[HistoryEntry]:
        page = page_of(info, first, after)
        return await child_connection(info, repo.HISTORY, self.id, page, HistoryEntry.from_model)

    @strawberry.field(
        description="The approver's decisions (approve, reject, request changes), oldest "
        "first, with their comments, 20 per page by default; meeting decisions are in each "
        "meeting's minutes.",
        metadata=sql.nested_connection(repo.DECISIONS),
    )
    async def decisions(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[HistoryEntry]:
        page = page_of(info, first, after)
        return await child_connection(info, repo.DECISIONS, self.id, page, HistoryEntry.from_model)


async def visible_request(info: Info, request_id: str) -> CollabRequest | None:
    """The request, if it exists and one of the caller's departments takes part (or the
    caller is its named approver, who must read it to decide it)."""
    request = await info.context.loader(load_requests).load(request_id)
    if request is None:
        return None
    principal = info.context.principal
    if not principal.sees_everything and request.approver_id != principal.sub:
        participants = await info.context.loader(load_participants).load(request_id)
        if not principal.may_see([request.lead_department_id, *participants]):
            return None
    return CollabRequest.from_model(request)


@strawberry.type(description="Result of a change to a request (edit or status move).")
class RequestPayload:
    request: CollabRequest | None = strawberry.field(
        default=None, description="The request after the change; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")
