"""Strawberry permission classes shared by the subgraphs."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from shared.auth import Role
from shared.graphql.context import Info
from shared.graphql.error_codes import ErrorCode


class NotPartner(BasePermission):
    """Refuses tokens whose only role is PARTNER: partners see the event types their key is
    scoped to (notify's event APIs), not the company directory."""

    message = "partner tokens may only use the partner event APIs"
    error_extensions = {"code": ErrorCode.FORBIDDEN.value}  # noqa: RUF012 (strawberry's hook)

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.principal.roles != frozenset({Role.PARTNER})
