"""Bearer tokens into principals, the gateway secret, and the visibility rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from shared.auth import (
    AuthError,
    Principal,
    Role,
    check_gateway_secret,
    decode_token,
    issue_token,
    principal_from_authorization,
)
from shared.settings import Settings


@pytest.fixture
def auth_settings() -> Settings:
    return Settings(jwt_secret="a-test-secret-of-at-least-32-bytes!!", gateway_secret="gw-secret")


def sign(
    settings: Settings, claims: dict[str, Any], *, key: str | None = None, alg: str = "HS256"
) -> str:
    base: dict[str, Any] = {"exp": datetime.now(UTC) + timedelta(minutes=5)}
    return jwt.encode({**base, **claims}, key or settings.jwt_secret, algorithm=alg)


def test_valid_token_gives_a_principal(auth_settings: Settings) -> None:
    token = issue_token(
        auth_settings,
        "person-1",
        roles=["DEPARTMENT_HEAD", "MEMBER"],
        departments=["d-eng", "d-ops"],
        region="emea",
    )
    principal = decode_token(token, auth_settings)
    assert principal.sub == "person-1"
    assert principal.roles == {Role.DEPARTMENT_HEAD, Role.MEMBER}
    assert principal.departments == ("d-eng", "d-ops")
    assert principal.region == "emea"
    assert principal.has_role(Role.DEPARTMENT_HEAD)
    assert not principal.has_role(Role.ADMIN, Role.PMO)

    same = principal_from_authorization(f"Bearer {token}", auth_settings)
    assert same == principal
    assert principal_from_authorization(f"bearer  {token}", auth_settings) == principal


def test_missing_claims_default_to_nothing(auth_settings: Settings) -> None:
    principal = decode_token(sign(auth_settings, {"sub": "p"}), auth_settings)
    assert principal.roles == frozenset()
    assert principal.departments == ()
    assert principal.region is None
    assert not principal.may_see(["d-eng"])


@pytest.mark.parametrize(
    ("case", "claims"),
    [
        ("expired", {"sub": "p", "exp": datetime.now(UTC) - timedelta(seconds=5)}),
        ("no sub", {"roles": ["ADMIN"]}),
        ("no exp", {"sub": "p", "exp": None}),
        ("unknown role", {"sub": "p", "roles": ["SUPERUSER"]}),
        ("roles null", {"sub": "p", "roles": None}),
        ("roles an object", {"sub": "p", "roles": {"ADMIN": True}}),
        ("role not a string", {"sub": "p", "roles": [{"name": "ADMIN"}]}),
        ("departments not a list", {"sub": "p", "departments": "d-eng"}),
        ("sub not a string", {"sub": 42}),
        # Evaluated at collection time, so far enough ahead to outlast a long test session.
        ("not yet valid", {"sub": "p", "nbf": datetime.now(UTC) + timedelta(days=1)}),
    ],
)
def test_bad_claims_are_refused(auth_settings: Settings, case: str, claims: dict[str, Any]) -> None:
    token = sign(auth_settings, claims)
    if claims.get("exp", 0) is None:
        token = jwt.encode({"sub": "p"}, auth_settings.jwt_secret, algorithm="HS256")
    with pytest.raises(AuthError, match="invalid token"):
        decode_token(token, auth_settings)


def test_wrong_secret_is_refused(auth_settings: Settings) -> None:
    token = sign(auth_settings, {"sub": "p"}, key="another-secret-also-32-bytes-long!!!")
    with pytest.raises(AuthError, match="invalid token"):
        decode_token(token, auth_settings)


@pytest.mark.parametrize("alg", ["HS512", "none"])
# The forged token is signed with our (short for SHA-512) secret on purpose.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_wrong_algorithm_is_refused(auth_settings: Settings, alg: str) -> None:
    key = "" if alg == "none" else auth_settings.jwt_secret
    token = jwt.encode(
        {"sub": "p", "roles": ["ADMIN"], "exp": datetime.now(UTC) + timedelta(minutes=5)},
        key,
        algorithm=alg,
    )
    with pytest.raises(AuthError, match="invalid token"):
        decode_token(token, auth_settings)


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
def test_malformed_tokens_are_refused(auth_settings: Settings, token: str) -> None:
    with pytest.raises(AuthError):
        decode_token(token, auth_settings)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic abc", "Token x.y.z"])
def test_authorization_header_must_be_bearer(auth_settings: Settings, header: str | None) -> None:
    with pytest.raises(AuthError):
        principal_from_authorization(header, auth_settings)


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
