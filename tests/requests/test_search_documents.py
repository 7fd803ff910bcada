"""The requests service's search documents (requests, lessons, people), read from its outbox:
each change publishes the whole document of every record it touched, in its transaction."""

from __future__ import annotations

from services.requests.search_documents import LESSONS, PEOPLE, REQUESTS
from shared.search_documents import reindex
from tests.requests.helpers import LI, UPDATE, create_request, move
from tests.search_outbox import documents
from tests.support import ADMIN, SubgraphClient

ADD_LESSON = """
mutation($input: AddLessonInput!) {
  addLesson(input: $input) { lesson { id } userErrors { field code } }
}
"""

UPSERT_PERSON = """
mutation($input: UpsertPersonInput!) { upsertPerson(input: $input) { userErrors { code } } }
"""

UPSERT_DEPARTMENT = """
mutation($input: UpsertDepartmentInput!) {
  upsertDepartment(input: $input) { userErrors { code } }
}
"""


async def test_a_request_is_published_on_creation_and_on_every_edit(api: SubgraphClient) -> None:
    request = await create_request(api, background="华东区门店铺货")
    [created] = await documents(api, "REQUEST", request["id"])
    assert created == {
        "kind": "REQUEST",
        "id": request["id"],
        "request_id": request["id"],
        "code": request["code"],
        "title": "2024新品推广",
        "body": "华东区门店铺货\nsales\nanswer time",
        "departments": [],
        "removed": False,
    }

    edited = await move(
        api, UPDATE, LI, requestId=request["id"], title="Q4 launch", background="East China"
    )
    assert edited["userErrors"] == []
    latest = (await documents(api, "REQUEST", request["id"]))[-1]
    assert (latest["title"], latest["body"]) == ("Q4 launch", "East China\nsales\nanswer time")


async def test_a_lesson_is_published_with_its_body_and_tags(api: SubgraphClient) -> None:
    request = await create_request(api)
    data = await api.execute(
        ADD_LESSON,
        {
            "input": {
                "requestId": request["id"],
                "title": "项目复盘会",
                "body": "Book the venue early",
                "tags": ["物流", "venue"],
            }
        },
        caller=LI,
    )
    lesson_id = data["addLesson"]["lesson"]["id"]
    [lesson] = await documents(api, "LESSON", lesson_id)
    assert lesson["request_id"] == request["id"]
    assert (lesson["title"], lesson["body"]) == ("项目复盘会", "Book the venue early\n物流 venue")
    assert lesson["code"] is None


async def test_people_are_published_and_removed_once_they_leave(api: SubgraphClient) -> None:
    person = {
        "id": "xu",
        "name": "Xu Ming 徐明",
        "email": "xu@x.example",
        "departmentId": "rd",
        "regionId": "hq",
        "timeZone": "Asia/Shanghai",
    }
    await api.execute(UPSERT_PERSON, {"input": person}, caller=ADMIN)
    [joined] = await documents(api, "PERSON", "xu")
    assert joined["title"] == "Xu Ming 徐明"
    assert joined["body"] == "xu@x.example\n研发部"
    assert (joined["request_id"], joined["removed"]) == (None, False)

    await api.execute(UPSERT_PERSON, {"input": {**person, "active": False}}, caller=ADMIN)
    assert (await documents(api, "PERSON", "xu"))[-1]["removed"] is True


async def test_renaming_a_department_republishes_its_people(api: SubgraphClient) -> None:
    before = len(await documents(api, "PERSON", "wang"))
    elsewhere = len(await documents(api, "PERSON", "li"))
    renamed = {"id": "rd", "code": "RD", "name": "Research", "regionId": "hq", "headId": "wang"}
    data = await api.execute(UPSERT_DEPARTMENT, {"input": renamed}, caller=ADMIN)
    assert data["upsertDepartment"]["userErrors"] == []
    published = await documents(api, "PERSON", "wang")
    assert len(published) == before + 1
    assert published[-1]["body"] == "wang@x.example\nResearch"
    assert len(await documents(api, "PERSON", "li")) == elsewhere  # of marketing


async def test_reindex_publishes_every_record_in_batches(api: SubgraphClient) -> None:
    first = await create_request(api)
    second = await create_request(api)
    people = await api.runtime.pool.fetchval("SELECT count(*) FROM people")
    await api.runtime.pool.execute("DELETE FROM outbox")

    published = await reindex(api.runtime, [REQUESTS, LESSONS, PEOPLE], batch=2)

    assert published == 2 + people
    assert len(await documents(api, "REQUEST", first["id"])) == 1
    assert len(await documents(api, "REQUEST", second["id"])) == 1
    assert len(await documents(api, "PERSON", "anna")) == 1
