"""Data for the fuzz to hit, and the ids and cursors that point at it.

In process the subgraphs get the demo (:mod:`services.requests.demo`), its events delivered
to the other services as their workers would, a few tasks and an issue. Through the gateway
the fuzz makes a small directory and request of its own under ``fz-`` ids, so the other
end-to-end tests sharing the stack keep theirs. Ids and cursors then come from list queries
(:func:`harvest_queries`) run as each token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import graphql

from services.issues.worker import EVENT_HANDLERS as ISSUES_HANDLERS
from services.notify.handlers import EVENT_HANDLERS as NOTIFY_HANDLERS
from services.requests import demo
from services.sdl import sdl_path
from services.tasks.worker import EVENT_HANDLERS as TASKS_HANDLERS
from shared.events.consumer import Consumer
from shared.events.envelope import EventEnvelope
from shared.runtime import ServiceRuntime
from tests.fuzz.strategies import Pools, load_schema
from tests.support import ADMIN, Caller, SubgraphClient

Execute = Callable[[str, dict[str, Any], Caller], Awaitable[dict[str, Any]]]
"""Runs an operation as a caller and returns the whole answer (``data`` and ``errors``)."""

DEMO_PMO = Caller("zhou-pmo", departments=("pmo",), roles=("PMO", "DEPARTMENT_HEAD"))
DEMO_MEMBER = Caller("chen-mkt", departments=("mkt",))
FZ_PMO = Caller("fz-pmo", departments=("fz-pmo",), roles=("PMO",))
FZ_MEMBER = Caller("fz-member", departments=("fz-mkt",))
FZ_LEAD = Caller("fz-lead", departments=("fz-mkt",), roles=("DEPARTMENT_HEAD",))
FZ_HEAD_RD = Caller("fz-rd-head", departments=("fz-rd",), roles=("DEPARTMENT_HEAD",))

LAGGING = {"REQUEST_NOT_FOUND", "PERSON_NOT_FOUND", "DEPARTMENT_NOT_FOUND", "TASK_NOT_FOUND"}
"""Refusals that only mean a service's copy has not caught up yet."""

CREATE_TASK = """
mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id } userErrors { code } } }
"""
REPORT_ISSUE = """
mutation($input: ReportIssueInput!) {
  reportIssue(input: $input) { issue { id } userErrors { code } }
}
"""


def harvest_queries(schema: graphql.GraphQLSchema, probes: Sequence[str] = ()) -> list[str]:
    """A query per root field with no required argument, asking for every ``id`` and cursor
    a few levels down; with ``probes``, instead one per root field whose only required
    argument is an id and per probe."""
    assert schema.query_type is not None
    queries = []
    for name, root in sorted(schema.query_type.fields.items()):
        selection = _ids(graphql.get_named_type(root.type), 3)
        if not selection or name.startswith("_"):
            continue
        required = [a for a, arg in root.args.items() if graphql.is_required_argument(arg)]
        if not required and not probes:
            queries.append(f"{{ {name} {selection} }}")
        elif len(required) == 1 and str(root.args[required[0]].type) == "ID!":
            for probe in probes:
                value = graphql.print_ast(graphql.StringValueNode(value=probe))
                queries.append(f"{{ {name}({required[0]}: {value}) {selection} }}")
    return queries


