"""The issues page sends as many SQL statements for 12 issues as for 2."""

from __future__ import annotations

from typing import Any

from tests.issues.helpers import LI, PMO, WANG, report, seed_directory, seed_request
from tests.support import SubgraphClient, assert_no_growth, counting_statements

ISSUES_PAGE = """
query($first: Int!) {
  issues(first: $first) {
    pageInfo { hasNextPage endCursor }
    edges { node {
      id code status severity urgent title
      reporter { id } leadDepartment { id } responsibleDepartment { id } owner { id }
      request { id } task { id } region { id }
      slaClocks { metric state dueAt remainingMinutes region { id } }
      timeline { edges { node { at action fromStatus toStatus note actor { id } } } }
    } }
  }
}
"""

BY_REQUEST = """
query($r: [_Any!]!) {
  _entities(representations: $r) {
    ... on CollabRequest {
      id issues { totalCount edges { node { id slaClocks { remainingMinutes } } } }
    }
    ... on Task {
      id issues {
        totalCount edges { node { id timeline { totalCount edges { node { action } } } } }
      }
    }
  }
}
"""


async def test_issues_page_costs_the_same_for_2_and_12_issues(
    issues: SubgraphClient,
) -> None:
    api = issues
    await seed_directory(api)
    requests: list[str] = ["cr1"]
    counts = []
    async with counting_statements(api.runtime) as counter:
        for total in (2, 12):
            while (await api.runtime.pool.fetchval("SELECT count(*) FROM issues")) < total:
                requests.append(f"cr{len(requests) + 1}")
                await seed_request(api, requests[-1])
                await report(api, requestId=requests[-1], taskId=f"t-{requests[-1]}")
            variables: dict[str, Any] = {
                "r": [
                    *({"__typename": "CollabRequest", "id": r} for r in requests[1:]),
                    *({"__typename": "Task", "id": f"t-{r}"} for r in requests[1:]),
                ]
            }
            for caller in (PMO, LI, WANG):
                count, data = await counter.count(api, ISSUES_PAGE, {"first": 50}, caller=caller)
                assert len(data["issues"]["edges"]) == total
                by_request, data = await counter.count(api, BY_REQUEST, variables, caller=caller)
                assert all(len(e["issues"]["edges"]) == 1 for e in data["_entities"])
                counts += [count, by_request]
    for small, large in zip(counts[:6], counts[6:], strict=True):
        assert_no_growth(small, large)
