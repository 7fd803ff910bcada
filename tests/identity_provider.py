"""An identity provider's public side on a real local HTTP server: a JWKS and an OpenID Connect
discovery document, with signing keys made here, that rotate when a test says so."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

AUDIENCE = "liaison"
REALM = "/realms/liaison"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    private: PrivateKey

    @classmethod
    def rsa(cls, kid: str, algorithm: str = "RS256") -> SigningKey:
        return cls(kid, algorithm, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def ec(cls, kid: str) -> SigningKey:
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            data = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            data = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**data, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def sign(self, claims: dict[str, Any], kid: str | None = None) -> str:
        return jwt.encode(
            claims, self.private, algorithm=self.algorithm, headers={"kid": kid or self.kid}
        )


def claims(issuer: str, **changes: Any) -> dict[str, Any]:
    """Liaison's claims for ``zhou-pmo``, valid for five minutes; a change to None drops it."""
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "zhou-pmo",
        "iss": issuer,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    merged = {**base, **changes}
    return {name: value for name, value in merged.items() if value is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged_hs256(payload: dict[str, Any], secret: str, kid: str) -> str:
    """An HS256 token keyed with ``secret`` (a public key's text, say), which PyJWT refuses to
    make: the algorithm-confusion attack."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    body = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in payload.items()}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}"
    digest = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(digest)}"


def unsigned(payload: dict[str, Any], kid: str) -> str:
    """An ``alg: none`` token."""
    return jwt.encode(payload, "", algorithm="none", headers={"kid": kid})


class IdentityProvider:
    """Serves ``keys`` (changed by the test at will) as the JWKS; ``failing`` answers 503."""

    def __init__(self, server: HTTPServer) -> None:
        self.issuer = server.url_for(REALM)
        self.jwks_url = server.url_for(f"{REALM}/protocol/openid-connect/certs")
        self.keys: list[SigningKey] = []
        self.failing = False
        self.jwks_requests = 0
        server.expect_request(f"{REALM}/protocol/openid-connect/certs").respond_with_handler(
            self._jwks
        )
        server.expect_request(f"{REALM}/.well-known/openid-configuration").respond_with_json(
            {"issuer": self.issuer, "jwks_uri": self.jwks_url}
        )

    def _jwks(self, request: Request) -> Response:
        self.jwks_requests += 1
        if self.failing:
            return Response("down for maintenance", status=503)
        document = {"keys": [key.jwk() for key in self.keys]}
        return Response(json.dumps(document), content_type="application/json")

    def token(self, key: SigningKey, **changes: Any) -> str:
        return key.sign(claims(self.issuer, **changes))


@contextmanager
def local_server() -> Iterator[HTTPServer]:
    """An HTTP server on 127.0.0.1 (not ``localhost``, which Node may resolve to ::1 first);
    stopping one takes half a second, so tests share it and clear it in between."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def identity_provider(server: HTTPServer) -> Iterator[IdentityProvider]:
    try:
        yield IdentityProvider(server)
    finally:
        server.clear()
