"""GraphQL object types of the notify subgraph."""

from __future__ import annotations

from datetime import datetime, time

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from services.notify import models
from services.notify import repository as repo
from shared.graphql.compiled import sql
from shared.graphql.context import Info
from shared.graphql.loaders import one_per_key

strawberry.enum(models.Urgency, description="How insistently a notification asks for attention.")


load_notifications = one_per_key(repo.notifications_by_ids)


# The requests subgraph owns Person; notify only points at one (resolvable: false).
@strawberry.federation.type(
    keys=[Key(fields=FieldSet("id"), resolvable=False)],
    description="A person; the requests subgraph resolves the other fields.",
)
class Person:
    id: strawberry.ID = strawberry.field(description="Opaque id; the `sub` of their token.")


# The requests subgraph owns CollabRequest; notify's work items and search hits point at one.
@strawberry.federation.type(
    keys=[Key(fields=FieldSet("id"), resolvable=False)],
    description="A collaboration request; the requests subgraph resolves the other fields.",
)
class CollabRequest:
    id: strawberry.ID = strawberry.field(description="Opaque id.")


@sql.entity(repo.notification_entity)
@strawberry.federation.type(keys=["id"], description="A message in one person's inbox.")
class Notification:
    id: strawberry.ID = strawberry.field(description="Opaque id; sorts by creation time.")
    type: str = strawberry.field(
        description="Type of the event that caused it, e.g. `issues.issue.sla_breached`."
    )
    title: str = strawberry.field(description="One-line summary.")
    body: str = strawberry.field(description="A sentence or two: what happened, what to do.")
    link: str | None = strawberry.field(
        description="Path in the web app of what it is about, e.g. `/issues/<id>`."
    )
    urgency: models.Urgency = strawberry.field(description="NORMAL or URGENT.")
    created_at: datetime = strawberry.field(description="When it was created.")
    read_at: datetime | None = strawberry.field(description="When it was read; null if unread.")
    recipient_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, n: models.Notification) -> Notification:
        return cls(
            id=strawberry.ID(n.id),
            type=n.type,
            title=n.title,
            body=n.body,
            link=n.link,
            urgency=n.urgency,
            created_at=n.created_at,
            read_at=n.read_at,
            recipient_id=n.recipient_id,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Notification | None:
        """Only the recipient sees a notification."""
        found = await info.context.loader(load_notifications).load(id)
        if found is None or found.recipient_id != info.context.principal.sub:
            return None
        return cls.from_model(found)

    @strawberry.field(
        description="The person it is addressed to.",
        metadata=sql.to_one("(SELECT {row}.recipient_id AS id)", "true"),
    )
    def recipient(self) -> Person:
        return Person(id=strawberry.ID(self.recipient_id))


strawberry.enum(models.PersonalChannel, description="How a person can be reached.")


@strawberry.type(description="A daily window of local time in which nothing non-urgent is sent.")
class QuietHours:
    start: time = strawberry.field(description="Local start, e.g. 22:00.")
    end: time = strawberry.field(description="Local end, e.g. 08:00 (may be the next day).")


@strawberry.type(description="Channels used for each urgency.")
class ChannelsByUrgency:
    normal: list[models.PersonalChannel] = strawberry.field(description="For NORMAL notifications.")
    urgent: list[models.PersonalChannel] = strawberry.field(description="For URGENT notifications.")


@strawberry.type(description="How one person wants to be told.")
class NotificationPreferences:
    quiet_hours: QuietHours | None = strawberry.field(
        description="Non-urgent e-mail waits until they end; urgent messages go through."
    )
    time_zone: str | None = strawberry.field(
        description="IANA zone for quiet hours and the digest; null: the directory's."
    )
    digest_for_informed: bool = strawberry.field(
        description="Where only Informed (I), get one daily digest instead of each message."
    )
    channels_by_urgency: ChannelsByUrgency = strawberry.field(
        description="Channels per urgency; IN_APP (the inbox) is always one of them."
    )
    language: str = strawberry.field(description="`zh` or `en`, for e-mail.")

    @classmethod
    def from_model(cls, p: models.Preferences) -> NotificationPreferences:
        quiet = p.quiet_hours
        return cls(
            quiet_hours=QuietHours(start=quiet.start, end=quiet.end) if quiet else None,
            time_zone=p.time_zone,
            digest_for_informed=p.digest_for_informed,
            channels_by_urgency=ChannelsByUrgency(
                normal=list(p.normal_channels), urgent=list(p.urgent_channels)
            ),
            language=p.language,
        )
