"""Bearer token verification: the keys a token may be signed with, and the claims it must carry.

One :class:`TokenVerifier` per process, built from :class:`Settings`. Its keys are, in this
order of precedence:

- ``LIAISON_JWT_PUBLIC_KEY``: one PEM key, with RS256 (or the asymmetric
  ``LIAISON_JWT_ALGORITHM``);
- ``LIAISON_JWT_JWKS_URL``: the identity provider's JWKS, each token's key picked by its
  ``kid`` and the algorithm the key names (RS*, PS*, ES*);
- an HS* ``LIAISON_JWT_ALGORITHM`` (the development default): ``LIAISON_JWT_SECRET``;
- otherwise (an asymmetric algorithm and no key): the JWKS that OIDC discovery under
  ``LIAISON_JWT_ISSUER`` names.

Every token needs ``sub``, ``exp``, ``iss`` = ``LIAISON_JWT_ISSUER`` and an ``aud`` naming
``LIAISON_JWT_AUDIENCE``; ``exp``, ``nbf`` and ``iat`` are checked with
``LIAISON_JWT_LEEWAY_SECONDS`` of clock skew. The gateway (gateway/identity.ts) applies the
same rules.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from jwt.algorithms import get_default_algorithms

from shared.settings import Settings

log = logging.getLogger(__name__)

SHARED_SECRET_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
"""What an identity provider's key may sign with. Never ``none``, and never HS*: a public key
used as an HMAC secret would let anyone who has read it sign tokens."""
REQUIRED_CLAIMS = ["sub", "exp", "iss", "aud"]
REFETCH_INTERVAL_SECONDS = 10.0
"""Fewest seconds between two JWKS fetches: tokens with made-up key ids cannot make Liaison
hammer the identity provider."""
FETCH_TIMEOUT_SECONDS = 5.0
DISCOVERY_PATH = "/.well-known/openid-configuration"

PublicKey = Any
"""A key object PyJWT verifies with (what ``Algorithm.prepare_key`` returns)."""


class TokenError(Exception):
    """A token was refused; the message says why."""


class SigningKeysUnavailable(TokenError):
    """The identity provider's keys could not be fetched and none are cached: the token may be
    fine, but cannot be checked now (a retry later may succeed)."""


class TokenConfigurationError(Exception):
    """The ``LIAISON_JWT_*`` settings name no usable key; the message says what to set."""


def token_algorithm(settings: Settings) -> str:
    """The algorithm of a single configured key: ``LIAISON_JWT_ALGORITHM``, except that a public
    key with a shared-secret algorithm (the HS256 default) means RS256."""
    if settings.jwt_public_key and settings.jwt_algorithm in SHARED_SECRET_ALGORITHMS:
        return "RS256"
    return settings.jwt_algorithm


class _StaticKey:
    """One key and one algorithm: the shared secret, or the PEM public key."""

    def __init__(self, key: str, algorithm: str, setting: str) -> None:
        try:
            self._key: PublicKey = get_default_algorithms()[algorithm].prepare_key(key)
        except (jwt.PyJWTError, ValueError) as exc:
            raise TokenConfigurationError(f"{setting} is not a key for {algorithm}: {exc}") from exc
        self._algorithm = algorithm

    async def key_for(self, header: dict[str, Any]) -> tuple[PublicKey, str]:
        _check_algorithm(header, frozenset({self._algorithm}))
        return self._key, self._algorithm


class _JwksKeys:
    """The identity provider's keys by ``kid``, fetched from its JWKS and kept for
    ``jwt_jwks_cache_seconds``. An unknown ``kid`` (the provider rotated its keys) refetches,
    at most once per ``refetch_interval`` and once for all callers waiting on it; when a
    fetch fails, the keys fetched before stay in use."""

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], float],
        refetch_interval: float,
    ) -> None:
        self._jwks_url = settings.jwt_jwks_url
        """Unset until OIDC discovery under the issuer has found it."""
        self._issuer = settings.jwt_issuer
        self._cache_seconds = settings.jwt_jwks_cache_seconds
        self._clock = clock
        self._refetch_interval = refetch_interval
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._last_error = ""
        self._inflight: asyncio.Task[None] | None = None

    async def key_for(self, header: dict[str, Any]) -> tuple[PublicKey, str]:
        algorithm = _check_algorithm(header, ASYMMETRIC_ALGORITHMS)
        key = await self._key(header.get("kid"))
        if key.algorithm_name != algorithm:
            raise TokenError(
                f"unsupported algorithm {algorithm}: the token's key {key.key_id!r} is for"
                f" {key.algorithm_name}"
            )
        return key, algorithm

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        if self._inflight is not None or self._should_fetch(kid):
            await self._refresh()
        key = self._find(kid)
        if key is not None:
            return key
        if not self._keys:
            raise SigningKeysUnavailable(
                f"the identity provider's signing keys cannot be fetched ({self._last_error})"
            )
        raise TokenError(f"unknown key id {kid!r}: not among the identity provider's keys")

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    def _should_fetch(self, kid: str | None) -> bool:
        now = self._clock()
        if self._attempted_at is not None and now - self._attempted_at < self._refetch_interval:
            return False
        expired = self._fetched_at is None or now - self._fetched_at >= self._cache_seconds
        return expired or self._find(kid) is None

    async def _refresh(self) -> None:
        if self._inflight is None:
            self._attempted_at = self._clock()
            self._inflight = asyncio.create_task(self._fetch_and_keep())
        # Shielded: a caller that gives up must not cancel the fetch the others wait for.
        await asyncio.shield(self._inflight)

    async def _fetch_and_keep(self) -> None:
        try:
            keys = await self._fetch()
        except (httpx.HTTPError, ValueError) as exc:
            self._last_error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "identity provider keys not fetched (%s); %s",
                self._last_error,
                "keeping the cached ones" if self._keys else "no keys to verify tokens with",
            )
        else:
            self._keys, self._fetched_at = keys, self._clock()
        finally:
            self._inflight = None

    async def _fetch(self) -> dict[str | None, jwt.PyJWK]:
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as client:
            if self._jwks_url is None:
                self._jwks_url = await _discover_jwks_url(client, self._issuer)
            response = await client.get(self._jwks_url)
            response.raise_for_status()
            return _signing_keys(response.json())


def _check_algorithm(header: dict[str, Any], allowed: frozenset[str]) -> str:
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in allowed:
        raise TokenError(
            f"unsupported algorithm {algorithm!r}: tokens are signed with"
            f" {' or '.join(sorted(allowed))}"
        )
    return algorithm


async def _discover_jwks_url(client: httpx.AsyncClient, issuer: str) -> str:
    """The ``jwks_uri`` of the issuer's OpenID Connect discovery document."""
    response = await client.get(issuer.rstrip("/") + DISCOVERY_PATH)
    response.raise_for_status()
    document = response.json()
    if not isinstance(document, dict) or not isinstance(document.get("jwks_uri"), str):
        raise ValueError(f"the discovery document of {issuer} has no jwks_uri")
    # OIDC discovery requires it; another value means LIAISON_JWT_ISSUER is not this provider's.
    if document.get("issuer") != issuer:
        raise ValueError(
            f"the discovery document names issuer {document.get('issuer')!r}, not"
            f" LIAISON_JWT_ISSUER {issuer!r}"
        )
    jwks_url: str = document["jwks_uri"]
    return jwks_url