def _ids(type_: graphql.GraphQLNamedType, depth: int) -> str:
    if not isinstance(type_, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
        return ""
    parts = []
    for name, field in sorted(type_.fields.items()):
        if any(graphql.is_required_argument(a) for a in field.args.values()):
            continue
        target = graphql.get_named_type(field.type)
        if name in ("id", "cursor", "endCursor") and graphql.is_leaf_type(target):
            parts.extend([name, "__typename"] if name == "id" else [name])
        elif depth > 0:
            inner = _ids(target, depth - 1)
            if inner:
                parts.append(f"{name} {inner}")
    return f"{{ {' '.join(parts)} }}" if parts else ""


async def harvest(
    execute: Execute,
    schema: graphql.GraphQLSchema,
    callers: Sequence[Caller],
    pools: Pools,
    probes: Sequence[str] = (),
) -> None:
    """Fill ``pools`` from the answers of :func:`harvest_queries` as each caller."""
    for caller in callers:
        for query in harvest_queries(schema, probes):
            pools.add(await execute(query, {}, caller))


# --- in process ---------------------------------------------------------------------------

HANDLERS = {"tasks": TASKS_HANDLERS, "issues": ISSUES_HANDLERS, "notify": NOTIFY_HANDLERS}


async def pump(runtimes: Mapping[str, ServiceRuntime]) -> None:
    """Hand every outbox event to every other service's consumer, as the relay and workers
    would, until no service has a new one."""
    consumers = {name: Consumer(runtimes[name], handlers) for name, handlers in HANDLERS.items()}
    while True:
        handled = 0
        for source, runtime in runtimes.items():
            for row in await runtime.pool.fetch("SELECT envelope FROM outbox ORDER BY seq"):
                envelope = EventEnvelope.model_validate(row["envelope"])
                for name, consumer in consumers.items():
                    if name != source:
                        handled += await consumer.handle(envelope)
        if not handled:
            return


async def seed_in_process(clients: Mapping[str, SubgraphClient]) -> Pools:
    """The demo in every subgraph, plus tasks and an issue on the Q4 launch; then the ids
    and cursors of it all."""
    runtimes = {name: client.runtime for name, client in clients.items()}
    await demo.load_demo(runtimes["requests"])
    await pump(runtimes)
    launch = await runtimes["requests"].pool.fetchval(
        "SELECT id FROM collab_requests WHERE title = 'Q4 new product national launch'"
    )
    pools = Pools(ids=[p[0] for p in demo.PEOPLE] + [d[0] for d in demo.DEPARTMENTS])
    pools.ids += [r[0] for r in demo.REGIONS]
    directory = set(pools.ids)
    lead = Caller("li-mkt", departments=("mkt",), roles=("DEPARTMENT_HEAD",))
    for task in _tasks(launch, "li-mkt", "wang-rd", "legal"):
        created = await clients["tasks"].execute(CREATE_TASK, {"input": task}, caller=lead)
        assert not created["createTask"]["userErrors"], created
        pools.add(created)
    reporter = Caller("gao-east", departments=("sales-east",), roles=("DEPARTMENT_HEAD",))
    issue = {"input": _issue(launch)}
    reported = await clients["issues"].execute(REPORT_ISSUE, issue, caller=reporter)
    assert not reported["reportIssue"]["userErrors"], reported
    pools.add(reported)
    await pump(runtimes)
    callers = [DEMO_PMO, DEMO_MEMBER]
    schemas = {service: load_schema(sdl_path(service)) for service in clients}
    for service, client in clients.items():
        await harvest(_executor(client), schemas[service], callers, pools)
    probes = [i for i in pools.ids if i not in directory][:20]  # requests, tasks, issues, ...
    for service, client in clients.items():
        await harvest(_executor(client), schemas[service], callers, pools, probes)
    return pools


def _executor(client: SubgraphClient) -> Execute:
    async def execute(query: str, variables: dict[str, Any], caller: Caller) -> Any:
        return (await client.post(query, variables, caller=caller)).json()

    return execute


def _tasks(request_id: str, accountable: str, responsible: str, consulted: str) -> list[Any]:
    due = (datetime.now(UTC) + timedelta(days=14)).replace(microsecond=0)
    raci = [
        {"role": "A", "personId": accountable},
        {"role": "R", "personId": responsible},
        {"role": "C", "departmentId": consulted},
    ]
    return [
        {
            "requestId": request_id,
            "title": "Promotional materials",
            "dueAt": due.isoformat(),
            "raci": raci,
        },
        {
            "requestId": request_id,
            "title": "Launch event",
            "isMilestone": True,
            "raci": raci,
            "dueAt": (due + timedelta(days=7)).isoformat(),
        },
    ]


def _issue(request_id: str) -> dict[str, Any]:
    return {
        "requestId": request_id,
        "title": "Sample stock short in East China",
        "description": "Only 60% of the promotional samples arrived.",
        "impact": "Store launches may slip a week.",
        "severity": "HIGH",
    }


# --- through the gateway ------------------------------------------------------------------

FZ_DIRECTORY = """
mutation {
  sh: upsertRegion(input: {id: "fz-sh", code: "FZ-SH", name: "Fuzz Shanghai",
                           timeZone: "Asia/Shanghai", holidayCountry: "CN"}) { userErrors { code } }
  ber: upsertRegion(input: {id: "fz-ber", code: "FZ-BER", name: "Fuzz Berlin",
                            timeZone: "Europe/Berlin", holidayCountry: "DE"})
    { userErrors { code } }
  mkt: upsertDepartment(input: {id: "fz-mkt", code: "FZ-MKT", name: "Fuzz marketing",
                                regionId: "fz-sh"}) { userErrors { code } }
  rd: upsertDepartment(input: {id: "fz-rd", code: "FZ-RD", name: "Fuzz R&D",
                               regionId: "fz-ber"}) { userErrors { code } }
  pmo: upsertDepartment(input: {id: "fz-pmo", code: "FZ-PMO", name: "Fuzz PMO",
                                regionId: "fz-sh"}) { userErrors { code } }
  lead: upsertPerson(input: {id: "fz-lead", name: "Fuzz Lead", email: "lead@fz.example",
    departmentId: "fz-mkt", regionId: "fz-sh", timeZone: "Asia/Shanghai",
    roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  member: upsertPerson(input: {id: "fz-member", name: "Fuzz Member", email: "member@fz.example",
    departmentId: "fz-mkt", regionId: "fz-sh", timeZone: "Asia/Shanghai"}) { userErrors { code } }
  rdHead: upsertPerson(input: {id: "fz-rd-head", name: "Fuzz RD", email: "rd@fz.example",
    departmentId: "fz-rd", regionId: "fz-ber", timeZone: "Europe/Berlin",
    roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  pmoPerson: upsertPerson(input: {id: "fz-pmo", name: "Fuzz PMO", email: "pmo@fz.example",
    departmentId: "fz-pmo", regionId: "fz-sh", timeZone: "Asia/Shanghai", roles: ["PMO"]})
    { userErrors { code } }
  mktHead: upsertDepartment(input: {id: "fz-mkt", code: "FZ-MKT", name: "Fuzz marketing",
                                    regionId: "fz-sh", headId: "fz-lead"}) { userErrors { code } }
  rdHeadOf: upsertDepartment(input: {id: "fz-rd", code: "FZ-RD", name: "Fuzz R&D",
                                     regionId: "fz-ber", headId: "fz-rd-head"})
    { userErrors { code } }
}
"""
MOVE = """
mutation($input: {input}!) {{ {name}(input: $input) {{ request {{ id }} userErrors {{ code }} }} }}
"""


async def _payload(execute: Execute, query: str, variables: dict[str, Any], caller: Caller) -> Any:
    """A mutation's payload, retried while a copy of the directory or request lags."""
    deadline = time.monotonic() + 20
    while True:
        answer = await execute(query, variables, caller)
        assert not answer.get("errors"), answer
        payload = next(iter(answer["data"].values()))
        codes = {e["code"] for e in payload["userErrors"]}
        if not codes or not codes <= LAGGING or time.monotonic() > deadline:
            assert not codes, payload
            return payload
        await asyncio.sleep(0.2)


async def seed_gateway(execute: Execute) -> Pools:
    """An active ``fz-`` request with two tasks and an issue, made through the gateway."""
    answer = await execute(FZ_DIRECTORY, {}, ADMIN)
    assert not answer.get("errors"), answer
    assert not any(v["userErrors"] for v in answer["data"].values()), answer
    created = await _payload(
        execute,
        MOVE.format(input="CreateRequestInput", name="createRequest"),
        {
            "input": {
                "kind": "PROJECT",
                "title": "Fuzz launch",
                "leadDepartmentId": "fz-mkt",
                "participantDepartmentIds": ["fz-rd"],
                "approverId": "fz-pmo",
                "goals": [
                    {"metric": "sales", "target": "100", "unit": "kEUR", "dueDate": "2027-03-31"}
                ],
            }
        },
        FZ_LEAD,
    )
    request_id = created["request"]["id"]
    move = {"input": {"requestId": request_id}}
    await _payload(
        execute, MOVE.format(input="RequestMoveInput", name="submitRequest"), move, FZ_LEAD
    )
    decision = {"input": {"requestId": request_id, "decision": "APPROVE"}}
    await _payload(
        execute, MOVE.format(input="DecideRequestInput", name="decideRequest"), decision, FZ_PMO
    )
    await _payload(
        execute, MOVE.format(input="RequestMoveInput", name="activateRequest"), move, FZ_LEAD
    )
    pools = Pools(
        ids=[
            "fz-sh",
            "fz-ber",
            "fz-mkt",
            "fz-rd",
            "fz-pmo",
            "fz-lead",
            "fz-member",
            "fz-rd-head",
            request_id,
        ]
    )
    for task in _tasks(request_id, "fz-lead", "fz-rd-head", "fz-rd"):
        pools.add(await _payload(execute, CREATE_TASK, {"input": task}, FZ_LEAD))
    pools.add(await _payload(execute, REPORT_ISSUE, {"input": _issue(request_id)}, FZ_MEMBER))
    return pools
