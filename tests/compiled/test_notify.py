"""Both read paths of the notify subgraph answer alike: ``myNotifications`` and the
``Notification`` entities, for every inbox query of the test suite and generated
selections, as recipients with full, read and empty inboxes (see test_differential.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.notify import repository as repo
from services.notify.models import NotificationDraft, Urgency
from services.notify.schema import create_schema
from tests.compiled.compare import Paths, both, both_paths
from tests.compiled.operations import Operation, Selections, collected
from tests.support import Caller, SubgraphClient

LI = Caller("li", departments=("mkt",))
WANG = Caller("wang", departments=("rd",))
NOBODY = Caller("zhao", departments=("legal",))
CALLERS = (LI, WANG, NOBODY)
SEED = 20261204
GENERATED = 40


@pytest.fixture
async def paths(notify_api: SubgraphClient) -> AsyncIterator[Paths]:
    runtime = notify_api.runtime
    async with runtime.pool.acquire() as conn:
        for n in range(7):
            for recipient in ("li", "wang")[: 1 + n % 2]:
                draft = NotificationDraft(
                    recipient_id=recipient,
                    type="tasks.task.assigned",
                    title=f'Task {n}: 准备 "launch" plan',
                    body="Line one\nline two",
                    source_event_id=f"evt-{n}",
                    link=f"/tasks/{n}" if n % 3 else None,
                    urgency=Urgency.URGENT if n % 2 else Urgency.NORMAL,
                )
                assert await repo.insert_notification(conn, draft) is not None
        await conn.execute("UPDATE notifications SET read_at = now() WHERE title LIKE 'Task 2%'")
    first = await runtime.pool.fetchval("SELECT id FROM notifications ORDER BY id LIMIT 1")
    sample = {"ID": first, "id": first, "Int": 3, "String": "x", "Boolean": True}
    async with both_paths("notify", notify_api, sample) as found:
        yield found


async def test_every_inbox_query_of_the_suite_answers_the_same_both_ways(paths: Paths) -> None:
    schema = create_schema(paths.compiled.runtime.settings)._schema
    operations = collected(schema, paths.sample)
    served = set()
    for operation in operations:
        for caller in CALLERS:
            if await both(paths, operation, caller):
                served.add(operation.query)
    assert len(served) >= 2, served


async def test_generated_inbox_pages_and_entities_answer_the_same_both_ways(
    paths: Paths,
) -> None:
    schema = create_schema(paths.compiled.runtime.settings)._schema
    selections = Selections(schema, SEED)
    ids = [r["id"] for r in await paths.compiled.runtime.pool.fetch("SELECT id FROM notifications")]
    representations = [{"__typename": "Notification", "id": i} for i in [*ids, "missing"]]
    served = 0
    for number in range(GENERATED):
        flag = number % 2 == 0
        pages = selections.operation(
            "myNotifications", f"(first: 3, unreadOnly: {str(flag).lower()})"
        )
        entities = selections.entities(["Notification"])
        for query, variables in (
            (pages, {"flag": flag}),
            (entities, {"flag": flag, "representations": representations}),
        ):
            operation = Operation(query, "Generated", variables, f"generated #{number}")
            for caller in CALLERS:
                served += await both(paths, operation, caller)
    assert served >= GENERATED, served
