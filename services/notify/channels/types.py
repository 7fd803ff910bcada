"""GraphQL type of chat groups."""

from __future__ import annotations

from datetime import datetime

import strawberry

from services.notify import models

strawberry.enum(models.ChannelKind, description="Chat platform (or e-mail list) of a channel.")
strawberry.enum(models.Phase, description="Phase of a collaboration request.")


@strawberry.type(description="The chat group of one request, phase and department.")
class Channel:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    name: str = strawberry.field(
        description="`[request title]-[phase]-[department]`, e.g. `2024新品推广-筹备-市场部`."
    )
    kind: models.ChannelKind = strawberry.field(
        description="DINGTALK, WECOM, FEISHU, SLACK, WEBHOOK or EMAIL."
    )
    request_id: strawberry.ID = strawberry.field(description="The collaboration request.")
    phase: models.Phase = strawberry.field(
        description="The request phase whose messages this channel receives."
    )
    department_id: strawberry.ID = strawberry.field(description="The department it is for.")
    created_at: datetime = strawberry.field(description="When it was registered.")

    @classmethod
    def from_model(cls, c: models.Channel) -> Channel:
        return cls(
            id=strawberry.ID(c.id),
            name=c.name,
            kind=c.kind,
            request_id=strawberry.ID(c.request_id),
            phase=c.phase,
            department_id=strawberry.ID(c.department_id),
            created_at=c.created_at,
        )
