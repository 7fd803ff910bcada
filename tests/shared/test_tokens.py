"""TokenVerifier against a real local identity provider (JWKS, OIDC discovery) and its refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from pytest_httpserver import HTTPServer

from shared.settings import Settings
from shared.tokens import (
    SigningKeysUnavailable,
    TokenConfigurationError,
    TokenError,
    TokenVerifier,
)
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

REFETCH_INTERVAL = 10.0
CACHE_SECONDS = 300.0
SECRET = "a-test-secret-of-at-least-32-bytes!!"


class Clock:
    """The verifier's monotonic clock, moved by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    with local_server() as running:
        yield running


@pytest.fixture
def idp(server: HTTPServer) -> Iterator[IdentityProvider]:
    with identity_provider(server) as provider:
        yield provider


@pytest.fixture
def clock() -> Clock:
    return Clock()


def jwks_settings(idp: IdentityProvider, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "jwt_issuer": idp.issuer,
        "jwt_audience": AUDIENCE,
        "jwt_jwks_url": idp.jwks_url,
        "jwt_public_key": None,
        "jwt_jwks_cache_seconds": CACHE_SECONDS,
        **changes,
    }
    return Settings(**values)


def verifier(settings: Settings, clock: Clock) -> TokenVerifier:
    return TokenVerifier(settings, clock=clock, refetch_interval_seconds=REFETCH_INTERVAL)


async def test_rs256_and_es256_tokens_are_verified_by_their_kid(
    idp: IdentityProvider, clock: Clock
) -> None:
    rsa_key, ec_key = SigningKey.rsa("rsa-1"), SigningKey.ec("ec-1")
    idp.keys = [rsa_key, ec_key]
    tokens = verifier(jwks_settings(idp), clock)

    # Callers arriving together before any key is cached share one fetch.
    verified = await asyncio.gather(
        *(tokens.verify(idp.token(key)) for key in (rsa_key, ec_key, rsa_key, ec_key))
    )
    assert [c["sub"] for c in verified] == ["zhou-pmo"] * 4
    assert (await tokens.verify(idp.token(ec_key, aud=["other", AUDIENCE])))["aud"] == [
        "other",
        AUDIENCE,
    ]
    assert idp.jwks_requests == 1


async def test_a_rotated_key_is_fetched_once_and_the_retired_key_is_refused(
    idp: IdentityProvider, clock: Clock
) -> None:
    old, new = SigningKey.rsa("2024"), SigningKey.rsa("2025")
    idp.keys = [old]
    tokens = verifier(jwks_settings(idp), clock)
    old_token = idp.token(old)
    assert (await tokens.verify(old_token))["sub"] == "zhou-pmo"

    idp.keys = [new]  # the provider rotates: the new key signs, the old one is gone
    clock.advance(REFETCH_INTERVAL)
    assert (await tokens.verify(idp.token(new)))["sub"] == "zhou-pmo"
    assert idp.jwks_requests == 2
    with pytest.raises(TokenError, match="unknown key id '2024'"):
        await tokens.verify(old_token)
    assert idp.jwks_requests == 2  # refetched only a moment ago


async def test_cached_keys_expire_so_a_removed_key_stops_verifying(
    idp: IdentityProvider, clock: Clock
) -> None:
    old, new = SigningKey.ec("old"), SigningKey.ec("new")
    idp.keys = [old, new]
    tokens = verifier(jwks_settings(idp), clock)
    old_token = idp.token(old)
    await tokens.verify(old_token)

    idp.keys = [new]
    clock.advance(CACHE_SECONDS - 1)
    await tokens.verify(old_token)  # still cached
    clock.advance(1)
    with pytest.raises(TokenError, match="unknown key id 'old'"):
        await tokens.verify(old_token)
    assert idp.jwks_requests == 2
    assert (await tokens.verify(idp.token(new)))["sub"] == "zhou-pmo"


async def test_unknown_key_ids_refetch_at_most_once_per_interval(
    idp: IdentityProvider, clock: Clock
) -> None:
    key, stranger = SigningKey.rsa("real"), SigningKey.rsa("made-up")
    idp.keys = [key]
    tokens = verifier(jwks_settings(idp), clock)
    await tokens.verify(idp.token(key))
    clock.advance(REFETCH_INTERVAL)

    forged = [stranger.sign(claims(idp.issuer), kid=f"made-up-{n}") for n in range(5)]
    refusals = await asyncio.gather(*(tokens.verify(t) for t in forged), return_exceptions=True)
    assert all(isinstance(r, TokenError) and "unknown key id" in str(r) for r in refusals)
    assert idp.jwks_requests == 2  # one refetch, shared by the five

    clock.advance(REFETCH_INTERVAL - 1)
    with pytest.raises(TokenError, match="unknown key id"):
        await tokens.verify(forged[0])
    assert idp.jwks_requests == 2
    clock.advance(1)
    with pytest.raises(TokenError, match="unknown key id"):
        await tokens.verify(forged[0])
    assert idp.jwks_requests == 3


async def test_cached_keys_stay_in_use_while_the_provider_is_down(
    idp: IdentityProvider, clock: Clock
) -> None:
    key = SigningKey.rsa("k1")
    idp.keys = [key]
    tokens = verifier(jwks_settings(idp), clock)
    await tokens.verify(idp.token(key))

    idp.failing = True
    clock.advance(CACHE_SECONDS)
    assert (await tokens.verify(idp.token(key)))["sub"] == "zhou-pmo"
    assert idp.jwks_requests == 2

    with pytest.raises(SigningKeysUnavailable, match="503"):
        await verifier(jwks_settings(idp), clock).verify(idp.token(key))


