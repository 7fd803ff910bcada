"""Registering partner clients (ADMIN). Each change emits the client's state, so every service
knows within moments which integrations may call it, with which scopes."""

from __future__ import annotations

from services.requests.directory import repository as directory
from services.requests.directory.service import require_admin
from services.requests.partners import repository as repo
from services.requests.partners.models import PartnerClient, invalid_scopes
from shared.auth import Principal
from shared.events.contracts.requests import PartnerClientUpserted
from shared.graphql.errors import DomainError
from shared.runtime import ServiceRuntime
from shared.unit_of_work import unit_of_work


async def upsert_partner_client(
    runtime: ServiceRuntime, principal: Principal, client: PartnerClient
) -> PartnerClient:
    require_admin(principal)
    bad = invalid_scopes(client.scopes)
    if bad:
        raise DomainError.single(
            "INVALID_SCOPE",
            f"{', '.join(bad)}: a scope is an event type, a prefix such as `issues.*`, or `*`",
            "scopes",
        )
    async with unit_of_work(runtime) as uow:
        # One namespace for every `sub`: a client id that is a person's would let the
        # integration sign in as that person.
        if await directory.people_by_ids(uow.conn, [client.id]):
            raise DomainError.single("ID_TAKEN", "a person of the directory has this id", "id")
        if not await directory.people_by_ids(uow.conn, [client.owner_id]):
            raise DomainError.single("NOT_FOUND", "no such person to own it", "ownerId")
        saved = await repo.upsert(uow.conn, client)
        data = PartnerClientUpserted(
            id=saved.id,
            name=saved.name,
            owner_id=saved.owner_id,
            scopes=list(saved.scopes),
            enabled=saved.enabled,
        )
        await uow.emit("requests.partner_client.upserted", saved.id, data)
        return saved
