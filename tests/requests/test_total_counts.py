"""Every connection of the requests subgraph counts its whole filtered, visible list."""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.requests.helpers import ANNA, LI, PMO, SUBMIT, WANG, ZHAO, create_request, move
from tests.requests.test_acceptance import add_lesson
from tests.requests.test_secondments import REQUEST, loan, run
from tests.support import Caller, SubgraphClient

REQUESTS = """
query($filter: RequestFilter, $first: Int!, $after: String) {
  requests(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { endCursor } edges { node { id } }
  }
}
"""
SECONDMENTS = """
query($first: Int!, $after: String) {
  secondments(first: $first, after: $after) {
    totalCount pageInfo { endCursor } edges { node { id } }
  }
}
"""
LESSONS = """
query($search: String, $first: Int!, $after: String) {
  lessons(search: $search, first: $first, after: $after) {
    totalCount pageInfo { endCursor } edges { node { id } }
  }
}
"""


async def page(
    api: SubgraphClient, document: str, caller: Caller, first: int, **variables: Any
) -> dict[str, Any]:
    data = await api.execute(document, {"first": first, **variables}, caller=caller)
    found: dict[str, Any] = next(iter(data.values()))
    return found


async def test_requests_count_the_filtered_visible_list_on_every_page(
    api: SubgraphClient,
) -> None:
    ids = [(await create_request(api))["id"] for _ in range(4)]
    await create_request(api, participantDepartmentIds=["sales-eu"])  # rd takes no part
    for rid in ids[:3]:
        assert (await move(api, SUBMIT, LI, requestId=rid))["userErrors"] == []
    submitted = {"status": "SUBMITTED"}
    first = await page(api, REQUESTS, LI, 2, filter=submitted)
    assert (first["totalCount"], len(first["edges"])) == (3, 2)
    after = first["pageInfo"]["endCursor"]
    rest = await page(api, REQUESTS, LI, 2, filter=submitted, after=after)
    assert (rest["totalCount"], len(rest["edges"])) == (3, 1)
    assert (await page(api, REQUESTS, LI, 1))["totalCount"] == 5
    assert (await page(api, REQUESTS, WANG, 1))["totalCount"] == 4
    assert (await page(api, REQUESTS, PMO, 1, filter={"kind": "OPERATIONS"}))["totalCount"] == 0
    assert (await page(api, REQUESTS, ZHAO, 1))["totalCount"] == 0


async def test_secondments_count_what_the_caller_sees_on_every_page(api: SubgraphClient) -> None:
    for starts, ends in (("2027-04-01", "2027-06-30"), ("2027-07-01", "2027-09-30")):
        payload = await run(api, REQUEST, ANNA, **loan(startsOn=starts, endsOn=ends))
        assert payload["userErrors"] == []
    other = loan(personId="wang", fromDepartmentId="rd")
    assert (await run(api, REQUEST, ANNA, **other))["userErrors"] == []
    first = await page(api, SECONDMENTS, LI, 1)  # mkt lends chen twice
    assert (first["totalCount"], len(first["edges"])) == (2, 1)
    rest = await page(api, SECONDMENTS, LI, 1, after=first["pageInfo"]["endCursor"])
    assert (rest["totalCount"], len(rest["edges"])) == (2, 1)
    assert (await page(api, SECONDMENTS, ANNA, 1))["totalCount"] == 3  # the borrower
    assert (await page(api, SECONDMENTS, WANG, 5))["totalCount"] == 1
    assert (await page(api, SECONDMENTS, ZHAO, 5))["totalCount"] == 0


async def test_lessons_count_every_match_of_the_search(api: SubgraphClient) -> None:
    rid: str = (await create_request(api))["id"]
    for title in ("时区 first", "时区 second", "时区 third", "budget"):
        await add_lesson(api, rid, title, "lesson body", [])
    first = await page(api, LESSONS, LI, 2, search="时区")
    assert (first["totalCount"], len(first["edges"])) == (3, 2)
    after = first["pageInfo"]["endCursor"]
    rest = await page(api, LESSONS, LI, 2, search="时区", after=after)
    assert (rest["totalCount"], len(rest["edges"])) == (3, 1)
    assert (await page(api, LESSONS, LI, 1))["totalCount"] == 4
    assert (await page(api, LESSONS, ZHAO, 1))["totalCount"] == 0


async def test_a_page_that_does_not_ask_for_its_total_sends_no_count(
    api: SubgraphClient,
) -> None:
    """On the Python path the count is a statement of its own; on the compiled path the
    page is one statement, which counts only when ``totalCount`` is selected."""
    from tests.support import counting_statements

    await create_request(api)
    with_total = "{ requests(first: 5) { totalCount edges { node { id } } } }"
    in_fragment = "{ requests(first: 5) { ...Total edges { node { id } } } }" + (
        " fragment Total on CollabRequestConnection { totalCount }"
    )
    without = "{ requests(first: 5) { edges { node { id } } } }"
    python_path = dataclasses.replace(
        api.runtime, settings=api.runtime.settings.model_copy(update={"graphql_compiled": False})
    )
    async with (
        SubgraphClient.open("requests", python_path) as slow,
        counting_statements(api.runtime) as counter,
    ):
        counted, data = await counter.count(slow, with_total, caller=PMO)
        fragment, fragment_data = await counter.count(slow, in_fragment, caller=PMO)
        plain, _ = await counter.count(slow, without, caller=PMO)
    assert data["requests"]["totalCount"] == fragment_data["requests"]["totalCount"] == 1
    assert plain.most == counted.fewest - 1
    assert fragment.fewest == counted.fewest

    async with counting_statements(api.runtime) as counter:
        compiled = {q: await counter.count(api, q, caller=PMO) for q in (with_total, without)}
    for query, (count, _) in compiled.items():
        [statement] = count.runs[-1]  # the first run may enrol PMO in the directory
        assert ("count(*)" in statement) is (query == with_total)
    assert compiled[with_total][1]["requests"]["totalCount"] == 1
