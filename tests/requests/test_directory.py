"""Directory: regions with calendars, a department tree with heads, people with chat ids."""

from __future__ import annotations

from tests.requests.helpers import LI, outbox
from tests.support import ADMIN, SubgraphClient

REGION = """
mutation($input: UpsertRegionInput!) {
  upsertRegion(input: $input) {
    region { id calendar { timeZone holidayCountry extraHolidays extraWorkdays
                           workingHours { weekday start end } } }
    userErrors { field code message }
  }
}
"""

DEPARTMENT = """
mutation($input: UpsertDepartmentInput!) {
  upsertDepartment(input: $input) {
    department { id parent { id } head { id } region { id } } userErrors { field code }
  }
}
"""


async def test_region_calendar_with_makeup_days_is_stored_and_emitted(api: SubgraphClient) -> None:
    region = {
        "id": "south",
        "code": "SOUTH",
        "name": "South China",
        "timeZone": "Asia/Shanghai",
        "holidayCountry": "CN",
        "workingHours": [{"weekday": 1, "start": "09:00:00", "end": "17:00:00"}],
        "extraHolidays": ["2026-03-02"],
        "extraWorkdays": ["2026-03-07"],
    }
    data = await api.execute(REGION, {"input": region}, caller=ADMIN)
    calendar = data["upsertRegion"]["region"]["calendar"]
    assert calendar["workingHours"] == [{"weekday": 1, "start": "09:00:00", "end": "17:00:00"}]
    assert calendar["extraWorkdays"] == ["2026-03-07"]
    event = [d for t, d in await outbox(api) if t == "requests.region.upserted"][-1]
    assert event["calendar"]["extra_holidays"] == ["2026-03-02"]


async def test_bad_calendar_is_refused(api: SubgraphClient) -> None:
    bad = {
        "id": "x",
        "code": "X",
        "name": "X",
        "timeZone": "Asia/Shanghai",
        "workingHours": [{"weekday": 1, "start": "18:00:00", "end": "09:00:00"}],
    }
    data = await api.execute(REGION, {"input": bad}, caller=ADMIN)
    assert [(e["field"], e["code"]) for e in data["upsertRegion"]["userErrors"]] == [
        ("workingHours", "INVALID")
    ]
    zone = {"id": "x", "code": "X", "name": "X", "timeZone": "Mars/Olympus"}
    data = await api.execute(REGION, {"input": zone}, caller=ADMIN)
    assert data["upsertRegion"]["userErrors"][0]["field"] == "timeZone"
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM regions WHERE id = 'x'") == 0


async def test_department_tree_refuses_cycles_and_unknown_heads(api: SubgraphClient) -> None:
    child = {
        "id": "mkt-east",
        "code": "MKT-E",
        "name": "East",
        "regionId": "hq",
        "parentId": "mkt",
        "headId": "chen",
    }
    data = await api.execute(DEPARTMENT, {"input": child}, caller=ADMIN)
    assert data["upsertDepartment"]["department"]["parent"] == {"id": "mkt"}
    assert data["upsertDepartment"]["department"]["head"] == {"id": "chen"}
    cycle = {"id": "mkt", "code": "MKT", "name": "M", "regionId": "hq", "parentId": "mkt-east"}
    data = await api.execute(DEPARTMENT, {"input": cycle}, caller=ADMIN)
    assert [e["code"] for e in data["upsertDepartment"]["userErrors"]] == ["HIERARCHY_CYCLE"]
    ghost = {**child, "headId": "ghost"}
    data = await api.execute(DEPARTMENT, {"input": ghost}, caller=ADMIN)
    assert [e["field"] for e in data["upsertDepartment"]["userErrors"]] == ["headId"]
    parent = await api.runtime.pool.fetchval("SELECT parent_id FROM departments WHERE id = 'mkt'")
    assert parent is None
    # Every accepted change carried the department's new state to the other services.
    upserted = [d for t, d in await outbox(api) if t == "requests.department.upserted"]
    assert upserted[-1] == {**upserted[-1], "id": "mkt-east", "parent_id": "mkt", "head_id": "chen"}


PERSON = """
mutation($input: UpsertPersonInput!) {
  upsertPerson(input: $input) { person { id } userErrors { field code message } }
}
"""


async def test_person_roles_are_the_known_ones(api: SubgraphClient) -> None:
    person = {
        "id": "sun",
        "name": "Sun Li",
        "email": "sun@x.example",
        "departmentId": "mkt",
        "regionId": "hq",
        "timeZone": "Asia/Shanghai",
    }
    for roles in (["BOSS"], ["PARTNER"]):
        data = await api.execute(PERSON, {"input": {**person, "roles": roles}}, caller=ADMIN)
        [error] = data["upsertPerson"]["userErrors"]
        assert (error["field"], error["code"]) == ("roles", "INVALID_ROLE")
        assert roles[0] in error["message"]
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM people WHERE id = 'sun'") == 0
    ok = {**person, "roles": ["DEPARTMENT_HEAD"]}
    data = await api.execute(PERSON, {"input": ok}, caller=ADMIN)
    assert data["upsertPerson"] == {"person": {"id": "sun"}, "userErrors": []}


async def test_person_carries_chat_ids_in_query_and_event(api: SubgraphClient) -> None:
    data = await api.execute("{ me { id dingtalkId wecomId feishuId } }", caller=LI)
    assert data["me"] == {
        "id": "li",
        "dingtalkId": "dt-li",
        "wecomId": "wc-li",
        "feishuId": "fs-li",
    }
    event = next(
        d for t, d in await outbox(api) if t == "requests.person.upserted" and d["id"] == "li"
    )
    assert (event["dingtalk_id"], event["wecom_id"], event["feishu_id"]) == (
        "dt-li",
        "wc-li",
        "fs-li",
    )
