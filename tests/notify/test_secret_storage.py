"""Webhook and chat-robot secrets are encrypted at rest (shared/secrets_box.py): the columns
never hold them, deliveries still verify as the partners and platforms check them, rows from
before encryption still sign, and the key rotates."""

from __future__ import annotations

from typing import Any

import pytest
from arq.worker import Worker
from cryptography.fernet import Fernet
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notify.scheduled import reseal_secrets
from services.notify.webhooks.signing import new_secret
from shared.secrets_box import MARKER, SecretsBox
from tests.notify.conftest import (
    Events,
    delivery_rows,
    execute_as_partner,
    issue_reported,
    wait_for,
)
from tests.notify.partners import Receiver
from tests.notify.test_channels import (
    DINGTALK_SECRET,
    FEISHU_SECRET,
    LI,
    dingtalk_checks,
    feishu_checks,
    register,
    seed_request,
)
from tests.notify.test_webhooks import ISSUES, ROTATE, create_endpoint, verified
from tests.support import SubgraphClient


async def endpoint_row(api: SubgraphClient, endpoint_id: str) -> dict[str, Any]:
    row = await api.runtime.pool.fetchrow(
        "SELECT secret, previous_secret FROM webhook_endpoints WHERE id = $1", endpoint_id
    )
    assert row is not None
    return dict(row)


def assert_hidden(stored: str | None, *secrets: str) -> None:
    """``stored`` is ciphertext holding none of ``secrets`` (nor their key material)."""
    assert stored is not None
    assert stored.startswith(MARKER)
    for secret in secrets:
        assert secret not in stored
        assert secret.removeprefix("whsec_") not in stored


async def received(receiver: Receiver, count: int) -> None:
    async def arrived() -> bool:
        return receiver.count >= count

    await wait_for(arrived, what=f"{count} deliveries at {receiver.url}")


async def rotate(api: SubgraphClient, endpoint_id: str) -> str:
    data = await execute_as_partner(api, "acme", ISSUES, ROTATE, {"id": endpoint_id})
    secret: str = data["rotateWebhookSecret"]["secret"]
    return secret


