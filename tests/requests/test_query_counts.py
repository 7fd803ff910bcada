"""The requests subgraph's list views send as many SQL statements for 12 items as for 2."""

from __future__ import annotations

from datetime import timedelta

from tests.requests.helpers import CHEN, LI, PMO, active_request, create_request
from tests.requests.test_meetings import PUBLISH, SCHEDULE, STARTS, meeting_input, run
from tests.support import SubgraphClient, assert_no_growth, counting_statements

REQUESTS_PAGE = """
query($first: Int!) {
  requests(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id code title status
      leadDepartment { id name region { id code } }
      participants { id name }
      goals { id metric target unit dueDate }
      resourceNeeds { id kind quantity unit providerDepartment { id } }
      approver { id name department { id } }
      milestones { title }
      history { totalCount edges { node { action actor { id } } } }
      decisions { edges { node { action } } }
      meetings {
        totalCount edges { node { id attendees { totalCount edges { node { required } } } } }
      }
      risks { totalCount edges { node { id } } }
      lessons { edges { node { id } } }
      folders { totalCount edges { node { path links { totalCount edges { node { id } } } } } }
    } }
  }
}
"""

NEED = {
    "kind": "BUDGET",
    "description": "launch",
    "quantity": "150000",
    "unit": "CNY",
    "providerDepartmentId": "rd",
}


async def test_requests_page_costs_the_same_for_2_and_12_requests(api: SubgraphClient) -> None:
    async with counting_statements(api.runtime) as counter:
        counts = []
        for total in (2, 12):
            while len(await _ids(api)) < total:
                await create_request(api, resourceNeeds=[NEED])
            for caller in (PMO, LI):
                count, data = await counter.count(api, REQUESTS_PAGE, {"first": 50}, caller=caller)
                assert len(data["requests"]["edges"]) == total
                counts.append(count)
    for small, large in zip(counts[:2], counts[2:], strict=True):
        assert_no_growth(small, large)


async def _ids(api: SubgraphClient) -> list[str]:
    return [r["id"] for r in await api.runtime.pool.fetch("SELECT id FROM collab_requests")]


MEETINGS = """
query($id: ID!) {
  request(id: $id) {
    id
    meetings(first: 100) {
      edges { node {
        id title organizer { id }
        agenda { title presenter { id } }
        attendees { totalCount edges { node { required person { id name } } } }
        minutes { summary publishedBy { id } actionItems { id owner { id } department { id } } }
        icalendar
      } }
    }
  }
}
"""


async def test_meetings_of_a_request_cost_the_same_for_2_and_12(api: SubgraphClient) -> None:
    rid = (await active_request(api))["id"]
    counts = []
    async with counting_statements(api.runtime) as counter:
        for total in (2, 12):
            while (await api.runtime.pool.fetchval("SELECT count(*) FROM meetings")) < total:
                starts = STARTS + timedelta(
                    days=await api.runtime.pool.fetchval("SELECT count(*) FROM meetings")
                )
                payload = await run(
                    api,
                    SCHEDULE,
                    CHEN,
                    **meeting_input(
                        rid,
                        startsAt=starts.isoformat(),
                        endsAt=(starts + timedelta(hours=1)).isoformat(),
                    ),
                )
                assert payload["userErrors"] == []
                published = await run(
                    api,
                    PUBLISH,
                    CHEN,
                    meetingId=payload["meeting"]["id"],
                    summary="done",
                    actionItems=[
                        {
                            "title": "follow up",
                            "ownerId": "wang",
                            "departmentId": "rd",
                            "dueAt": (starts + timedelta(days=3)).isoformat(),
                        }
                    ],
                )
                assert published["userErrors"] == []
            for caller in (PMO, LI):
                count, data = await counter.count(api, MEETINGS, {"id": rid}, caller=caller)
                assert len(data["request"]["meetings"]["edges"]) == total
                counts.append(count)
    for small, large in zip(counts[:2], counts[2:], strict=True):
        assert_no_growth(small, large)
