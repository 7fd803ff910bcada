"""Who is calling: a verified token names the caller (:class:`Identity`); what they may do
comes from Liaison's directory (:mod:`shared.authority`), never from the token's claims.

Development signs tokens with ``LIAISON_JWT_SECRET`` (HS256, or the HS* of
``LIAISON_JWT_ALGORITHM``); production verifies its identity provider's tokens (a public key
or JWKS). Every token must carry ``sub``, ``exp``, ``iss`` = ``LIAISON_JWT_ISSUER`` and an
``aud`` naming ``LIAISON_JWT_AUDIENCE``. Subgraphs also require the gateway's shared secret,
so nobody bypasses the gateway's checks by calling a subgraph directly.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

from shared.settings import Settings
from shared.tokens import (
    SHARED_SECRET_ALGORITHMS,
    SigningKeysUnavailable,
    TokenError,
    TokenVerifier,
    token_algorithm,
)

GATEWAY_SECRET_HEADER = "x-liaison-gateway-secret"


class Role(StrEnum):
    MEMBER = "MEMBER"
    DEPARTMENT_HEAD = "DEPARTMENT_HEAD"
    PMO = "PMO"
    ADMIN = "ADMIN"
    PARTNER = "PARTNER"


class AuthError(Exception):
    """The caller could not be authenticated; the message says why."""


@dataclass(frozen=True)
class Identity:
    """What a verified token says: who is calling, until when."""

    sub: str
    expires_at: datetime


@dataclass(frozen=True)
class Principal:
    """An authenticated caller with the authority the directory gives them."""

    sub: str
    roles: frozenset[Role]
    departments: tuple[str, ...]
    region: str | None = None
    scopes: tuple[str, ...] = ()
    """Event types a partner client may see (``prefix.*`` or ``*``); empty for people."""
    expires_at: datetime | None = None
    """When the caller's token expires: a WebSocket session ends then."""

    def has_role(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def sees_everything(self) -> bool:
        """PMO and ADMIN see every request, task and issue."""
        return self.has_role(Role.PMO, Role.ADMIN)

    def belongs_to_any(self, departments: Iterable[str]) -> bool:
        return not set(self.departments).isdisjoint(departments)

    def may_see(self, departments: Iterable[str]) -> bool:
        """Visibility rule: one of the caller's departments takes part, or PMO/ADMIN."""
        return self.sees_everything or self.belongs_to_any(departments)


async def identify(token: str, verifier: TokenVerifier) -> Identity:
    """Verify a bearer token (:mod:`shared.tokens`: signature, ``exp``, ``nbf``, issuer and
    audience) and say who it names. Any other claim is ignored: roles and departments come
    from the directory. :class:`SigningKeysUnavailable` passes through: the token may be
    fine, the identity provider's keys could not be fetched."""
    try:
        claims = await verifier.verify(token)
    except SigningKeysUnavailable:
        raise
    except TokenError as exc:
        raise AuthError(f"invalid token: {exc}") from exc
    return Identity(sub=claims["sub"], expires_at=datetime.fromtimestamp(claims["exp"], UTC))


def bearer_token(value: str | None) -> str:
    """The token of ``Authorization: Bearer <jwt>``."""
    if not value:
        raise AuthError("missing bearer token")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("authorization must be 'Bearer <token>'")
    return token.strip()


def check_gateway_secret(value: str | None, settings: Settings) -> None:
    """Refuse a call that did not come through the gateway (unless configured off)."""
    if not settings.require_gateway:
        return
    if value is None or not hmac.compare_digest(value, settings.gateway_secret):
        raise AuthError("subgraphs accept calls only through the gateway")


def issue_token(settings: Settings, sub: str, *, ttl: timedelta = timedelta(hours=12)) -> str:
    """Sign a development or test token for ``sub`` with the shared secret.

    It says only who the caller is; the directory must know ``sub`` (a person or a partner
    client) for any service to accept it. When tokens are verified with a public key,
    Liaison holds no private key to sign them with (the identity provider does): a
    RuntimeError says so, rather than a token every service would refuse.
    """
    algorithm = token_algorithm(settings)
    if algorithm not in SHARED_SECRET_ALGORITHMS or settings.jwt_jwks_url:
        raise RuntimeError(
            "tokens are verified with the identity provider's keys (LIAISON_JWT_PUBLIC_KEY,"
            " LIAISON_JWT_JWKS_URL or discovery): get them from the provider, which holds the"
            " private key; Liaison signs only with LIAISON_JWT_SECRET (an HS*"
            " LIAISON_JWT_ALGORITHM, no public key and no JWKS)"
        )
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": sub,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=algorithm)
