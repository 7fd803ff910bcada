"""Partner webhooks: Standard Webhooks signatures (checked with the reference verifier),
retries, exhaustion, disabling, rotation, retry and replay, URL checks, authorization."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.worker import Worker
from prometheus_client import REGISTRY
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notify.delivery import jobs, senders
from services.notify.delivery import repository as deliveries
from services.notify.worker import TIMER_HANDLERS
from shared.timer_firing import sweep
from tests.notify.conftest import (
    Events,
    delivery_rows,
    execute_as_partner,
    issue_reported,
    wait_for,
)
from tests.notify.partners import Receiver
from tests.support import Caller, GraphQLFailure, SubgraphClient

CREATE = """
mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    endpoint { id url eventTypes enabled }
    secret
    userErrors { field code message }
  }
}
"""
ROTATE = """
mutation($id: ID!) {
  rotateWebhookSecret(input: {id: $id}) {
    endpoint { previousSecretExpiresAt } secret userErrors { code }
  }
}
"""
ENDPOINT = """
query($id: ID!) {
  webhookEndpoint(id: $id) {
    id enabled disabledReason
    deliveries { totalCount edges { node {
      id eventId status attempts lastStatusCode nextAttemptAt
      attemptLog { number outcome statusCode error }
    } } }
  }
}
"""
RETRY = """
mutation($id: ID!) { retryDelivery(input: {id: $id}) { delivery { status } userErrors { code } } }
"""
REPLAY = """
mutation($id: ID!, $from: DateTime!, $to: DateTime!) {
  replayEvents(input: {endpointId: $id, from: $from, to: $to}) { count userErrors { code } }
}
"""
ISSUES = ["issues.*"]


async def create_endpoint(
    api: SubgraphClient, partner: str, url: str, types: list[str] | None = None
) -> tuple[str, str]:
    variables = {"input": {"url": url, "eventTypes": types or ["issues.issue.reported"]}}
    data = await execute_as_partner(api, partner, ISSUES, CREATE, variables)
    payload = data["createWebhookEndpoint"]
    assert payload["userErrors"] == []
    return payload["endpoint"]["id"], payload["secret"]


async def endpoint_view(api: SubgraphClient, partner: str, endpoint_id: str) -> dict[str, Any]:
    data = await execute_as_partner(api, partner, ISSUES, ENDPOINT, {"id": endpoint_id})
    view: dict[str, Any] = data["webhookEndpoint"]
    return view


def verified(secret: str, receiver: Receiver, index: int) -> dict[str, Any]:
    """The body, checked by the Standard Webhooks reference verifier."""
    body = receiver.body(index).decode()
    payload: dict[str, Any] = Webhook(secret).verify(body, receiver.headers(index))
    return payload


async def test_event_reaches_the_partner_signed_once(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    partner = Receiver(httpserver, "/acme")
    endpoint_id, secret = await create_endpoint(notify_api, "acme", partner.url)
    assert secret.startswith("whsec_")
    counted_before = succeeded_webhooks()

    envelope = issue_reported("i1")
    assert await events.handle(envelope)
    assert await events.handle(issue_reported("i2", lead="rd"))
    await wait_for(lambda: _count(partner, 2), what="two deliveries")

    # The two deliveries run as concurrent jobs: find the first event's among them.
    bodies = [verified(secret, partner, index) for index in range(2)]
    index = next(i for i, body in enumerate(bodies) if body["id"] == envelope.id)
    first = bodies[index]
    assert first["type"] == "issues.issue.reported"
    assert first["data"]["code"] == "IS-0001"
    assert partner.headers(index)["webhook-id"] == envelope.id
    assert partner.headers(index)["content-type"] == "application/json"

    # The partner may have answered before the jobs recorded the outcomes.
    async def recorded() -> bool:
        rows = await delivery_rows(notify_api)
        return [r["status"] for r in rows] == ["SUCCEEDED", "SUCCEEDED"]

    await wait_for(recorded, what="both deliveries recorded")
    view = await endpoint_view(notify_api, "acme", endpoint_id)
    nodes = [e["node"] for e in view["deliveries"]["edges"]]
    assert {n["status"] for n in nodes} == {"SUCCEEDED"}
    assert [n["attemptLog"][0]["statusCode"] for n in nodes] == [200, 200]
    # A second copy of the same event does not send again.
    assert not await events.handle(envelope)
    assert partner.count == 2
    assert succeeded_webhooks() - counted_before == 2  # the deliveries-by-outcome metric


def succeeded_webhooks() -> float:
    labels = {"service": "notify", "channel": "webhook", "outcome": "succeeded"}
    return REGISTRY.get_sample_value("liaison_deliveries_total", labels) or 0.0


def disabled_endpoints() -> float:
    labels = {"service": "notify"}
    value = REGISTRY.get_sample_value("liaison_webhook_endpoints_disabled_total", labels)
    assert value is not None, "not exported"
    return value


async def _count(receiver: Receiver, expected: int) -> bool:
    return receiver.count >= expected


async def test_other_types_and_scopes_are_not_sent(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    partner = Receiver(httpserver, "/acme")
    await create_endpoint(notify_api, "acme", partner.url, ["issues.issue.sla_breached"])
    assert await events.handle(issue_reported("i1"))
    assert await delivery_rows(notify_api) == []
    assert partner.count == 0


async def test_target_failing_twice_then_succeeding_is_retried_with_the_same_id(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    partner = Receiver(httpserver, "/flaky", [500, 503])
    endpoint_id, secret = await create_endpoint(notify_api, "acme", partner.url)
    envelope = issue_reported("i1")
    assert await events.handle(envelope)
    await wait_for(lambda: _count(partner, 3), what="three attempts")

    assert {partner.headers(i)["webhook-id"] for i in range(3)} == {envelope.id}
    assert [verified(secret, partner, i)["id"] for i in range(3)] == [envelope.id] * 3
    view = await endpoint_view(notify_api, "acme", endpoint_id)
    await wait_for(lambda: _succeeded(notify_api), what="recorded success")
    view = await endpoint_view(notify_api, "acme", endpoint_id)
    [node] = [e["node"] for e in view["deliveries"]["edges"]]
    assert node["status"] == "SUCCEEDED"
    assert node["attempts"] == 3
    assert node["eventId"] == envelope.id
    assert [(a["number"], a["outcome"], a["statusCode"]) for a in node["attemptLog"]] == [
        (1, "FAILED", 500),
        (2, "FAILED", 503),
        (3, "SUCCEEDED", 200),
    ]


async def _succeeded(api: SubgraphClient) -> bool:
    rows = await delivery_rows(api)
    return bool(rows) and all(r["status"] == "SUCCEEDED" for r in rows)


async def test_exhausted_delivery_can_be_retried_by_hand(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    partner = Receiver(httpserver, "/down", [500, 500, 500, 500])
    endpoint_id, _ = await create_endpoint(notify_api, "acme", partner.url)
    assert await events.handle(issue_reported("i1"))

    async def exhausted() -> bool:
        rows = await delivery_rows(notify_api)
        return bool(rows) and rows[0]["status"] == "EXHAUSTED"

    await wait_for(exhausted, what="exhaustion")
    [row] = await delivery_rows(notify_api)
    assert row["attempts"] == 4  # the first attempt and the 3 retries of the schedule
    assert row["next_attempt_at"] is None
    assert partner.count == 4
    subjects = await notify_api.runtime.pool.fetch(
        "SELECT envelope FROM outbox WHERE event_type = 'notify.delivery.exhausted'"
    )
    assert [s["envelope"]["subject"] for s in subjects] == [row["id"]]

    data = await execute_as_partner(notify_api, "acme", ISSUES, RETRY, {"id": row["id"]})
    assert data["retryDelivery"] == {"delivery": {"status": "PENDING"}, "userErrors": []}
    await wait_for(lambda: _succeeded(notify_api), what="success after retryDelivery")
    assert partner.count == 5
    again = await execute_as_partner(notify_api, "acme", ISSUES, RETRY, {"id": "nope"})
    assert again["retryDelivery"]["userErrors"] == [{"code": "NOT_FOUND"}]
    view = await endpoint_view(notify_api, "acme", endpoint_id)
    assert view["deliveries"]["edges"][0]["node"]["attempts"] == 5


async def test_endpoint_failing_too_long_is_disabled_and_its_owner_told(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    notify_api.runtime.settings.notify_webhook_disable_after_seconds = 0.3
    notify_api.runtime.settings.notify_retry_schedule = [0.2] * 10
    disabled_before = disabled_endpoints()  # the worker exported 0 before any was disabled
    partner = Receiver(httpserver, "/dead", always=500)
    endpoint_id, _ = await create_endpoint(notify_api, "acme", partner.url)
    assert await events.handle(issue_reported("i1"))

    async def disabled() -> bool:
        view = await endpoint_view(notify_api, "acme", endpoint_id)
        return not view["enabled"]

    await wait_for(disabled, what="the endpoint to be disabled")
    view = await endpoint_view(notify_api, "acme", endpoint_id)
    assert "failed for" in view["disabledReason"]
    assert disabled_endpoints() == disabled_before + 1  # what the endpoint-disabled alert sees
    [node] = [e["node"] for e in view["deliveries"]["edges"]]
    assert node["status"] == "FAILED"
    assert node["nextAttemptAt"] is None
    attempts = partner.count
    assert 2 <= attempts < 10
    told = await notify_api.runtime.pool.fetch(
        "SELECT recipient_id, type, urgency FROM notifications WHERE recipient_id = 'acme'"
    )
    assert [dict(r) for r in told] == [
        {"recipient_id": "acme", "type": "notify.webhook_endpoint.disabled", "urgency": "URGENT"}
    ]
    # Nothing more is sent to a disabled endpoint, and new events make no deliveries.
    assert await events.handle(issue_reported("i2"))
    assert len(await delivery_rows(notify_api)) == 1
    assert partner.count == attempts


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    partner = Receiver(httpserver, "/rotating")
    endpoint_id, old = await create_endpoint(notify_api, "acme", partner.url)
    rotated = await execute_as_partner(notify_api, "acme", ISSUES, ROTATE, {"id": endpoint_id})
    new = rotated["rotateWebhookSecret"]["secret"]
    assert new.startswith("whsec_")
    assert new != old
    expires = datetime.fromisoformat(
        rotated["rotateWebhookSecret"]["endpoint"]["previousSecretExpiresAt"]
    )
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)

    assert await events.handle(issue_reported("i1"))
    await wait_for(lambda: _count(partner, 1), what="a delivery")
    assert len(partner.headers(0)["webhook-signature"].split(" ")) == 2
    assert verified(new, partner, 0)["type"] == "issues.issue.reported"
    assert verified(old, partner, 0)["type"] == "issues.issue.reported"

    # With no overlap left, only the newest secret signs.
    notify_api.runtime.settings.notify_secret_overlap_seconds = 0
    again = await execute_as_partner(notify_api, "acme", ISSUES, ROTATE, {"id": endpoint_id})
    newest = again["rotateWebhookSecret"]["secret"]
    assert await events.handle(issue_reported("i2"))
    await wait_for(lambda: _count(partner, 2), what="a second delivery")
    assert verified(newest, partner, 1)["data"]["id"] == "i2"
    with pytest.raises(WebhookVerificationError):
        verified(new, partner, 1)


async def test_replay_sends_a_time_range_again_with_the_same_ids(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    before = [issue_reported(f"old{i}") for i in range(3)]
    for envelope in before:
        assert await events.handle(envelope)
    partner = Receiver(httpserver, "/late")
    endpoint_id, secret = await create_endpoint(notify_api, "acme", partner.url)
    assert await delivery_rows(notify_api) == []  # past events are not sent by themselves

    window = {"id": endpoint_id, "from": before[1].time.isoformat(), "to": _after(before[2])}
    data = await execute_as_partner(notify_api, "acme", ISSUES, REPLAY, window)
    assert data["replayEvents"] == {"count": 2, "userErrors": []}
    await wait_for(lambda: _count(partner, 2), what="two replayed events")
    await wait_for(lambda: _succeeded(notify_api), what="recorded successes")
    sent = sorted(verified(secret, partner, i)["id"] for i in range(2))
    assert sent == sorted([before[1].id, before[2].id])

    # Replaying again sends the same events again, under the same webhook-ids.
    data = await execute_as_partner(notify_api, "acme", ISSUES, REPLAY, window)
    assert data["replayEvents"]["count"] == 2
    await wait_for(lambda: _count(partner, 4), what="the second replay")
    ids = sorted(partner.headers(i)["webhook-id"] for i in range(4))
    assert ids == sorted([before[1].id, before[2].id] * 2)
    backwards = {**window, "from": window["to"], "to": window["from"]}
    refused = await execute_as_partner(notify_api, "acme", ISSUES, REPLAY, backwards)
    assert refused["replayEvents"] == {"count": None, "userErrors": [{"code": "INVALID"}]}
    naive = {**window, "from": "2026-03-02T09:00:00"}  # 09:00 where?
    with pytest.raises(GraphQLFailure, match="has no UTC offset"):
        await execute_as_partner(notify_api, "acme", ISSUES, REPLAY, naive)
    too_old = {**window, "from": (datetime.now(UTC) - timedelta(days=91)).isoformat()}
    refused = await execute_as_partner(notify_api, "acme", ISSUES, REPLAY, too_old)
    assert refused["replayEvents"] == {"count": None, "userErrors": [{"code": "BEFORE_RETENTION"}]}


def _after(envelope: Any) -> str:
    moment: datetime = envelope.time + timedelta(milliseconds=1)
    return moment.isoformat()


async def test_no_answer_within_the_timeout_is_a_failure(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    notify_api.runtime.settings.notify_webhook_timeout_seconds = 0.3
    notify_api.runtime.settings.notify_retry_schedule = []
    partner = Receiver(httpserver, "/slow", delay=1.0)
    await create_endpoint(notify_api, "acme", partner.url)
    assert await events.handle(issue_reported("i1"))

    async def exhausted() -> bool:
        rows = await delivery_rows(notify_api)
        return bool(rows) and rows[0]["status"] == "EXHAUSTED"

    await wait_for(exhausted, what="the timed-out attempt")
    [row] = await delivery_rows(notify_api)
    assert row["last_error"] == "no answer within 0.3 s"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:9/hook", "INVALID_URL"),
        ("http://10.1.2.3/hook", "INVALID_URL"),
        ("http://[::1]/hook", "INVALID_URL"),
        ("http://169.254.169.254/latest", "INVALID_URL"),
        ("ftp://partner.example/hook", "INVALID_URL"),
    ],
)
async def test_private_loopback_and_non_http_urls_are_refused(
    notify_api: SubgraphClient, url: str, code: str
) -> None:
    notify_api.runtime.settings.notify_allow_private_urls = False
    variables = {"input": {"url": url, "eventTypes": ["issues.issue.reported"]}}
    data = await execute_as_partner(notify_api, "acme", ISSUES, CREATE, variables)
    payload = data["createWebhookEndpoint"]
    assert payload["endpoint"] is None
    assert payload["secret"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [("url", code)]
    assert await notify_api.runtime.pool.fetchval("SELECT count(*) FROM webhook_endpoints") == 0


async def test_event_types_outside_the_token_scopes_are_refused(
    notify_api: SubgraphClient,
) -> None:
    variables = {
        "input": {
            "url": "https://partner.example/hook",
            "eventTypes": ["issues.issue.reported", "tasks.task.created", "no.such.type", "*"],
        }
    }
    data = await execute_as_partner(notify_api, "acme", ISSUES, CREATE, variables)
    errors = data["createWebhookEndpoint"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [
        ("eventTypes.1", "EVENT_TYPE_NOT_ALLOWED"),
        ("eventTypes.2", "UNKNOWN_EVENT_TYPE"),
        ("eventTypes.3", "EVENT_TYPE_NOT_ALLOWED"),
    ]
    member = await notify_api.execute(CREATE, variables, caller=Caller("li", ("mkt",)))
    assert member["createWebhookEndpoint"]["userErrors"][0]["code"] == "FORBIDDEN"
    assert await notify_api.runtime.pool.fetchval("SELECT count(*) FROM webhook_endpoints") == 0


async def test_a_partner_sees_neither_another_partners_endpoints_nor_deliveries(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    partner = Receiver(httpserver, "/acme")
    endpoint_id, _ = await create_endpoint(notify_api, "acme", partner.url)
    assert await events.handle(issue_reported("i1"))
    await wait_for(lambda: _succeeded(notify_api), what="acme's delivery")
    [row] = await delivery_rows(notify_api)

    listing = "{ webhookEndpoints { totalCount edges { node { id } } } }"
    mine = await execute_as_partner(notify_api, "acme", ISSUES, listing)
    assert mine["webhookEndpoints"]["totalCount"] == 1
    theirs = await execute_as_partner(notify_api, "globex", ISSUES, listing)
    assert theirs["webhookEndpoints"] == {"totalCount": 0, "edges": []}
    assert await endpoint_view(notify_api, "globex", endpoint_id) is None
    one = "query($id: ID!) { delivery(id: $id) { id } }"
    assert (await execute_as_partner(notify_api, "globex", ISSUES, one, {"id": row["id"]})) == {
        "delivery": None
    }
    query = "query($id: ID!) { deliveries(endpointId: $id) { totalCount } }"
    with pytest.raises(GraphQLFailure, match="no such webhook endpoint"):
        await execute_as_partner(notify_api, "globex", ISSUES, query, {"id": endpoint_id})
    retry = await execute_as_partner(notify_api, "globex", ISSUES, RETRY, {"id": row["id"]})
    assert retry["retryDelivery"]["userErrors"] == [{"code": "NOT_FOUND"}]
    disable = (
        "mutation($id: ID!) { disableWebhookEndpoint(input: {id: $id}) { userErrors { code } } }"
    )
    refused = await execute_as_partner(notify_api, "globex", ISSUES, disable, {"id": endpoint_id})
    assert refused["disableWebhookEndpoint"]["userErrors"] == [{"code": "NOT_FOUND"}]
    now = datetime.now(UTC)
    window = {
        "id": endpoint_id,
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": now.isoformat(),
    }
    replay = await execute_as_partner(notify_api, "globex", ISSUES, REPLAY, window)
    assert replay["replayEvents"]["userErrors"] == [{"code": "NOT_FOUND"}]
    view = await endpoint_view(notify_api, "acme", endpoint_id)
    assert view["enabled"]
    assert partner.count == 1


async def test_worker_dying_after_sending_resends_with_the_same_webhook_id(
    notify_api: SubgraphClient, events: Events, httpserver: HTTPServer
) -> None:
    runtime = notify_api.runtime
    partner = Receiver(httpserver, "/acme")
    _, secret = await create_endpoint(notify_api, "acme", partner.url)
    envelope = issue_reported("i1")
    assert await events.handle(envelope)
    [row] = await delivery_rows(notify_api)

    # The first half of the job: claim and send; then the worker "dies" before recording.
    await crash_after_sending(notify_api, row["id"])
    assert partner.count == 1
    assert await sweep(runtime, TIMER_HANDLERS) == 1  # the watchdog finds the lost worker
    assert await jobs.send_delivery(runtime, row["id"]) == "SUCCEEDED"

    assert partner.count == 2  # at least once...
    assert partner.headers(1)["webhook-id"] == partner.headers(0)["webhook-id"] == envelope.id
    assert verified(secret, partner, 1)["id"] == envelope.id  # ...with the same id
    attempts = await runtime.pool.fetch(
        "SELECT number, outcome FROM delivery_attempts ORDER BY number"
    )
    assert [tuple(a) for a in attempts] == [(1, "UNKNOWN"), (2, "SUCCEEDED")]


async def crash_after_sending(api: SubgraphClient, delivery_id: str) -> None:
    """What a worker killed between sending and recording leaves behind: a claimed delivery
    with its attempt started, whose lease has run out, and its watchdog due."""
    runtime = api.runtime
    async with runtime.pool.acquire() as conn, conn.transaction():
        current = await deliveries.get_delivery(conn, delivery_id)
        assert current is not None
        prepared = await senders.prepare(conn, runtime.settings, current, datetime.now(UTC))
        claimed = await deliveries.claim(conn, delivery_id, timedelta(seconds=60))
        assert claimed is not None

    async def start() -> None:
        async with runtime.pool.acquire() as conn:
            assert await deliveries.start_attempt(conn, claimed) is not None

    outcome = await senders.send(runtime.settings, prepared, start)
    assert outcome.ok
    await runtime.pool.execute(
        "UPDATE deliveries SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
        delivery_id,
    )
    await runtime.pool.execute(
        "UPDATE timers SET due_at = now() - interval '1 second' WHERE subject = $1", delivery_id
    )


async def test_a_job_lost_long_ago_is_watched_again_a_lease_from_now(
    notify_api: SubgraphClient, events: Events, httpserver: HTTPServer
) -> None:
    """The watchdog of an attempt whose time passed long ago must not be re-armed in the past,
    where it would fire at once, find the attempt still queued and loop."""
    runtime = notify_api.runtime
    partner = Receiver(httpserver, "/acme")
    await create_endpoint(notify_api, "acme", partner.url)
    assert await events.handle(issue_reported("i1"))
    await runtime.pool.execute("UPDATE deliveries SET next_attempt_at = now() - interval '2 days'")
    await runtime.pool.execute("UPDATE timers SET due_at = now() - interval '1 second'")
    assert await sweep(runtime, TIMER_HANDLERS) == 1  # the lost job is queued again, once
    due_at = await runtime.pool.fetchval("SELECT due_at FROM timers WHERE fired_at IS NULL")
    lease = timedelta(seconds=runtime.settings.notify_delivery_lease_seconds)
    assert due_at > datetime.now(UTC) + lease - timedelta(seconds=5)
