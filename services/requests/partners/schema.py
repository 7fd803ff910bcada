"""Partner clients in GraphQL: listing and registering them (ADMIN only)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from services.requests.directory.types import Person, person_or_none
from services.requests.partners import models, service
from services.requests.partners import repository as repo
from shared.auth import Role
from shared.graphql.context import Info
from shared.graphql.error_codes import ErrorCode
from shared.graphql.errors import PublicError, UserError, run_mutation


@strawberry.type(
    description="An integration partner's client: signs in with its own token (the `sub` is"
    " its id) and sees only the event types it is scoped to; never acts as a person."
)
class PartnerClient:
    id: strawberry.ID = strawberry.field(description="The `sub` of the client's tokens.")
    name: str = strawberry.field(description="Display name, e.g. the partner company.")
    scopes: list[str] = strawberry.field(
        description="Event types it may receive: `issues.issue.reported`, `issues.*` or `*`."
    )
    enabled: bool = strawberry.field(description="False: every service refuses its tokens.")
    created_at: datetime = strawberry.field(description="When it was registered.")
    owner_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, client: models.PartnerClient) -> PartnerClient:
        assert client.created_at is not None  # set by the database
        return cls(
            id=strawberry.ID(client.id),
            name=client.name,
            scopes=list(client.scopes),
            enabled=client.enabled,
            created_at=client.created_at,
            owner_id=client.owner_id,
        )

    @strawberry.field(description="The person answerable for the integration.")
    async def owner(self, info: Info) -> Person | None:
        return await person_or_none(info, self.owner_id)


@strawberry.input(description="A partner client to register or change (ADMIN only).")
class UpsertPartnerClientInput:
    id: strawberry.ID = strawberry.field(
        description="Its client id at the identity provider (the `sub` of its tokens); may not"
        " be a person's id."
    )
    name: str = strawberry.field(description="Display name.")
    owner_id: strawberry.ID = strawberry.field(description="The person answerable for it.")
    scopes: list[str] = strawberry.field(description="Event types it may receive.")
    enabled: bool = strawberry.field(
        default=True, description="False refuses its tokens everywhere within seconds."
    )

    def to_model(self) -> models.PartnerClient:
        return models.PartnerClient(
            self.id, self.name, self.owner_id, tuple(self.scopes), self.enabled
        )


@strawberry.type(description="Result of `upsertPartnerClient`.")
class UpsertPartnerClientPayload:
    partner_client: PartnerClient | None = strawberry.field(
        default=None, description="The saved client."
    )
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.type
class PartnerQuery:
    @strawberry.field(description="Every registered partner client, by id (ADMIN only).")
    async def partner_clients(self, info: Info) -> list[PartnerClient]:
        if not info.context.principal.has_role(Role.ADMIN):
            raise PublicError("only an ADMIN sees the partner clients", ErrorCode.FORBIDDEN)
        async with info.context.runtime.pool.acquire() as conn:
            return [PartnerClient.from_model(c) for c in await repo.list_all(conn)]


@strawberry.type
class PartnerMutation:
    @strawberry.mutation(description="Register a partner client or change it (ADMIN).")
    async def upsert_partner_client(
        self, info: Info, input: UpsertPartnerClientInput
    ) -> UpsertPartnerClientPayload:
        ctx = info.context
        action = service.upsert_partner_client(ctx.runtime, ctx.principal, input.to_model())
        return await run_mutation(
            UpsertPartnerClientPayload, "partner_client", action, PartnerClient.from_model
        )
