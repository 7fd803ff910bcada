"""Both read paths of the notify subgraph answer alike: ``myNotifications`` and the
``Notification`` entities, for every inbox query of the test suite and generated
selections, as recipients with full, read and empty inboxes (see test_differential.py);
and the partner stream's ``events``, paged oldest first with event ids as cursors, for
partners of several scopes and members of several departments."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.notify import event_log
from services.notify import repository as repo
from services.notify.models import NotificationDraft, Urgency
from services.notify.schema import create_schema
from shared.events.contracts.requests import DepartmentUpserted
from shared.events.envelope import EventEnvelope, new_event
from tests.compiled.compare import Paths, both, both_paths, suite_both_ways
from tests.compiled.operations import Operation, Selections
from tests.notify.conftest import issue_reported, partner, sla_breached, task_created, wait_for
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
    _, served = await suite_both_ways(paths, schema, CALLERS)
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


# --- the partner event stream ---------------------------------------------------------------

PMO = Caller("zhou-pmo", roles=("PMO",))
PARTNERS = (
    partner("acme", ["issues.*"]),
    partner("globex", ["tasks.task.created", "issues.issue.sla_breached"]),
    partner("hooli", ["issues.issue.*", "requests.*"]),
    partner("umbrella", ["*"]),
    partner("initech", []),
)
STREAM_CALLERS = (*PARTNERS, LI, WANG, NOBODY, PMO)
LEGAL = DepartmentUpserted(id="legal", code="LEGAL", name="法务", region_id="hq")
TYPE_FILTERS = (None, ["issues.*"], ["tasks.task.created", "requests.*"])

EVENTS_PAGE = """
query Replay($after: String, $types: [String!]) {
  events(after: $after, types: $types, first: 2) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id type source subject region departments dataVersion time } }
  }
}
"""
SERVED = {
    EVENTS_PAGE: True,
    "query Data { events(first: 4) { edges { node { id data } } } }": True,
    "query Count { events(first: 3) { totalCount edges { node { id } } } }": True,
    "query Mixed { myNotifications(first: 3) { edges { node { id } } }"
    " events(first: 3) { edges { node { id } } } }": True,
    "query Inbox { myNotifications(first: 3) { edges { cursor node { id title } } } }": True,
    'query Unknown { events(first: 3, after: "nope") { edges { cursor } } }': False,
    'query Empty { events(first: 3, after: "") { pageInfo { endCursor } } }': False,
    "query TooMany { events(first: 1000) { edges { cursor } } }": False,
}
"""Which operations the compiled path serves: ``events`` alone or beside another compiled
field; the Python path answers a page after an id the log does not hold (with its error),
after the empty cursor (the start, handed back as the end cursor) and a refused size."""


ODD_PAYLOAD = {
    "ratio": 2.5,
    "huge": 1e20,
    "tiny": 1.5e-7,
    "nested": {"list": [1, 2.25, None, True], "text": '引号 "x" \\ \u0001 \n'},
    "a": [],
}
"""A payload of numbers, nesting and characters to escape, whose JSON text both paths copy."""


def _in(
    departments: list[str], envelope: EventEnvelope, region: str | None = None
) -> EventEnvelope:
    return envelope.model_copy(update={"departments": departments, "region": region})


def _stream() -> list[EventEnvelope]:
    """Events of several types and departments; those of none only PMO and partners see."""
    return [
        _in(["mkt"], issue_reported("i1", "mkt"), "east"),
        _in(["mkt", "ops"], sla_breached("i1", "mkt")),
        _in(["rd"], task_created("t1", [], title='准备 "launch" \\ plan')),
        _in(["mkt"], task_created("t2", [])),
        _in([], issue_reported("i2", "legal")),
        new_event("requests", "requests.department.upserted", "legal", LEGAL),
        _in(["rd"], sla_breached("i3", "rd"), "eu"),
        _in(["mkt"], task_created("t3", []).model_copy(update={"data": ODD_PAYLOAD})),
    ]


@pytest.fixture
async def logged(paths: Paths) -> list[str]:
    """The ids of :func:`_stream`'s events, logged and readable (below every running
    transaction of the cluster, which another test's open transaction can hold back)."""
    stream = _stream()
    async with paths.compiled.runtime.pool.acquire() as conn:
        for envelope in stream:
            assert await event_log.append(conn, envelope) is not None
    everything = "{ events(first: 100) { edges { cursor } } }"

    async def readable() -> bool:
        page = await paths.python.execute(everything, caller=PMO)
        return len(page["events"]["edges"]) == len(stream)

    await wait_for(readable, what="the logged events to be readable")
    return [e.id for e in stream]


async def test_every_events_page_answers_the_same_both_ways(
    paths: Paths, logged: list[str]
) -> None:
    """Each page after each event, for every scope, department and type filter."""
    for types in TYPE_FILTERS:
        for after in (None, *logged):
            variables = {"after": after, "types": types}
            operation = Operation(EVENTS_PAGE, "Replay", variables, f"after {after} of {types}")
            for caller in STREAM_CALLERS:
                assert await both(paths, operation, caller)


async def test_which_operations_are_served_compiled(paths: Paths, logged: list[str]) -> None:
    for query, compiled in SERVED.items():
        operation = Operation(query, None, {}, "SERVED")
        for caller in STREAM_CALLERS:
            assert await both(paths, operation, caller) is compiled, (query, caller.sub)


async def test_generated_events_selections_answer_the_same_both_ways(
    paths: Paths, logged: list[str]
) -> None:
    schema = create_schema(paths.compiled.runtime.settings)._schema
    selections = Selections(schema, SEED)
    served = 0
    for number in range(GENERATED // 2):
        query = selections.operation("events", "(first: 3)")
        operation = Operation(query, "Generated", {"flag": number % 2 == 0}, f"#{number}")
        for caller in STREAM_CALLERS:  # a selection that reads no `$flag` is refused: not served
            served += await both(paths, operation, caller)
    assert served >= GENERATED // 4 * len(STREAM_CALLERS), served
