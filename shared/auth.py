"""Who is calling: JWT verification into a :class:`Principal`, and permission helpers.

Tokens carry ``sub`` (person id), ``roles``, ``departments`` and ``region`` (DESIGN §5).
Development signs them with ``LIAISON_JWT_SECRET`` (HS256, or the HS* of
``LIAISON_JWT_ALGORITHM``); production sets ``LIAISON_JWT_PUBLIC_KEY`` and verifies RS256 (or
the asymmetric ``LIAISON_JWT_ALGORITHM``) tokens of its identity provider. Subgraphs also
require the gateway's shared secret, so nobody bypasses the gateway's checks by calling a
subgraph directly.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt

from shared.settings import Settings

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
class Principal:
    """An authenticated caller."""

    sub: str
    roles: frozenset[Role]
    departments: tuple[str, ...]
    region: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

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


def token_algorithm(settings: Settings) -> str:
    """The one algorithm tokens are signed with: ``LIAISON_JWT_ALGORITHM``, except that a
    public key with a shared-secret algorithm (the HS256 default) means RS256. The gateway
    (gateway/gateway.config.ts) applies the same rule."""
    if settings.jwt_public_key and _is_shared_secret(settings.jwt_algorithm):
        return "RS256"
    return settings.jwt_algorithm


def _is_shared_secret(algorithm: str) -> bool:
    return algorithm.startswith("HS")


def _verification_key(settings: Settings) -> tuple[str, list[str]]:
    algorithm = token_algorithm(settings)
    if _is_shared_secret(algorithm):
        return settings.jwt_secret, [algorithm]
    if not settings.jwt_public_key:
        raise AuthError(f"LIAISON_JWT_ALGORITHM={algorithm} needs LIAISON_JWT_PUBLIC_KEY")
    return settings.jwt_public_key, [algorithm]


def decode_token(token: str, settings: Settings) -> Principal:
    """Verify a bearer token and read its claims."""
    key, algorithms = _verification_key(settings)
    try:
        claims = jwt.decode(token, key, algorithms=algorithms, options={"require": ["sub", "exp"]})
        role_names = claims.get("roles", [])
        if not isinstance(role_names, list):
            raise ValueError("roles must be a list")
        roles = frozenset(Role(r) for r in role_names)
    except (jwt.PyJWTError, ValueError) as exc:
        raise AuthError(f"invalid token: {exc}") from exc
    departments = claims.get("departments", [])
    if not isinstance(departments, list):
        raise AuthError("invalid token: departments must be a list")
    return Principal(
        sub=str(claims["sub"]),
        roles=roles,
        departments=tuple(str(d) for d in departments),
        region=claims.get("region"),
        claims=claims,
    )


def principal_from_authorization(value: str | None, settings: Settings) -> Principal:
    """Read ``Authorization: Bearer <jwt>``."""
    if not value:
        raise AuthError("missing bearer token")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthError("authorization must be 'Bearer <token>'")
    return decode_token(token.strip(), settings)


def check_gateway_secret(value: str | None, settings: Settings) -> None:
    """Refuse a call that did not come through the gateway (unless configured off)."""
    if not settings.require_gateway:
        return
    if value is None or not hmac.compare_digest(value, settings.gateway_secret):
        raise AuthError("subgraphs accept calls only through the gateway")


def issue_token(
    settings: Settings,
    sub: str,
    *,
    roles: Iterable[str] = ("MEMBER",),
    departments: Iterable[str] = (),
    region: str | None = None,
    scopes: Iterable[str] | None = None,
    ttl: timedelta = timedelta(hours=12),
) -> str:
    """Sign a development or test token with the shared secret (``LIAISON_JWT_ALGORITHM``).

    ``scopes`` (event types, ``prefix.*`` or ``*``) limit what a PARTNER token may see.
    When tokens are verified with a public key, Liaison holds no private key to sign them
    with (the identity provider does): a RuntimeError says so, rather than a token every
    service would refuse.
    """
    algorithm = token_algorithm(settings)
    if not _is_shared_secret(algorithm):
        raise RuntimeError(
            f"tokens are {algorithm}, verified with LIAISON_JWT_PUBLIC_KEY: get them from the"
            " identity provider that holds the private key; Liaison signs only with"
            " LIAISON_JWT_SECRET (an HS* LIAISON_JWT_ALGORITHM and no public key)"
        )
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": sub,
        "roles": list(roles),
        "departments": list(departments),
        "region": region,
        "iat": now,
        "exp": now + ttl,
    }
    if scopes is not None:
        claims["scopes"] = list(scopes)
    return jwt.encode(claims, settings.jwt_secret, algorithm=algorithm)
