"""Meeting queries and mutations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from services.requests.directory import repository as directory
from services.requests.meetings import models, service
from services.requests.meetings.invite import may_see_meeting
from services.requests.meetings.slots import SlotQuery, suggest_meeting_slots
from services.requests.meetings.types import (
    Meeting,
    MeetingSlot,
    MeetingSlotSuggestions,
    load_meetings,
)
from shared.graphql.context import Info
from shared.graphql.errors import UserError, run_mutation
from shared.graphql.permissions import NotPartner

MAX_SLOTS = 50


@strawberry.input(description="An agenda item.")
class AgendaItemInput:
    title: str = strawberry.field(description="Topic.")
    minutes: int = strawberry.field(description="Minutes given to it (> 0).")
    presenter_id: strawberry.ID | None = strawberry.field(default=None, description="Presenter.")


@strawberry.input(description="A person to invite.")
class AttendeeInput:
    person_id: strawberry.ID = strawberry.field(description="The person.")
    required: bool = strawberry.field(default=True, description="Required or optional.")


@strawberry.input(description="A new meeting of a request (lead department).")
class ScheduleMeetingInput:
    request_id: strawberry.ID = strawberry.field(description="The request.")
    kind: models.MeetingKind = strawberry.field(description="What the meeting is for.")
    title: str = strawberry.field(description="Title shown in calendars.")
    starts_at: datetime = strawberry.field(description="Start, with offset.")
    ends_at: datetime = strawberry.field(description="End, with offset.")
    mode: models.MeetingMode = strawberry.field(description="Online, in person or hybrid.")
    join_url: str | None = strawberry.field(default=None, description="Needed online.")
    location: str | None = strawberry.field(default=None, description="Needed in person.")
    agenda: list[AgendaItemInput] = strawberry.field(
        default_factory=list, description="Agenda items; their minutes must fit the meeting."
    )
    attendees: list[AttendeeInput] = strawberry.field(
        description="Invited people (at least one required)."
    )

    def to_command(self) -> models.NewMeeting:
        return models.NewMeeting(
            request_id=self.request_id,
            kind=self.kind,
            title=self.title,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            mode=self.mode,
            join_url=self.join_url,
            location=self.location,
            agenda=tuple(
                models.AgendaItem(a.title, a.presenter_id, a.minutes) for a in self.agenda
            ),
            attendees=tuple(models.Attendee(a.person_id, a.required) for a in self.attendees),
        )


@strawberry.input(description="New times for a scheduled meeting.")
class RescheduleMeetingInput:
    meeting_id: strawberry.ID = strawberry.field(description="The meeting.")
    starts_at: datetime = strawberry.field(description="New start.")
    ends_at: datetime = strawberry.field(description="New end.")


@strawberry.input(description="A meeting to act on.")
class MeetingInput:
    meeting_id: strawberry.ID = strawberry.field(description="The meeting.")


@strawberry.input(description="Background material to send with the agenda.")
class MaterialInput:
    title: str = strawberry.field(description="What it is.")
    url: str = strawberry.field(description="http(s) link.")


@strawberry.input(description="Send the agenda and materials to the attendees.")
class SendAgendaInput:
    meeting_id: strawberry.ID = strawberry.field(description="The meeting.")
    materials: list[MaterialInput] = strawberry.field(
        default_factory=list, description="Background materials."
    )


@strawberry.input(description="An action item of the minutes.")
class ActionItemInput:
    title: str = strawberry.field(description="What is to be done.")
    owner_id: strawberry.ID = strawberry.field(description="Who owns it.")
    department_id: strawberry.ID = strawberry.field(description="Department answering for it.")
    due_at: datetime = strawberry.field(description="By when.")


@strawberry.input(description="Minutes of a meeting (handbook template 4).")
class PublishMinutesInput:
    meeting_id: strawberry.ID = strawberry.field(description="The meeting.")
    summary: str = strawberry.field(description="What was discussed.")
    decisions: list[str] = strawberry.field(default_factory=list, description="Decisions.")
    action_items: list[ActionItemInput] = strawberry.field(
        default_factory=list, description="Follow-ups; each becomes a task."
    )


@strawberry.type(description="Result of a meeting mutation.")
class MeetingPayload:
    meeting: Meeting | None = strawberry.field(default=None, description="The meeting.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.type
class MeetingQuery:
    @strawberry.field(description="One meeting, if the caller sees its request or is invited.")
    async def meeting(self, info: Info, id: strawberry.ID) -> Meeting | None:
        found = await info.context.loader(load_meetings).load(id)
        if found is None:
            return None
        async with info.context.runtime.pool.acquire() as conn:
            visible = await may_see_meeting(conn, info.context.principal, found)
        return Meeting.from_model(found) if visible else None

    @strawberry.field(
        description="Slots in which every attendee is inside their region's working hours.",
        permission_classes=[NotPartner],
    )
    async def suggest_meeting_slots(
        self,
        info: Info,
        attendee_ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="Required attendees.")
        ],
        duration_minutes: Annotated[int, strawberry.argument(description="Meeting length.")],
        from_: Annotated[
            datetime, strawberry.argument(name="from", description="Earliest start (offset).")
        ],
        to: Annotated[datetime, strawberry.argument(description="Latest end (offset).")],
        optional_attendee_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="Optional attendees; slots fitting more rank first."),
        ] = None,
        limit: Annotated[int, strawberry.argument(description="At most this many (<= 50).")] = 10,
    ) -> MeetingSlotSuggestions:
        runtime = info.context.runtime
        query = SlotQuery(
            tuple(attendee_ids),
            tuple(optional_attendee_ids or ()),
            duration_minutes,
            from_,
            to,
            max(1, min(limit, MAX_SLOTS)),
        )
        async with runtime.pool.acquire() as conn:
            found = await suggest_meeting_slots(conn, runtime.settings, query)
            people = await directory.people_by_ids(conn, list(query.required_ids))
        zones = {pid: people[pid].time_zone for pid in query.required_ids if pid in people}
        return MeetingSlotSuggestions(
            slots=[MeetingSlot.from_slot(s, zones) for s in found.slots],
            reason_code=found.reason_code,
            reason=found.reason,
        )


@strawberry.type
class MeetingMutation:
    @strawberry.mutation(description="Schedule a meeting; minutes fall due 24 h after its end.")
    async def schedule_meeting(self, info: Info, input: ScheduleMeetingInput) -> MeetingPayload:
        ctx = info.context
        action = service.schedule_meeting(ctx.runtime, ctx.principal, input.to_command())
        return await run_mutation(MeetingPayload, "meeting", action, Meeting.from_model)

    @strawberry.mutation(description="Move a scheduled meeting; its minutes deadline follows.")
    async def reschedule_meeting(self, info: Info, input: RescheduleMeetingInput) -> MeetingPayload:
        ctx = info.context
        action = service.reschedule_meeting(
            ctx.runtime, ctx.principal, input.meeting_id, input.starts_at, input.ends_at
        )
        return await run_mutation(MeetingPayload, "meeting", action, Meeting.from_model)

    @strawberry.mutation(description="Cancel a scheduled meeting (its invite becomes a CANCEL).")
    async def cancel_meeting(self, info: Info, input: MeetingInput) -> MeetingPayload:
        ctx = info.context
        action = service.cancel_meeting(ctx.runtime, ctx.principal, input.meeting_id)
        return await run_mutation(MeetingPayload, "meeting", action, Meeting.from_model)

    @strawberry.mutation(description="Record that the agenda and materials went out.")
    async def send_agenda(self, info: Info, input: SendAgendaInput) -> MeetingPayload:
        ctx = info.context
        materials = [models.Material(m.title, m.url) for m in input.materials]
        action = service.send_agenda(ctx.runtime, ctx.principal, input.meeting_id, materials)
        return await run_mutation(MeetingPayload, "meeting", action, Meeting.from_model)

    @strawberry.mutation(
        description="Publish minutes; each action item is sent to the tasks service."
    )
    async def publish_minutes(self, info: Info, input: PublishMinutesInput) -> MeetingPayload:
        ctx = info.context
        items = [
            models.ActionItemDraft(i.title, i.owner_id, i.department_id, i.due_at)
            for i in input.action_items
        ]
        action = service.publish_minutes(
            ctx.runtime, ctx.principal, input.meeting_id, input.summary, input.decisions, items
        )
        return await run_mutation(MeetingPayload, "meeting", action, Meeting.from_model)
