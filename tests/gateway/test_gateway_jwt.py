"""Token algorithms: the real gateway and the Python side (shared/tokens.py) accept the same
tokens for the same ``LIAISON_JWT_*`` settings, and ``issue_token`` signs what they accept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import AuthError, identify, issue_token
from shared.settings import Settings
from shared.tokens import TokenConfigurationError, TokenVerifier
from tests.gateway.conftest import Gateways

SECRET = "gateway-test-secret-" * 4
"""Long enough for HS512 (64 bytes)."""
TYPENAME = "{ __typename }"
ANSWERED = {"data": {"__typename": "Query"}}


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _identity_provider_token(key: rsa.RSAPrivateKey, algorithm: str = "RS256") -> str:
    """A token as an identity provider signs it: its private key, Liaison's claims."""
    now = datetime.now(UTC)
    defaults = Settings()
    claims: dict[str, object] = {"sub": "zhou-pmo", "iat": now}
    claims |= {"iss": defaults.jwt_issuer, "aud": defaults.jwt_audience}
    return jwt.encode({**claims, "exp": now + timedelta(minutes=5)}, key, algorithm=algorithm)


async def test_a_public_key_makes_both_sides_verify_rs256_with_it(gateways: Gateways) -> None:
    key, stranger = _rsa_key(), _rsa_key()
    public_key = _public_pem(key)
    gateway = gateways.start(
        "rs256",
        {
            "LIAISON_JWT_SECRET": SECRET,
            "LIAISON_JWT_PUBLIC_KEY": public_key,
            "LIAISON_JWT_ALGORITHM": "",  # the HS256 default: a public key means RS256
        },
    )
    gateways.wait_ready()
    settings = Settings(jwt_secret=SECRET, jwt_public_key=public_key)
    good = _identity_provider_token(key)
    shared_secret = issue_token(Settings(jwt_secret=SECRET, jwt_public_key=None), "zhou-pmo")
    forged = _identity_provider_token(stranger)

    assert gateway.post(TYPENAME, good).json() == ANSWERED
    assert (await identify(good, TokenVerifier(settings))).sub == "zhou-pmo"
    for refused in (shared_secret, forged):
        assert gateway.post(TYPENAME, refused).status_code == 401
        with pytest.raises(AuthError):
            await identify(refused, TokenVerifier(settings))
    with pytest.raises(RuntimeError, match="LIAISON_JWT_PUBLIC_KEY"):
        issue_token(settings, "zhou-pmo")


async def test_an_asymmetric_algorithm_of_the_settings_is_the_one_verified(
    gateways: Gateways,
) -> None:
    key = _rsa_key()
    public_key = _public_pem(key)
    gateway = gateways.start(
        "rs512", {"LIAISON_JWT_PUBLIC_KEY": public_key, "LIAISON_JWT_ALGORITHM": "RS512"}
    )
    gateways.wait_ready()
    settings = Settings(jwt_public_key=public_key, jwt_algorithm="RS512")
    rs512, rs256 = _identity_provider_token(key, "RS512"), _identity_provider_token(key)

    assert gateway.post(TYPENAME, rs512).json() == ANSWERED
    assert (await identify(rs512, TokenVerifier(settings))).sub == "zhou-pmo"
    assert gateway.post(TYPENAME, rs256).status_code == 401
    with pytest.raises(AuthError):
        await identify(rs256, TokenVerifier(settings))


async def test_issue_token_signs_with_the_configured_shared_secret_algorithm(
    gateways: Gateways,
) -> None:
    gateway = gateways.start(
        "hs512",
        {
            "LIAISON_JWT_SECRET": SECRET,
            "LIAISON_JWT_ALGORITHM": "HS512",
            "LIAISON_JWT_PUBLIC_KEY": "",
        },
    )
    gateways.wait_ready()
    settings = Settings(jwt_secret=SECRET, jwt_algorithm="HS512", jwt_public_key=None)
    token = issue_token(settings, "zhou-pmo")
    hs256 = issue_token(settings.model_copy(update={"jwt_algorithm": "HS256"}), "zhou-pmo")

    assert jwt.get_unverified_header(token)["alg"] == "HS512"
    assert gateway.post(TYPENAME, token).json() == ANSWERED
    assert (await identify(token, TokenVerifier(settings))).sub == "zhou-pmo"
    assert gateway.post(TYPENAME, hs256).status_code == 401
    with pytest.raises(AuthError):
        await identify(hs256, TokenVerifier(settings))


async def test_an_asymmetric_algorithm_without_a_public_key_is_refused(gateways: Gateways) -> None:
    settings = Settings(jwt_algorithm="RS256", jwt_public_key=None)
    with pytest.raises(TokenConfigurationError, match="needs LIAISON_JWT_PUBLIC_KEY"):
        TokenVerifier(settings)
    with pytest.raises(RuntimeError):
        issue_token(settings, "zhou-pmo")
    gateways.start("rs256-no-key", {"LIAISON_JWT_ALGORITHM": "RS256", "LIAISON_JWT_PUBLIC_KEY": ""})
    with pytest.raises(RuntimeError, match="needs LIAISON_JWT_PUBLIC_KEY"):
        gateways.wait_ready()
