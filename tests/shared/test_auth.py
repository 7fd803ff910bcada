"""Bearer tokens into identities, the gateway secret, and the visibility rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from shared.auth import (
    AuthError,
    Principal,
    Role,
    bearer_token,
    check_gateway_secret,
    identify,
    issue_token,
)
from shared.settings import Settings
from shared.tokens import TokenVerifier


@pytest.fixture
def auth_settings() -> Settings:
    return Settings(jwt_secret="a-test-secret-of-at-least-32-bytes!!", gateway_secret="gw-secret")


def sign(
    settings: Settings, claims: dict[str, Any], *, key: str | None = None, alg: str = "HS256"
) -> str:
    base: dict[str, Any] = {
        "exp": datetime.now(UTC) + timedelta(minutes=5),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    return jwt.encode({**base, **claims}, key or settings.jwt_secret, algorithm=alg)


async def test_a_valid_token_names_the_caller_and_nothing_more(auth_settings: Settings) -> None:
    token = issue_token(auth_settings, "person-1", ttl=timedelta(minutes=10))
    identity = await identify(token, TokenVerifier(auth_settings))
    assert identity.sub == "person-1"
    left = identity.expires_at - datetime.now(UTC)
    assert timedelta(minutes=9) < left <= timedelta(minutes=10)
    assert bearer_token(f"Bearer {token}") == token
    assert bearer_token(f"bearer  {token}") == token
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"sub", "iss", "aud", "iat", "exp"}  # no roles to trust


async def test_claimed_roles_and_departments_are_ignored(auth_settings: Settings) -> None:
    forged = sign(auth_settings, {"sub": "p", "roles": ["PMO"], "departments": ["mkt"]})
    identity = await identify(forged, TokenVerifier(auth_settings))
    assert vars(identity).keys() == {"sub", "expires_at"}


async def test_a_small_clock_skew_is_tolerated(auth_settings: Settings) -> None:
    just_expired = sign(
        auth_settings, {"sub": "p", "exp": datetime.now(UTC) - timedelta(seconds=5)}
    )
    assert (await identify(just_expired, TokenVerifier(auth_settings))).sub == "p"


@pytest.mark.parametrize(
    ("case", "claims"),
    [
        ("expired", {"sub": "p", "exp": datetime.now(UTC) - timedelta(minutes=5)}),
        ("no sub", {"roles": ["ADMIN"]}),
        ("no exp", {"sub": "p", "exp": None}),
        ("no iss", {"sub": "p", "iss": None}),
        ("no aud", {"sub": "p", "aud": None}),
        ("another issuer", {"sub": "p", "iss": "https://evil.example"}),
        ("another audience", {"sub": "p", "aud": "another-app"}),
        ("sub not a string", {"sub": 42}),
        ("sub blank", {"sub": "  "}),
        # Evaluated at collection time, so far enough ahead to outlast a long test session.
        ("not yet valid", {"sub": "p", "nbf": datetime.now(UTC) + timedelta(days=1)}),
    ],
)
async def test_bad_claims_are_refused(
    auth_settings: Settings, case: str, claims: dict[str, Any]
) -> None:
    dropped = [name for name, value in claims.items() if value is None]
    token = sign(auth_settings, {k: v for k, v in claims.items() if v is not None})
    if dropped:
        payload = jwt.decode(token, options={"verify_signature": False})
        payload = {k: v for k, v in payload.items() if k not in dropped}
        token = jwt.encode(payload, auth_settings.jwt_secret, algorithm="HS256")
    with pytest.raises(AuthError, match="invalid token"):
        await identify(token, TokenVerifier(auth_settings))


async def test_wrong_secret_is_refused(auth_settings: Settings) -> None:
    token = sign(auth_settings, {"sub": "p"}, key="another-secret-also-32-bytes-long!!!")
    with pytest.raises(AuthError, match="invalid token"):
        await identify(token, TokenVerifier(auth_settings))


@pytest.mark.parametrize("alg", ["HS512", "none"])
# The forged token is signed with our (short for SHA-512) secret on purpose.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_wrong_algorithm_is_refused(auth_settings: Settings, alg: str) -> None:
    key = "" if alg == "none" else auth_settings.jwt_secret
    claims = {"sub": "p", "iss": auth_settings.jwt_issuer, "aud": auth_settings.jwt_audience}
    token = jwt.encode(
        {**claims, "exp": datetime.now(UTC) + timedelta(minutes=5)}, key, algorithm=alg
    )
    with pytest.raises(AuthError, match="invalid token"):
        await identify(token, TokenVerifier(auth_settings))


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
async def test_malformed_tokens_are_refused(auth_settings: Settings, token: str) -> None:
    with pytest.raises(AuthError):
        await identify(token, TokenVerifier(auth_settings))


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic abc", "Token x.y.z"])
def test_authorization_header_must_be_bearer(header: str | None) -> None:
    with pytest.raises(AuthError):
        bearer_token(header)


def test_gateway_secret(auth_settings: Settings) -> None:
    check_gateway_secret("gw-secret", auth_settings)
    for wrong in (None, "", "gw-secret ", "GW-SECRET", "other"):
        with pytest.raises(AuthError, match="gateway"):
            check_gateway_secret(wrong, auth_settings)
    relaxed = auth_settings.model_copy(update={"require_gateway": False})
    check_gateway_secret(None, relaxed)
    check_gateway_secret("other", relaxed)


def principal(*roles: Role, departments: tuple[str, ...] = ()) -> Principal:
    return Principal(sub="p", roles=frozenset(roles), departments=departments)


def test_may_see() -> None:
    member = principal(Role.MEMBER, departments=("d-eng",))
    assert member.may_see(["d-ops", "d-eng"])
    assert not member.may_see(["d-ops"])
    assert not member.may_see([])
    head = principal(Role.DEPARTMENT_HEAD, departments=("d-ops",))
    assert head.may_see(["d-ops"])
    assert not head.may_see(["d-eng"])
    assert not principal(Role.PARTNER).may_see(["d-eng"])
    for role in (Role.PMO, Role.ADMIN):
        everything = principal(role)
        assert everything.sees_everything
        assert everything.may_see(["d-eng"])
        assert everything.may_see([])
    assert not member.sees_everything