async def test_webhook_secrets_are_stored_encrypted_and_still_sign(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    partner = Receiver(httpserver, "/acme")
    endpoint_id, first = await create_endpoint(notify_api, "acme", partner.url)
    row = await endpoint_row(notify_api, endpoint_id)
    assert_hidden(row["secret"], first)
    assert row["previous_secret"] is None

    second = await rotate(notify_api, endpoint_id)
    row = await endpoint_row(notify_api, endpoint_id)
    assert_hidden(row["secret"], first, second)
    assert_hidden(row["previous_secret"], first, second)
    # Nothing else in the database holds either secret (events, deliveries, attempts).
    for table in ("outbox", "event_log", "deliveries", "delivery_attempts"):
        exists = await notify_api.runtime.pool.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
        if exists:
            found = await notify_api.runtime.pool.fetchval(
                f"SELECT count(*) FROM {table} t"
                " WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0",
                first.removeprefix("whsec_"),
                second.removeprefix("whsec_"),
            )
            assert found == 0, table

    assert await events.handle(issue_reported("i1"))
    await received(partner, 1)
    assert len(partner.headers(0)["webhook-signature"].split(" ")) == 2
    assert verified(second, partner, 0)["type"] == "issues.issue.reported"
    assert verified(first, partner, 0)["type"] == "issues.issue.reported"


async def test_chat_robot_secrets_are_stored_encrypted_and_still_sign(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    await seed_request(events)
    dingtalk = Receiver(httpserver, "/dingtalk", answer=dingtalk_checks(DINGTALK_SECRET))
    feishu = Receiver(httpserver, "/feishu", answer=feishu_checks(FEISHU_SECRET))
    generic = Receiver(httpserver, "/generic")
    slack = Receiver(httpserver, "/slack")
    generic_secret = new_secret()
    for fields in (
        {"kind": "DINGTALK", "webhookUrl": dingtalk.url, "secret": DINGTALK_SECRET},
        {"kind": "FEISHU", "webhookUrl": feishu.url, "secret": FEISHU_SECRET},
        {"kind": "WEBHOOK", "webhookUrl": generic.url, "secret": generic_secret},
        {"kind": "SLACK", "webhookUrl": slack.url},
    ):
        assert (await register(notify_api, LI, **fields))["userErrors"] == []
    rows = await notify_api.runtime.pool.fetch("SELECT kind, secret FROM channels ORDER BY kind")
    stored = {r["kind"]: r["secret"] for r in rows}
    assert stored["SLACK"] is None
    for kind in ("DINGTALK", "FEISHU", "WEBHOOK"):
        assert_hidden(stored[kind], DINGTALK_SECRET, FEISHU_SECRET, generic_secret)

    assert await events.handle(issue_reported("i1", lead="mkt"))

    async def delivered() -> bool:
        channel_rows = await delivery_rows(notify_api, "CHANNEL")
        return len(channel_rows) == 4 and all(r["status"] == "SUCCEEDED" for r in channel_rows)

    # The robots answer an error for a bad signature: SUCCEEDED means they accepted it.
    await wait_for(delivered, what="four chat messages accepted")
    assert (dingtalk.count, feishu.count, generic.count, slack.count) == (1, 1, 1, 1)

    signed = Webhook(generic_secret).verify(generic.body(0).decode(), generic.headers(0))
    assert signed["eventType"] == "issues.issue.reported"


async def test_rows_from_before_encryption_still_sign(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    await seed_request(events)
    partner = Receiver(httpserver, "/legacy")
    dingtalk = Receiver(httpserver, "/dingtalk", answer=dingtalk_checks(DINGTALK_SECRET))
    endpoint_id, _ = await create_endpoint(notify_api, "acme", partner.url)
    assert (
        await register(
            notify_api, LI, kind="DINGTALK", webhookUrl=dingtalk.url, secret=DINGTALK_SECRET
        )
    )["userErrors"] == []
    # What the columns held before this change: the secrets in plain text.
    legacy = new_secret()
    pool = notify_api.runtime.pool
    await pool.execute(
        "UPDATE webhook_endpoints SET secret = $2 WHERE id = $1", endpoint_id, legacy
    )
    await pool.execute("UPDATE channels SET secret = $1 WHERE kind = 'DINGTALK'", DINGTALK_SECRET)

    assert await events.handle(issue_reported("i1", lead="mkt"))
    await received(partner, 1)
    assert verified(legacy, partner, 0)["data"]["id"] == "i1"

    async def robot_accepted() -> bool:
        rows = await delivery_rows(notify_api, "CHANNEL")
        return [r["status"] for r in rows] == ["SUCCEEDED"]

    await wait_for(robot_accepted, what="the DingTalk robot to accept the signature")

    # The next write seals: a rotation keeps the legacy secret as the previous one, which
    # goes on signing through the overlap while the new secret is stored encrypted.
    fresh = await rotate(notify_api, endpoint_id)
    row = await endpoint_row(notify_api, endpoint_id)
    assert_hidden(row["secret"], fresh, legacy)
    assert row["previous_secret"] == legacy
    assert await events.handle(issue_reported("i2", lead="mkt"))
    await received(partner, 2)
    assert verified(fresh, partner, 1)["data"]["id"] == "i2"
    assert verified(legacy, partner, 1)["data"]["id"] == "i2"


async def test_the_key_rotates_old_ciphertext_still_decrypts(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    settings = notify_api.runtime.settings  # shared with the worker's runtime
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.secrets_key = old_key
    partner = Receiver(httpserver, "/rotating-key")
    endpoint_id, under_old = await create_endpoint(notify_api, "acme", partner.url)
    stored_old = (await endpoint_row(notify_api, endpoint_id))["secret"]
    assert SecretsBox(old_key).open(stored_old) == under_old

    # New key first, old key kept: old ciphertext decrypts, new writes use the new key.
    settings.secrets_key = f"{new_key},{old_key}"
    assert await events.handle(issue_reported("i1"))
    await received(partner, 1)
    assert verified(under_old, partner, 0)["data"]["id"] == "i1"

    settings.notify_secret_overlap_seconds = 0  # the old-key secret stops signing at once
    under_new = await rotate(notify_api, endpoint_id)
    row = await endpoint_row(notify_api, endpoint_id)
    assert SecretsBox(new_key).open(row["secret"]) == under_new
    assert SecretsBox(f"{new_key},{old_key}").open(row["previous_secret"]) == under_old

    # The old key can go: the only secret still under it has expired and is not read.
    settings.secrets_key = new_key
    assert await events.handle(issue_reported("i2"))
    await received(partner, 2)
    assert verified(under_new, partner, 1)["data"]["id"] == "i2"
    with pytest.raises(WebhookVerificationError):
        verified(under_old, partner, 1)


async def test_housekeeping_brings_every_secret_under_the_first_key(
    notify_api: SubgraphClient, events: Events, httpserver: HTTPServer
) -> None:
    settings = notify_api.runtime.settings
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.secrets_key = old_key
    await seed_request(events)
    partner = Receiver(httpserver, "/acme")
    rotated_id, first = await create_endpoint(notify_api, "acme", partner.url)
    current = await rotate(notify_api, rotated_id)  # previous_secret: `first`, under old_key
    untouched_id, untouched = await create_endpoint(notify_api, "acme", partner.url)
    robot = Receiver(httpserver, "/dingtalk")
    fields = {"kind": "DINGTALK", "webhookUrl": robot.url, "secret": DINGTALK_SECRET}
    assert (await register(notify_api, LI, **fields))["userErrors"] == []
    # Rows from before encryption: plain text.
    legacy = new_secret()
    pool = notify_api.runtime.pool
    await pool.execute("UPDATE webhook_endpoints SET secret = $2 WHERE id = $1", rotated_id, legacy)
    await pool.execute("UPDATE channels SET secret = $1", DINGTALK_SECRET)

    settings.secrets_key = f"{new_key},{old_key}"
    assert await reseal_secrets(notify_api.runtime) == 4
    assert await reseal_secrets(notify_api.runtime) == 0  # nothing left to do

    # The old key can go: every secret opens under the new key alone, unchanged.
    under_new = SecretsBox(new_key)
    rotated = await endpoint_row(notify_api, rotated_id)
    assert under_new.open(rotated["secret"]) == legacy
    assert under_new.open(rotated["previous_secret"]) == first
    assert under_new.open((await endpoint_row(notify_api, untouched_id))["secret"]) == untouched
    channel_secret = await pool.fetchval("SELECT secret FROM channels")
    assert_hidden(channel_secret, DINGTALK_SECRET)
    assert under_new.open(channel_secret) == DINGTALK_SECRET
    assert current != legacy


async def test_a_secret_under_no_configured_key_is_left_and_the_rest_resealed(
    notify_api: SubgraphClient, httpserver: HTTPServer
) -> None:
    settings = notify_api.runtime.settings
    lost_key, key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    partner = Receiver(httpserver, "/acme")
    settings.secrets_key = lost_key
    lost_id, _ = await create_endpoint(notify_api, "acme", partner.url)
    lost = (await endpoint_row(notify_api, lost_id))["secret"]
    plain_id, _ = await create_endpoint(notify_api, "acme", partner.url)
    await notify_api.runtime.pool.execute(
        "UPDATE webhook_endpoints SET secret = 'plain' WHERE id = $1", plain_id
    )

    settings.secrets_key = key
    assert await reseal_secrets(notify_api.runtime) == 1
    assert (await endpoint_row(notify_api, lost_id))["secret"] == lost  # kept, not destroyed
    assert SecretsBox(key).open((await endpoint_row(notify_api, plain_id))["secret"]) == "plain"
