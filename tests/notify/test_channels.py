"""Chat groups: registration and naming, each platform's format and signature checked by a
local server the way the platform checks it, phase routing, no duplicate after a crash."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import time
from typing import Any

import orjson
from arq.worker import Worker
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook

from services.notify.delivery import service as deliveries
from services.notify.models import TargetKind
from services.notify.webhooks.signing import new_secret
from services.notify.worker import TIMER_HANDLERS
from shared.events.contracts.requests import DepartmentUpserted, RequestCreated, RequestUpdated
from shared.events.contracts.tasks import RaciEntry
from shared.timer_firing import sweep
from shared.unit_of_work import unit_of_work
from tests.notify.conftest import Events, delivery_rows, issue_reported, task_created, wait_for
from tests.notify.partners import Receiver
from tests.notify.test_webhooks import crash_after_sending
from tests.support import Caller, SubgraphClient

NOT_TAKING_PART = "DEPARTMENT_NOT_PARTICIPATING"
LI = Caller("li", departments=("mkt",))  # the lead department
CHEN = Caller("chen", departments=("rd",))  # a participant, not the lead
DINGTALK_SECRET = DING = "SEC0123456789abcdef"
FEISHU_SECRET = "feishu-secret-42"

REGISTER = """
mutation($input: RegisterChannelInput!) {
  registerChannel(input: $input) {
    channel { id name kind phase requestId departmentId }
    userErrors { field code }
  }
}
"""


def dingtalk_checks(secret: str) -> Any:
    """DingTalk's custom robot: timestamp within an hour, sign = HMAC-SHA256 of it."""

    def answer(headers: dict[str, str], body: bytes, args: dict[str, str]) -> tuple[int, str]:
        stamp = args.get("timestamp", "")
        expected = base64.b64encode(
            hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        ).decode()
        fresh = stamp.isdigit() and abs(time.time() * 1000 - int(stamp)) < 3_600_000
        if not fresh or not hmac.compare_digest(args.get("sign", ""), expected):
            return 200, '{"errcode":310000,"errmsg":"sign not match"}'
        message = orjson.loads(body)
        if message.get("msgtype") != "markdown" or not message["markdown"].get("text"):
            return 200, '{"errcode":40035,"errmsg":"missing markdown"}'
        return 200, '{"errcode":0,"errmsg":"ok"}'

    return answer


def wecom_checks(headers: dict[str, str], body: bytes, args: dict[str, str]) -> tuple[int, str]:
    message = orjson.loads(body)
    if message.get("msgtype") != "markdown" or not message["markdown"].get("content"):
        return 200, '{"errcode":40008,"errmsg":"invalid message type"}'
    return 200, '{"errcode":0,"errmsg":"ok"}'


def feishu_checks(secret: str) -> Any:
    """Feishu / Lark custom bot: sign = base64 HMAC-SHA256 keyed by "timestamp\\nsecret"."""

    def answer(headers: dict[str, str], body: bytes, args: dict[str, str]) -> tuple[int, str]:
        message = orjson.loads(body)
        stamp = message.get("timestamp", "")
        key = f"{stamp}\n{secret}".encode()
        expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 3600
        if not fresh or message.get("sign") != expected:
            return 200, '{"code":19021,"msg":"sign match fail or timestamp is not within one hour"}'
        if message.get("msg_type") != "post":
            return 200, '{"code":19002,"msg":"params error"}'
        return 200, '{"code":0,"msg":"success","data":{}}'

    return answer


async def seed_request(events: Events, phase: str = "PREPARATION") -> None:
    names = {"mkt": "市场部", "rd": "研发部", "ops": "运营部"}
    heads = {"mkt": "li", "rd": "chen", "ops": "zhou"}
    for department, name in names.items():
        data = DepartmentUpserted(
            id=department, code=department, name=name, region_id="hq", head_id=heads[department]
        )
        await events.emit("requests", "requests.department.upserted", department, data)
    request = RequestCreated(
        id="cr1",
        code="CR-2026-0001",
        kind="PROJECT",
        title="2024新品推广",
        status="ACTIVE",
        lead_department_id="mkt",
        participant_department_ids=["rd", "ops"],
        created_by="li",
        phase=phase,
    )
    await events.emit("requests", "requests.request.created", "cr1", request)


