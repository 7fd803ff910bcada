"""A real gateway verifying an identity provider's tokens: keys from its JWKS (or found by OIDC
discovery) on a real local server, picked by kid, rotated; bad claims refused UNAUTHENTICATED."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pytest_httpserver import HTTPServer

from shared.auth import issue_token
from shared.settings import Settings
from tests.gateway.conftest import Gateway, Gateways
from tests.identity_provider import (
    AUDIENCE,
    IdentityProvider,
    SigningKey,
    claims,
    forged_hs256,
    identity_provider,
    local_server,
    unsigned,
)

TYPENAME = "{ __typename }"
ANSWERED = {"data": {"__typename": "Query"}}
CACHE_SECONDS = 1
"""Short, so a retired key's cache entry runs out within the test."""
RETIRE_TIMEOUT_SECONDS = 15.0


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    with local_server() as running:
        yield running


@pytest.fixture
def idp(server: HTTPServer) -> Iterator[IdentityProvider]:
    with identity_provider(server) as provider:
        yield provider


def provider_env(idp: IdentityProvider, **changes: str) -> dict[str, str]:
    return {
        "LIAISON_JWT_JWKS_URL": idp.jwks_url,
        "LIAISON_JWT_ISSUER": idp.issuer,
        "LIAISON_JWT_AUDIENCE": AUDIENCE,
        "LIAISON_JWT_JWKS_CACHE_SECONDS": str(CACHE_SECONDS),
        "LIAISON_JWT_PUBLIC_KEY": "",
        "LIAISON_JWT_ALGORITHM": "",
        **changes,
    }


def refusal(gateway: Gateway, token: str) -> str:
    """The message of the gateway's refusal of ``token``, which must be UNAUTHENTICATED."""
    response = gateway.post(TYPENAME, token)
    assert response.status_code == 401, response.text
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}, error
    message: str = error["message"]
    return message


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + RETIRE_TIMEOUT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)  # the poll's pace, not a wait for the condition


def _status(gateway: Gateway, token: str) -> int:
    return gateway.post(TYPENAME, token).status_code


def test_tokens_are_verified_with_the_providers_keys_through_a_rotation(
    gateways: Gateways, idp: IdentityProvider
) -> None:
    old, ec_key, new = SigningKey.rsa("2024"), SigningKey.ec("ec-2024"), SigningKey.rsa("2025")
    idp.keys = [old, ec_key]
    gateway = gateways.start("jwks", provider_env(idp))
    gateways.wait_ready()
    old_token = idp.token(old)

    assert gateway.post(TYPENAME, old_token).json() == ANSWERED
    assert gateway.post(TYPENAME, idp.token(ec_key)).json() == ANSWERED

    idp.keys = [new]  # rotated: the new key signs, the old one is gone from the JWKS
    assert gateway.post(TYPENAME, idp.token(new)).json() == ANSWERED
    wait_until(lambda: _status(gateway, old_token) == 401, "the retired key's cache entry to end")
    assert "unknown key id" in refusal(gateway, old_token)
    assert gateway.post(TYPENAME, idp.token(new)).json() == ANSWERED


def _ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def test_bad_tokens_are_refused_unauthenticated(gateways: Gateways, idp: IdentityProvider) -> None:
    key, stranger = SigningKey.rsa("k1"), SigningKey.rsa("k1")
    idp.keys = [key]
    gateway = gateways.start("jwks", provider_env(idp))
    discovering = gateways.start(
        "discovery", provider_env(idp, LIAISON_JWT_JWKS_URL="", LIAISON_JWT_ALGORITHM="RS256")
    )
    gateways.wait_ready()
    payload = claims(idp.issuer)

    assert discovering.post(TYPENAME, idp.token(key)).json() == ANSWERED
    for gateway_under_test in (gateway, discovering):
        assert "exp" in refusal(gateway_under_test, idp.token(key, exp=None))
    assert "sub" in refusal(gateway, idp.token(key, sub=None))
    assert "iat" in refusal(gateway, idp.token(key, iat=_ago(-3600)))
    assert "unknown key id" in refusal(gateway, stranger.sign(payload, kid="k2"))
    for token in (
        idp.token(key, iss="https://someone-else.example"),
        idp.token(key, iss=None),
        idp.token(key, aud="another-app"),
        idp.token(key, aud=None),
        idp.token(key, exp=_ago(3600)),
        idp.token(key, nbf=_ago(-3600)),
        stranger.sign(payload),
        unsigned(payload, "k1"),
        forged_hs256(payload, key.public_pem(), "k1"),
    ):
        refusal(gateway, token)
    # Within the leeway (LIAISON_JWT_LEEWAY_SECONDS, 30 by default), clocks may disagree.
    assert gateway.post(TYPENAME, idp.token(key, exp=_ago(10))).json() == ANSWERED


def test_development_tokens_need_exp_issuer_and_audience_too(gateways: Gateways) -> None:
    gateway = gateways.start("development", {})
    gateways.wait_ready()
    settings = Settings()
    lasting = claims(settings.jwt_issuer, exp=None)
    elsewhere = claims(settings.jwt_issuer, aud="another-app")

    assert gateway.post(TYPENAME, issue_token(settings, "zhou-pmo")).json() == ANSWERED
    assert "exp" in refusal(gateway, jwt.encode(lasting, settings.jwt_secret, algorithm="HS256"))
    refusal(gateway, jwt.encode(elsewhere, settings.jwt_secret, algorithm="HS256"))