def _signing_keys(jwks: Any) -> dict[str | None, jwt.PyJWK]:
    """The usable signature keys of a JWKS document, by ``kid``."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ValueError("the JWKS has no keys list")
    keys = {}
    for data in jwks["keys"]:
        key = _signing_key(data)
        if key is not None:
            keys[key.key_id] = key
    if not keys:
        raise ValueError(
            f"the JWKS has no signing key for {', '.join(sorted(ASYMMETRIC_ALGORITHMS))}"
        )
    return keys


def _signing_key(data: Any) -> jwt.PyJWK | None:
    # Shared-secret ("oct") keys never: a JWKS is public.
    if not isinstance(data, dict) or data.get("use", "sig") != "sig" or data.get("kty") == "oct":
        return None
    try:
        key = jwt.PyJWK(data)
    except jwt.PyJWTError:
        log.info("JWKS key skipped: not usable", extra={"kid": data.get("kid")})
        return None
    return key if key.algorithm_name in ASYMMETRIC_ALGORITHMS else None


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _key_source(
    settings: Settings, clock: Callable[[], float], refetch_interval: float
) -> _StaticKey | _JwksKeys:
    algorithm = token_algorithm(settings)
    if algorithm not in SHARED_SECRET_ALGORITHMS | ASYMMETRIC_ALGORITHMS:
        raise TokenConfigurationError(
            f"LIAISON_JWT_ALGORITHM={algorithm} is not supported: use"
            f" {', '.join(sorted(SHARED_SECRET_ALGORITHMS | ASYMMETRIC_ALGORITHMS))}"
        )
    if settings.jwt_public_key:
        return _StaticKey(settings.jwt_public_key, algorithm, "LIAISON_JWT_PUBLIC_KEY")
    if settings.jwt_jwks_url:
        return _JwksKeys(settings, clock, refetch_interval)
    if algorithm in SHARED_SECRET_ALGORITHMS:
        return _StaticKey(settings.jwt_secret, algorithm, "LIAISON_JWT_SECRET")
    if _is_http_url(settings.jwt_issuer):
        return _JwksKeys(settings, clock, refetch_interval)
    raise TokenConfigurationError(
        f"LIAISON_JWT_ALGORITHM={algorithm} needs LIAISON_JWT_PUBLIC_KEY, LIAISON_JWT_JWKS_URL"
        f" or an http(s) LIAISON_JWT_ISSUER (OIDC discovery); it is {settings.jwt_issuer!r}"
    )


def _refusal(exc: jwt.PyJWTError, settings: Settings) -> str:
    """Why PyJWT refused a token, in words an operator or client can act on."""
    match exc:
        case jwt.ExpiredSignatureError():
            return "token expired"
        case jwt.ImmatureSignatureError():
            claim = "iat" if "(iat)" in str(exc) else "nbf"
            return f"token not yet valid: its {claim} is in the future"
        case jwt.MissingRequiredClaimError():
            return f"token has no {exc.claim!r} claim"
        case jwt.InvalidIssuerError():
            return f"wrong issuer: tokens must have iss {settings.jwt_issuer!r}"
        case jwt.InvalidAudienceError():
            return f"wrong audience: tokens must have aud {settings.jwt_audience!r}"
        case jwt.InvalidSignatureError():
            return "bad signature"
        case jwt.InvalidAlgorithmError():
            return f"unsupported algorithm: {exc}"
        case jwt.DecodeError():
            return f"malformed token: {exc}"
    return f"invalid token: {exc}"


class TokenVerifier:
    """Verifies bearer tokens against the configured keys and claims (see the module)."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
        refetch_interval_seconds: float = REFETCH_INTERVAL_SECONDS,
    ) -> None:
        """Raises :class:`TokenConfigurationError` when the settings name no usable key.
        ``clock`` (monotonic seconds) and ``refetch_interval_seconds`` pace the JWKS cache."""
        self._settings = settings
        self._keys = _key_source(settings, clock, refetch_interval_seconds)

    async def verify(self, token: str) -> dict[str, Any]:
        """The claims of ``token`` once its signature and claims check out; else
        :class:`TokenError` (:class:`SigningKeysUnavailable` when no key could be fetched)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenError(_refusal(exc, self._settings)) from exc
        key, algorithm = await self._keys.key_for(header)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=self._settings.jwt_leeway_seconds,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise TokenError(_refusal(exc, self._settings)) from exc
        if not isinstance(claims["sub"], str) or not claims["sub"].strip():
            raise TokenError("token sub must be a non-empty string")
        return claims