async def register(api: SubgraphClient, caller: Caller, **fields: Any) -> dict[str, Any]:
    values = {"request": "cr1", "phase": "PREPARATION", "department": "mkt", **fields}
    data = await api.execute(REGISTER, {"input": values}, caller=caller)
    payload: dict[str, Any] = data["registerChannel"]
    return payload


async def test_channels_are_named_by_the_handbook_rule_and_checked(
    notify_api: SubgraphClient, events: Events
) -> None:
    await seed_request(events)
    url = "https://93.184.216.34/robot/send?access_token=abc"  # public: allowed
    notify_api.runtime.settings.notify_allow_private_urls = False
    created = await register(
        notify_api, LI, kind="DINGTALK", webhookUrl=url, secret=DINGTALK_SECRET
    )
    assert created["userErrors"] == []
    channel = created["channel"]
    assert channel["name"] == "2024新品推广-筹备-市场部"
    assert (channel["kind"], channel["phase"], channel["departmentId"]) == (
        "DINGTALK",
        "PREPARATION",
        "mkt",
    )
    execution = await register(
        notify_api, LI, kind="WECOM", phase="EXECUTION", department="rd", webhookUrl=url
    )
    assert execution["channel"]["name"] == "2024新品推广-执行-研发部"

    refusals = [
        (CHEN, {"kind": "WECOM", "webhookUrl": url}, "FORBIDDEN"),
        (LI, {"kind": "WECOM", "webhookUrl": url, "request": "nope"}, "REQUEST_NOT_FOUND"),
        (
            LI,
            {"kind": "WECOM", "webhookUrl": url, "department": "legal"},
            "DEPARTMENT_NOT_PARTICIPATING",
        ),
        (LI, {"kind": "FEISHU", "webhookUrl": url}, "SECRET_REQUIRED"),
        (LI, {"kind": "DINGTALK", "webhookUrl": url, "secret": "S"}, "CHANNEL_EXISTS"),
        (LI, {"kind": "SLACK", "webhookUrl": "http://192.168.1.5/hook"}, "INVALID_URL"),
        (LI, {"kind": "EMAIL", "webhookUrl": "https://x.example"}, "INVALID_URL"),
        (LI, {"kind": "WEBHOOK", "webhookUrl": url, "secret": "plain"}, "INVALID_SECRET"),
    ]
    for caller, fields, code in refusals:
        payload = await register(notify_api, caller, **fields)
        assert payload["channel"] is None
        assert [e["code"] for e in payload["userErrors"]] == [code], fields
    assert await notify_api.runtime.pool.fetchval("SELECT count(*) FROM channels") == 2

    listed = await notify_api.execute('{ channels(request: "cr1") { name } }', caller=CHEN)
    assert sorted(c["name"] for c in listed["channels"]) == [
        "2024新品推广-执行-研发部",
        "2024新品推广-筹备-市场部",
    ]
    outsider = Caller("sun", departments=("legal",))
    assert (await notify_api.execute('{ channels(request: "cr1") { name } }', caller=outsider)) == {
        "channels": []
    }


