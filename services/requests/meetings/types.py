"""GraphQL types of meetings, minutes and slot suggestions, and their DataLoaders."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import strawberry

from services.requests.directory.types import (
    Department,
    Person,
    department_or_none,
    load_people,
    person_or_none,
)
from services.requests.meetings import models
from services.requests.meetings import repository as repo
from services.requests.meetings.invite import build_invite
from services.requests.meetings.slots import Slot
from services.requests.types import CollabRequest, load_requests, visible_request
from shared.graphql.child_pages import After, First, child_connection, page_of
from shared.graphql.context import Info
from shared.graphql.loaders import many_per_key, one_per_key
from shared.graphql.pagination import Connection

strawberry.enum(models.MeetingKind, description="What the meeting is for.")
strawberry.enum(models.MeetingMode, description="Online (join link), in person (room) or both.")
strawberry.enum(models.MeetingStatus, description="Scheduled or cancelled.")


load_meetings = one_per_key(repo.meetings_by_ids)


load_agenda = many_per_key(repo.agenda_by_meeting_ids)


load_attendees = many_per_key(repo.attendees_by_meeting_ids)


load_minutes = one_per_key(repo.minutes_by_meeting_ids)


load_action_items = many_per_key(repo.action_items_by_meeting_ids)


@strawberry.type(description="One agenda item: topic, presenter and time given to it.")
class AgendaItem:
    title: str = strawberry.field(description="Topic.")
    minutes: int = strawberry.field(description="Minutes planned for it.")
    presenter_id: strawberry.Private[str | None]

    @strawberry.field(description="Who presents it, if named.")
    async def presenter(self, info: Info) -> Person | None:
        return await person_or_none(info, self.presenter_id)


@strawberry.type(description="An invited person and whether their presence is required.")
class MeetingAttendee:
    required: bool = strawberry.field(description="Required (true) or optional attendee.")
    person_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, attendee: models.Attendee) -> MeetingAttendee:
        return cls(required=attendee.required, person_id=attendee.person_id)

    @strawberry.field(description="The invited person.")
    async def person(self, info: Info) -> Person | None:
        return await person_or_none(info, self.person_id)


@strawberry.type(description="Background material sent with the agenda (a link).")
class Material:
    title: str = strawberry.field(description="What it is.")
    url: str = strawberry.field(description="Where it is.")


@strawberry.type(description="A follow-up assigned in the minutes; the tasks service tracks it.")
class ActionItem:
    id: strawberry.ID = strawberry.field(description="Opaque id (also the event subject).")
    title: str = strawberry.field(description="What is to be done.")
    due_at: datetime = strawberry.field(description="By when.")
    owner_id: strawberry.Private[str]
    department_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, item: models.ActionItem) -> ActionItem:
        return cls(
            id=strawberry.ID(item.id),
            title=item.title,
            due_at=item.due_at,
            owner_id=item.owner_id,
            department_id=item.department_id,
        )

    @strawberry.field(description="The person who owns it.")
    async def owner(self, info: Info) -> Person | None:
        return await person_or_none(info, self.owner_id)

    @strawberry.field(description="The department that answers for it.")
    async def department(self, info: Info) -> Department | None:
        return await department_or_none(info, self.department_id)


@strawberry.type(description="Minutes of a meeting (handbook template 4).")
class Minutes:
    summary: str = strawberry.field(description="What was discussed.")
    decisions: list[str] = strawberry.field(description="Decisions taken, in order.")
    published_at: datetime = strawberry.field(description="When the minutes went out.")
    late: bool = strawberry.field(description="Published after the 24-hour deadline.")
    meeting_id: strawberry.Private[str]
    published_by_id: strawberry.Private[str]

    @strawberry.field(description="Who published them.")
    async def published_by(self, info: Info) -> Person | None:
        return await person_or_none(info, self.published_by_id)

    @strawberry.field(description="Action items with owner, department and due time.")
    async def action_items(self, info: Info) -> list[ActionItem]:
        items = await info.context.loader(load_action_items).load(self.meeting_id)
        return [ActionItem.from_model(i) for i in items]


@strawberry.type(description="A meeting of a request: kickoff, progress, decision...")
class Meeting:
    id: strawberry.ID = strawberry.field(description="Opaque id; also the invite's UID.")
    kind: models.MeetingKind = strawberry.field(description="What the meeting is for.")
    title: str = strawberry.field(description="Title shown in calendars.")
    status: models.MeetingStatus = strawberry.field(description="Scheduled or cancelled.")
    starts_at: datetime = strawberry.field(description="Start.")
    ends_at: datetime = strawberry.field(description="End.")
    mode: models.MeetingMode = strawberry.field(description="Online, in person or hybrid.")
    join_url: str | None = strawberry.field(description="Video-conference link, if online.")
    location: str | None = strawberry.field(description="Room, if in person.")
    agenda_sent_at: datetime | None = strawberry.field(
        description="When the agenda and materials went out; null if not yet."
    )
    materials: list[Material] = strawberry.field(description="Materials sent with the agenda.")
    minutes_due_at: datetime = strawberry.field(description="Minutes deadline (end + 24 h).")
    sequence: int = strawberry.field(description="Invite revision (iCalendar SEQUENCE).")
    invite_path: str = strawberry.field(
        description="Path of the iCalendar invite on the requests service."
    )
    request_id: strawberry.Private[str]
    organizer_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, m: models.Meeting) -> Meeting:
        return cls(
            id=strawberry.ID(m.id),
            kind=m.kind,
            title=m.title,
            status=m.status,
            starts_at=m.starts_at,
            ends_at=m.ends_at,
            mode=m.mode,
            join_url=m.join_url,
            location=m.location,
            agenda_sent_at=m.agenda_sent_at,
            materials=[Material(title=x.title, url=x.url) for x in m.materials],
            minutes_due_at=m.minutes_due_at,
            sequence=m.sequence,
            invite_path=f"/meetings/{m.id}/invite.ics",
            request_id=m.request_id,
            organizer_id=m.organizer_id,
        )

    @strawberry.field(description="The request the meeting belongs to.")
    async def request(self, info: Info) -> CollabRequest | None:
        return await visible_request(info, self.request_id)

    @strawberry.field(description="Who scheduled it (the invite's organizer).")
    async def organizer(self, info: Info) -> Person | None:
        return await person_or_none(info, self.organizer_id)

    @strawberry.field(description="Agenda items in order.")
    async def agenda(self, info: Info) -> list[AgendaItem]:
        items = await info.context.loader(load_agenda).load(self.id)
        return [
            AgendaItem(title=i.title, minutes=i.minutes, presenter_id=i.presenter_id) for i in items
        ]

    @strawberry.field(
        description="Invited people, required first, then by person id, 20 per page by"
        " default (`icalendar` lists them all)."
    )
    async def attendees(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[MeetingAttendee]:
        page = page_of(info, first, after)
        return await child_connection(
            info, repo.ATTENDEES, self.id, page, MeetingAttendee.from_model
        )

    @strawberry.field(description="Published minutes, or null.")
    async def minutes(self, info: Info) -> Minutes | None:
        found = await info.context.loader(load_minutes).load(self.id)
        if found is None:
            return None
        return Minutes(
            summary=found.summary,
            decisions=list(found.decisions),
            published_at=found.published_at,
            late=found.late,
            meeting_id=found.meeting_id,
            published_by_id=found.published_by,
        )

    @strawberry.field(description="The iCalendar (RFC 5545) invite text.")
    async def icalendar(self, info: Info) -> str:
        # Through the loaders, so a list of meetings with invites costs one query per relation.
        loader = info.context.loader
        meeting = await loader(load_meetings).load(self.id)
        assert meeting is not None
        agenda = await loader(load_agenda).load(self.id)
        attendees = await loader(load_attendees).load(self.id)
        wanted = {a.person_id for a in attendees} | {meeting.organizer_id}
        wanted |= {i.presenter_id for i in agenda if i.presenter_id}
        found = await loader(load_people).load_many(sorted(wanted))
        people = {p.id: p for p in found if p is not None}
        request = await loader(load_requests).load(meeting.request_id)
        assert request is not None  # guaranteed by the foreign key
        return build_invite(meeting, request, agenda, attendees, people).decode()


@strawberry.type(description="A slot's start in one attendee's own time zone.")
class LocalStart:
    person_id: strawberry.ID = strawberry.field(description="The attendee.")
    time_zone: str = strawberry.field(description="Their IANA time zone.")
    starts_at: datetime = strawberry.field(description="Start in their local offset.")


@strawberry.type(description="A suggested meeting slot.")
class MeetingSlot:
    starts_at: datetime = strawberry.field(description="Start (UTC).")
    ends_at: datetime = strawberry.field(description="End (UTC).")
    optional_attendee_count: int = strawberry.field(
        description="How many optional attendees are also inside their working hours."
    )
    optional_ids: strawberry.Private[tuple[str, ...]]
    zones: strawberry.Private[dict[str, str]]

    @classmethod
    def from_slot(cls, slot: Slot, zones: dict[str, str]) -> MeetingSlot:
        return cls(
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            optional_attendee_count=len(slot.optional_ids),
            optional_ids=slot.optional_ids,
            zones=zones,
        )

    @strawberry.field(description="Optional attendees who also fit.")
    async def optional_attendees(self, info: Info) -> list[Person]:
        found = await info.context.loader(load_people).load_many(list(self.optional_ids))
        return [Person.from_model(p) for p in found if p is not None]

    @strawberry.field(description="The start in every attendee's local time.")
    def local_starts(self) -> list[LocalStart]:
        return [
            LocalStart(
                person_id=strawberry.ID(pid),
                time_zone=zone,
                starts_at=self.starts_at.astimezone(ZoneInfo(zone)),
            )
            for pid, zone in self.zones.items()
        ]


@strawberry.type(description="Slot suggestions, or why there are none.")
class MeetingSlotSuggestions:
    slots: list[MeetingSlot] = strawberry.field(
        description="Best first: most optional attendees, then earliest."
    )
    reason_code: str | None = strawberry.field(
        description="Why the list is empty: NO_COMMON_SLOT, NO_WORKING_TIME, UNKNOWN_PERSON, "
        "INVALID_QUESTION; null when there are slots."
    )
    reason: str | None = strawberry.field(description="The reason in words.")
