"""TLS to PostgreSQL is set in the URL (deploy/README.md, "TLS to PostgreSQL and Redis"):
``sslmode`` and ``sslrootcert`` reach asyncpg unchanged, on the pooled URL and the direct one,
and ``verify-full`` never falls back to a plain connection."""

from __future__ import annotations

import ssl
from urllib.parse import parse_qs, urlsplit, urlunsplit

import certifi
import pytest

from shared.db import create_pool
from shared.settings import Settings

CA_FILE = certifi.where()
"""A CA bundle on every machine (the mounted ``ca.crt`` of CloudNativePG's CA in production)."""


def _with_query(url: str, query: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres", query=query))


def test_the_tls_parameters_reach_every_database_url() -> None:
    query = f"sslmode=verify-full&sslrootcert={CA_FILE}"
    settings = Settings(
        database_url=f"postgresql://liaison:pw@liaison-pg-pooler-rw.liaison-hq.svc:5432/postgres?{query}",
        database_direct_url=f"postgresql://liaison:pw@liaison-pg-rw.liaison-hq.svc:5432/postgres?{query}",
    )
    urls = [settings.service_database_url("issues"), settings.service_direct_database_url("issues")]
    for url in urls:
        parts = urlsplit(url)
        assert parts.path == "/liaison_issues"
        assert parse_qs(parts.query) == {"sslmode": ["verify-full"], "sslrootcert": [CA_FILE]}
    assert {urlsplit(url).hostname for url in urls} == {
        "liaison-pg-pooler-rw.liaison-hq.svc",
        "liaison-pg-rw.liaison-hq.svc",
    }


async def test_verify_full_refuses_a_server_it_cannot_verify(settings: Settings) -> None:
    """The test server speaks no TLS (or not with a certificate this CA signed): a pool on
    ``verify-full`` refuses it, where the same URL without TLS connects."""
    assert settings.database_url
    plain = await create_pool(_with_query(settings.database_url, "sslmode=disable"))
    await plain.close()
    verified = _with_query(settings.database_url, f"sslmode=verify-full&sslrootcert={CA_FILE}")
    with pytest.raises((ConnectionError, ssl.SSLError)):
        await create_pool(verified)


async def test_the_ca_file_is_read_from_the_url(settings: Settings) -> None:
    assert settings.database_url
    missing = "sslmode=verify-full&sslrootcert=/run/secrets/postgres-ca/absent.crt"
    with pytest.raises(FileNotFoundError):
        await create_pool(_with_query(settings.database_url, missing))