async def test_each_platform_gets_its_format_signed_as_it_checks(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    await seed_request(events)
    dingtalk = Receiver(httpserver, "/dingtalk", answer=dingtalk_checks(DINGTALK_SECRET))
    wecom = Receiver(httpserver, "/wecom", answer=wecom_checks)
    feishu = Receiver(httpserver, "/feishu", answer=feishu_checks(FEISHU_SECRET))
    slack = Receiver(httpserver, "/slack")
    generic = Receiver(httpserver, "/generic")
    later = Receiver(httpserver, "/execution")
    generic_secret = new_secret()
    for fields in (
        {
            "kind": "DINGTALK",
            "webhookUrl": dingtalk.url + "?access_token=t1",
            "secret": DINGTALK_SECRET,
        },
        {"kind": "SLACK", "webhookUrl": slack.url},
        {"kind": "WECOM", "webhookUrl": wecom.url + "?key=k1", "department": "rd"},
        {
            "kind": "WEBHOOK",
            "webhookUrl": generic.url,
            "department": "rd",
            "secret": generic_secret,
        },
        {"kind": "FEISHU", "webhookUrl": feishu.url, "department": "ops", "secret": FEISHU_SECRET},
        {"kind": "DINGTALK", "webhookUrl": later.url, "phase": "EXECUTION", "secret": "SECx"},
    ):
        assert (await register(notify_api, LI, **fields))["userErrors"] == []

    # An urgent issue led by marketing: marketing's channels of the current phase only.
    assert await events.handle(issue_reported("i1", lead="mkt", urgent=True))
    # A task whose R is in R&D and whose I is operations: those departments' channels.
    raci = [RaciEntry(role="R", department_id="rd"), RaciEntry(role="I", department_id="ops")]
    assert await events.handle(task_created("t1", raci))

    async def all_sent() -> bool:
        rows = await delivery_rows(notify_api, "CHANNEL")
        return len(rows) == 5 and all(r["status"] == "SUCCEEDED" for r in rows)

    await wait_for(all_sent, what="five chat messages")
    counts = [r.count for r in (dingtalk, slack, wecom, generic, feishu, later)]
    assert counts == [1, 1, 1, 1, 1, 0]

    ding = orjson.loads(dingtalk.body(0))
    assert ding["msgtype"] == "markdown"
    assert ding["markdown"]["title"].startswith("【紧急 URGENT】Issue IS-0001 reported")
    assert "/issues/i1" in ding["markdown"]["text"]
    assert dingtalk.query(0)["access_token"] == "t1"
    assert "Issue IS-0001" in orjson.loads(slack.body(0))["text"]
    assert "New task: Launch posters" in orjson.loads(wecom.body(0))["markdown"]["content"]
    post = orjson.loads(feishu.body(0))["content"]["post"]["zh_cn"]
    assert post["title"] == "New task: Launch posters"
    assert post["content"][1][0]["href"].endswith("/tasks/t1")
    signed = Webhook(generic_secret).verify(generic.body(0).decode(), generic.headers(0))
    assert signed["channel"] == "2024新品推广-筹备-研发部"
    assert signed["eventType"] == "tasks.task.created"


async def test_messages_follow_the_request_into_its_next_phase(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    await seed_request(events)
    preparation = Receiver(httpserver, "/prep")
    execution = Receiver(httpserver, "/exec")
    await register(notify_api, LI, kind="SLACK", webhookUrl=preparation.url)
    await register(notify_api, LI, kind="SLACK", webhookUrl=execution.url, phase="EXECUTION")

    moved = RequestUpdated(
        id="cr1",
        code="CR-2026-0001",
        kind="PROJECT",
        title="2024新品推广",
        status="ACTIVE",
        previous_status="ACTIVE",
        lead_department_id="mkt",
        participant_department_ids=["rd", "ops"],
        created_by="li",
        phase="EXECUTION",
    )
    await events.emit("requests", "requests.request.updated", "cr1", moved)
    assert await events.handle(issue_reported("i1", lead="mkt"))
    await wait_for(lambda: _received(execution), what="the execution channel's message")
    assert preparation.count == 0


async def _received(receiver: Receiver) -> bool:
    return receiver.count > 0


async def test_robot_refusal_is_a_failed_attempt_and_retried(
    notify_api: SubgraphClient, events: Events, worker: Worker, httpserver: HTTPServer
) -> None:
    await seed_request(events)
    wrong = Receiver(httpserver, "/dingtalk", answer=dingtalk_checks("SECother"))
    await register(notify_api, LI, kind="DINGTALK", webhookUrl=wrong.url, secret=DINGTALK_SECRET)
    assert await events.handle(issue_reported("i1", lead="mkt"))

    async def exhausted() -> bool:
        rows = await delivery_rows(notify_api, "CHANNEL")
        return bool(rows) and rows[0]["status"] == "EXHAUSTED"

    await wait_for(exhausted, what="four refused attempts")
    [row] = await delivery_rows(notify_api, "CHANNEL")
    assert row["last_error"] == "platform error 310000: sign not match"
    assert row["last_status_code"] == 200
    assert wrong.count == 4


async def test_worker_dying_after_sending_never_sends_a_chat_message_twice(
    notify_api: SubgraphClient, events: Events, httpserver: HTTPServer
) -> None:
    await seed_request(events)
    robot = Receiver(httpserver, "/wecom", answer=wecom_checks)
    await register(notify_api, LI, kind="WECOM", webhookUrl=robot.url)
    assert await events.handle(issue_reported("i1", lead="mkt"))
    [row] = await delivery_rows(notify_api, "CHANNEL")

    await crash_after_sending(notify_api, row["id"])
    assert await sweep(notify_api.runtime, TIMER_HANDLERS) == 1
    [after] = await delivery_rows(notify_api, "CHANNEL")
    assert after["status"] == "FAILED"
    assert after["next_attempt_at"] is None
    assert "not sent again" in after["last_error"]
    assert await sweep(notify_api.runtime, TIMER_HANDLERS) == 0
    assert robot.count == 1
    outcome = await notify_api.runtime.pool.fetchval("SELECT outcome FROM delivery_attempts")
    assert outcome == "UNKNOWN"
    # A person may decide to send it again.
    retry = "mutation($id: ID!) { retryDelivery(input: {id: $id}) { userErrors { code } } }"
    data = await notify_api.execute(retry, {"id": row["id"]}, caller=LI)
    assert data["retryDelivery"]["userErrors"] == []
    other = await notify_api.execute(retry, {"id": row["id"]}, caller=CHEN)
    assert other["retryDelivery"]["userErrors"] == [{"code": "NOT_FOUND"}]


async def test_chat_deliveries_queue_in_the_region_of_the_channels_department(
    notify_api: SubgraphClient, events: Events, httpserver: HTTPServer
) -> None:
    """With regional queues, a region's workers (inside its network) reach its chat robots."""
    await seed_request(events)
    east = DepartmentUpserted(id="rd", code="rd", name="研发部", region_id="east", head_id="chen")
    await events.emit("requests", "requests.department.upserted", "rd", east)
    robot = Receiver(httpserver, "/slack")
    registered = await register(notify_api, LI, kind="SLACK", webhookUrl=robot.url, department="rd")
    runtime = notify_api.runtime
    regional = dataclasses.replace(
        runtime, settings=runtime.settings.model_copy(update={"regional_queues": True})
    )
    async with unit_of_work(regional) as uow:
        delivery = await deliveries.create(
            uow,
            "evt-1",
            "issues.issue.reported",
            TargetKind.CHANNEL,
            registered["channel"]["id"],
            {"text": "hi"},
        )
    assert delivery is not None
    assert delivery.region == "east"
    east_jobs = await runtime.redis.zrange(runtime.keys.job_queue("notify", "east"), 0, -1)
    home_jobs = await runtime.redis.zrange(runtime.keys.job_queue("notify", "hq"), 0, -1)
    # Its watchdog is bound to east as well: it acts for east's job, and waits with it.
    assert sorted(job.decode().split(":")[0] for job in east_jobs) == ["delivery", "timer"]
    assert home_jobs == []
