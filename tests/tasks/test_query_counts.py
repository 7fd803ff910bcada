"""The tasks subgraph's views send as many SQL statements for 12 items as for 2."""

from __future__ import annotations

from typing import Any

from tests.support import (
    StatementCount,
    StatementCounter,
    SubgraphClient,
    assert_no_growth,
    counting_statements,
)
from tests.tasks.helpers import LI, PMO, WANG, create_task, seed_directory, seed_request
from tests.tasks.test_reports import WEEK, submit

TASKS = """
query($r: [_Any!]!) {
  _entities(representations: $r) {
    ... on CollabRequest {
      id
      tasks(first: 100) {
        totalCount
        edges { node {
          id title isOverdue parent { id } children { totalCount edges { node { id } } }
          dependsOn { id } raci { role person { id } department { id } }
          request { id }
        } }
      }
      raciMatrix {
        request { id }
        columns { key kind person { id } department { id } }
        rows { edges { node { task { id } cells { column letters } } } }
        problems { edges { node { code task { id } department { id } } } }
      }
      recurringTasks { totalCount edges { node { id instances { edges { node { id } } } } } }
    }
  }
}
"""

MATRIX = """
query($r: ID!) {
  raciMatrix(requestId: $r) {
    columns { key person { id } department { id } }
    rows(first: 100) { edges { node { task { id title raci { role } } cells { column letters } } } }
    problems { totalCount edges { node { code task { id } } } }
  }
}
"""

STATUS = """
query($r: [_Any!]!, $p: PeriodInput!) {
  _entities(representations: $r) {
    ... on CollabRequest {
      reportingStatus(period: $p) {
        deadline departments { department { id } submitted report { id } }
      }
      progressReports {
        totalCount
        edges { node {
          id submittedBy { id } request { id }
          items { task { id raci { role } } delayed }
          problems { id task { id } }
          resourceRequests { providerDepartment { id } }
        } }
      }
    }
  }
}
"""


def requests(*ids: str) -> dict[str, Any]:
    return {"r": [{"__typename": "CollabRequest", "id": i} for i in ids]}


async def measure(
    counter: StatementCounter, api: SubgraphClient, query: str, variables: dict[str, Any]
) -> list[StatementCount]:
    counts = []
    for caller in (PMO, LI):
        count, _ = await counter.count(api, query, variables, caller=caller)
        counts.append(count)
    return counts


async def test_tasks_and_raci_of_a_request_cost_the_same_for_2_and_12_tasks(
    tasks_api: SubgraphClient,
) -> None:
    api = tasks_api
    await seed_directory(api.runtime)
    await seed_request(api.runtime)
    counts = []
    async with counting_statements(api.runtime) as counter:
        parent = None
        for total in (2, 12):
            while (await api.runtime.pool.fetchval("SELECT count(*) FROM tasks")) < total:
                task = await create_task(api, parentId=parent)
                parent = parent or task["id"]
            data = await api.execute(TASKS, requests("req-1"), caller=LI)
            assert len(data["_entities"][0]["tasks"]["edges"]) == total
            counts += await measure(counter, api, TASKS, requests("req-1"))
            counts += await measure(counter, api, MATRIX, {"r": "req-1"})
    for small, large in zip(counts[:4], counts[4:], strict=True):
        assert_no_growth(small, large)


async def test_reporting_status_costs_the_same_for_2_and_12_requests(
    tasks_api: SubgraphClient,
) -> None:
    api = tasks_api
    await seed_directory(api.runtime)
    ids: list[str] = []
    counts = []
    async with counting_statements(api.runtime) as counter:
        for total in (2, 12):
            while len(ids) < total:
                ids.append(f"req-{len(ids) + 1}")
                await seed_request(api.runtime, ids[-1])
                task = await create_task(api, requestId=ids[-1])
                payload = await submit(api, task["id"], requestId=ids[-1])
                assert payload["userErrors"] == []
            variables = {
                **requests(*ids),
                "p": {"start": WEEK["periodStart"], "end": WEEK["periodEnd"]},
            }
            data = await api.execute(STATUS, variables, caller=WANG)
            assert all(e["reportingStatus"] for e in data["_entities"])
            counts += await measure(counter, api, STATUS, variables)
    for small, large in zip(counts[:2], counts[2:], strict=True):
        assert_no_growth(small, large)