async def test_oidc_discovery_under_the_issuer_finds_the_jwks(
    idp: IdentityProvider, clock: Clock
) -> None:
    key = SigningKey.ec("discovered")
    idp.keys = [key]
    settings = jwks_settings(idp, jwt_jwks_url=None, jwt_algorithm="RS256")
    assert (await verifier(settings, clock).verify(idp.token(key)))["sub"] == "zhou-pmo"

    # The document names the issuer it belongs to: another configured issuer finds no keys.
    elsewhere = settings.model_copy(update={"jwt_issuer": idp.issuer + "/"})
    with pytest.raises(SigningKeysUnavailable, match="names issuer"):
        await verifier(elsewhere, clock).verify(idp.token(key, iss=idp.issuer + "/"))


def _ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://someone-else.example"}, "wrong issuer"),
        ({"iss": None}, "no 'iss' claim"),
        ({"aud": "another-app"}, "wrong audience"),
        ({"aud": None}, "no 'aud' claim"),
        ({"exp": None}, "no 'exp' claim"),
        ({"sub": None}, "no 'sub' claim"),
        ({"sub": " "}, "sub must be a non-empty string"),
        # Evaluated at collection time, so far enough beyond the leeway to outlast a session.
        ({"exp": _ago(3600)}, "token expired"),
        ({"nbf": _ago(-3600)}, "nbf is in the future"),
        ({"iat": _ago(-3600)}, "iat is in the future"),
    ],
)
async def test_bad_claims_are_refused_with_the_reason(
    idp: IdentityProvider, clock: Clock, changes: dict[str, Any], reason: str
) -> None:
    key = SigningKey.rsa("k1")
    idp.keys = [key]
    with pytest.raises(TokenError, match=reason):
        await verifier(jwks_settings(idp), clock).verify(idp.token(key, **changes))


async def test_clock_skew_within_the_leeway_is_tolerated(
    idp: IdentityProvider, clock: Clock
) -> None:
    key = SigningKey.rsa("k1")
    idp.keys = [key]
    skewed = idp.token(key, exp=_ago(20), nbf=_ago(-20), iat=_ago(-20))
    assert (await verifier(jwks_settings(idp), clock).verify(skewed))["sub"] == "zhou-pmo"


async def test_forged_algorithms_are_refused(idp: IdentityProvider, clock: Clock) -> None:
    key = SigningKey.rsa("k1")
    idp.keys = [key]
    payload = claims(idp.issuer)
    with_jwks = verifier(jwks_settings(idp), clock)
    with_pem = verifier(
        jwks_settings(idp, jwt_jwks_url=None, jwt_public_key=key.public_pem()), clock
    )

    for tokens in (with_jwks, with_pem):
        with pytest.raises(TokenError, match="unsupported algorithm 'none'"):
            await tokens.verify(unsigned(payload, "k1"))
        # The public key's text as an HMAC secret: anyone could sign with it.
        with pytest.raises(TokenError, match="unsupported algorithm 'HS256'"):
            await tokens.verify(forged_hs256(payload, key.public_pem(), "k1"))
    # The JWK says RS256: the same RSA key under another algorithm is not accepted.
    rs512 = jwt.encode(payload, key.private, algorithm="RS512", headers={"kid": "k1"})
    with pytest.raises(TokenError, match="unsupported algorithm RS512"):
        await with_jwks.verify(rs512)
    assert (await with_pem.verify(idp.token(key)))["sub"] == "zhou-pmo"


async def test_another_key_under_a_known_kid_is_a_bad_signature(
    idp: IdentityProvider, clock: Clock
) -> None:
    key = SigningKey.rsa("k1")
    idp.keys = [key]
    tokens = verifier(jwks_settings(idp), clock)
    await tokens.verify(idp.token(key))
    with pytest.raises(TokenError, match="bad signature"):
        await tokens.verify(SigningKey.rsa("k1").sign(claims(idp.issuer)))


async def test_development_tokens_are_verified_with_the_secret(clock: Clock) -> None:
    settings = Settings(jwt_secret=SECRET, jwt_public_key=None, jwt_jwks_url=None)
    token = jwt.encode(claims(settings.jwt_issuer), SECRET, algorithm="HS256")
    assert (await verifier(settings, clock).verify(token))["sub"] == "zhou-pmo"
    with pytest.raises(TokenError, match="bad signature"):
        await verifier(settings.model_copy(update={"jwt_secret": SECRET + "?"}), clock).verify(
            token
        )
    with pytest.raises(TokenError, match="malformed token"):
        await verifier(settings, clock).verify("not-a-token")


def test_settings_without_a_usable_key_are_refused_at_construction() -> None:
    with pytest.raises(TokenConfigurationError, match="needs LIAISON_JWT_PUBLIC_KEY"):
        TokenVerifier(Settings(jwt_algorithm="RS256", jwt_public_key=None, jwt_jwks_url=None))
    with pytest.raises(TokenConfigurationError, match="LIAISON_JWT_PUBLIC_KEY is not a key"):
        TokenVerifier(Settings(jwt_public_key="not a PEM"))
    with pytest.raises(TokenConfigurationError, match="LIAISON_JWT_ALGORITHM=none"):
        TokenVerifier(Settings(jwt_algorithm="none"))
