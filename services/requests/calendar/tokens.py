"""Feed tokens: one per person, found by its SHA-256 hash, kept sealed to be shown again."""

from __future__ import annotations

import hashlib
import secrets
from urllib.parse import urlsplit, urlunsplit

from shared.db import Connection
from shared.secrets_box import secrets_box
from shared.settings import Settings

FEED_PATH = "/calendar/{token}.ics"
REQUEST_FEED_PATH = "/calendar/{token}/requests/{request_id}.ics"


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    """256 random bits, URL-safe: the URL is the only credential a calendar client has."""
    return secrets.token_urlsafe(32)


async def current_token(conn: Connection, settings: Settings, person_id: str) -> str:
    """The person's token, created on first ask (two first asks at once agree on one)."""
    token = new_token()
    await conn.execute(
        """INSERT INTO calendar_feeds (person_id, token_hash, sealed_token)
        VALUES ($1, $2, $3) ON CONFLICT (person_id) DO NOTHING""",
        person_id,
        token_hash(token),
        secrets_box(settings).seal(token),
    )
    sealed: str = await conn.fetchval(
        "SELECT sealed_token FROM calendar_feeds WHERE person_id = $1", person_id
    )
    return secrets_box(settings).open(sealed)


async def rotate(conn: Connection, settings: Settings, person_id: str) -> str:
    """A new token for the person; the old one finds nothing from this commit on."""
    token = new_token()
    await conn.execute(
        """INSERT INTO calendar_feeds (person_id, token_hash, sealed_token, rotated_at)
        VALUES ($1, $2, $3, now())
        ON CONFLICT (person_id) DO UPDATE SET token_hash = excluded.token_hash,
            sealed_token = excluded.sealed_token, rotated_at = now()""",
        person_id,
        token_hash(token),
        secrets_box(settings).seal(token),
    )
    return token


async def revoke(conn: Connection, person_id: str) -> bool:
    """Drop the person's token; whether there was one."""
    status: str = await conn.execute("DELETE FROM calendar_feeds WHERE person_id = $1", person_id)
    return status != "DELETE 0"


async def person_of(conn: Connection, token: str) -> str | None:
    """Whose feed ``token`` opens, if anyone's."""
    person_id: str | None = await conn.fetchval(
        "SELECT person_id FROM calendar_feeds WHERE token_hash = $1", token_hash(token)
    )
    return person_id


def public_base_url(settings: Settings) -> str:
    """The gateway as clients reach it: ``public_gateway_url``, else the origin of the
    event catalog's URL (which operators set to the region's public gateway)."""
    if settings.public_gateway_url:
        return settings.public_gateway_url.rstrip("/")
    parts = urlsplit(settings.event_catalog_url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def feed_url(settings: Settings, token: str, request_id: str | None = None) -> str:
    """The https (or http) URL of a personal feed, or of a request's feed with ``request_id``."""
    path = (
        REQUEST_FEED_PATH.format(token=token, request_id=request_id)
        if request_id
        else FEED_PATH.format(token=token)
    )
    return public_base_url(settings) + path


def webcal_url(url: str) -> str:
    """The same feed as ``webcal://``: the scheme that makes clients offer to subscribe."""
    return "webcal://" + url.split("://", 1)[1]
