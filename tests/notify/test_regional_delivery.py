"""A region cut off from hq: its deliveries wait in its queue (Redis is in hq) and go out once
the region's egress worker runs again; hq's worker neither sends them nor fires their
watchdogs meanwhile."""

from __future__ import annotations

from typing import Any

from pytest_httpserver import HTTPServer

from services.notify import worker as notify_worker
from services.notify.delivery.service import WATCHDOG_TIMER
from services.notify.handlers import EVENT_HANDLERS
from services.notify.worker import TIMER_HANDLERS
from shared.events.consumer import Consumer
from shared.events.contracts.requests import DepartmentUpserted
from shared.events.contracts.tasks import RaciEntry
from shared.timer_firing import sweep
from tests.notify.conftest import Events, delivery_rows, task_created, wait_for
from tests.notify.partners import Receiver
from tests.notify.test_channels import LI, register, seed_request
from tests.support import SubgraphClient, in_process_worker, in_region


async def _one_delivery(api: SubgraphClient) -> dict[str, Any]:
    [row] = await delivery_rows(api, "CHANNEL")
    return row


async def test_an_eu_delivery_waits_for_an_eu_worker_and_goes_out_once_it_runs(
    notify_api: SubgraphClient, events: Events, httpserver: HTTPServer
) -> None:
    await seed_request(events)
    berlin = DepartmentUpserted(id="rd", code="rd", name="研发部", region_id="eu", head_id="chen")
    await events.emit("requests", "requests.department.upserted", "rd", berlin)
    robot = Receiver(httpserver, "/slack")
    channel = await register(notify_api, LI, kind="SLACK", webhookUrl=robot.url, department="rd")
    assert channel["userErrors"] == []
    hq, eu = in_region(notify_api.runtime, "hq"), in_region(notify_api.runtime, "eu")

    # hq's consumer routes a task of R&D's to R&D's chat group, sent from eu.
    raci = [RaciEntry(role="R", department_id="rd")]
    assert await Consumer(hq, EVENT_HANDLERS).handle(task_created("t1", raci))
    delivery = await _one_delivery(notify_api)
    assert (delivery["region"], delivery["status"]) == ("eu", "PENDING")
    queued = await hq.redis.zrange(eu.queue_name, 0, -1)
    assert sorted(job.decode().split(":")[0] for job in queued) == ["delivery", "timer"]
    assert await hq.redis.zcard(hq.queue_name) == 0

    async with in_process_worker(notify_worker.settings(hq.settings)):
        # Long past the lease, the watchdog is due; hq's sweep leaves it to eu all the same.
        await hq.pool.execute(
            "UPDATE timers SET due_at = now() - interval '1 minute' WHERE kind = $1",
            WATCHDOG_TIMER,
        )
        assert await sweep(hq, TIMER_HANDLERS) == 0
        watchdog_fired = "SELECT fired_at FROM timers WHERE kind = $1"
        assert await hq.pool.fetchval(watchdog_fired, WATCHDOG_TIMER) is None
    assert (await _one_delivery(notify_api))["status"] == "PENDING"
    assert robot.count == 0
    assert await hq.redis.zrange(eu.queue_name, 0, -1) == queued
    jobs = [await hq.redis.get(f"arq:job:{job.decode()}") for job in queued]
    assert all(jobs), "the jobs themselves are kept while they wait"

    # An egress worker consumes no events: with the stream gone, nothing makes it again.
    stream = hq.keys.event_stream
    await hq.redis.delete(stream)

    async def sent() -> bool:
        row = await _one_delivery(notify_api)
        return robot.count == 1 and row["status"] == "SUCCEEDED"

    async with in_process_worker(notify_worker.settings(eu.settings)):
        await wait_for(sent, what="the eu worker to send the waiting delivery")
    row = await _one_delivery(notify_api)
    assert (row["attempts"], robot.count) == (1, 1)
    assert b"task" in robot.body(0).lower()
    assert not await hq.redis.exists(stream)
