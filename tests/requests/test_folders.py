"""Document folders: path rule, default lists, and access lists enforced on listing and changes."""

from __future__ import annotations

from typing import Any

from tests.requests.helpers import ANNA, CHEN, LI, PMO, WANG, ZHAO, create_request, outbox
from tests.support import Caller, SubgraphClient, nodes

FIELDS = """
folder { id path fileType canEdit department { id } access { kind granteeId access }
         links { edges { node { id title url addedBy { id } } } } }
userErrors { field code message }
"""
CREATE = f"mutation($input: CreateFolderInput!) {{ createFolder(input: $input) {{ {FIELDS} }} }}"
SET_ACCESS = f"""
mutation($input: SetFolderAccessInput!) {{ setFolderAccess(input: $input) {{ {FIELDS} }} }}"""
ADD_LINK = (
    f"mutation($input: AddFolderLinkInput!) {{ addFolderLink(input: $input) {{ {FIELDS} }} }}"
)
REMOVE_LINK = f"""
mutation($input: RemoveFolderLinkInput!) {{ removeFolderLink(input: $input) {{ {FIELDS} }} }}"""
LIST = "query($id: ID!) { request(id: $id) { folders { edges { node { path } } } } }"


async def run(api: SubgraphClient, document: str, caller: Caller, **input: Any) -> dict[str, Any]:
    data = await api.execute(document, {"input": input}, caller=caller)
    payload: dict[str, Any] = next(iter(data.values()))
    return payload


async def listed(api: SubgraphClient, rid: str, caller: Caller) -> list[str]:
    data = await api.execute(LIST, {"id": rid}, caller=caller)
    return [f["path"] for f in nodes(data["request"]["folders"])]


async def test_default_lists_let_the_department_edit_and_the_others_view(
    api: SubgraphClient,
) -> None:
    rid = (await create_request(api))["id"]
    created = await run(api, CREATE, LI, requestId=rid, departmentId="rd", fileType="designs")
    folder = created["folder"]
    assert folder["path"] == "2024新品推广-研发部-designs"
    assert {(a["granteeId"], a["access"]) for a in folder["access"]} == {
        ("rd", "EDIT"),
        ("mkt", "VIEW"),
        ("sales-eu", "VIEW"),
    }
    assert folder["canEdit"] is False  # LI only views R&D's folder
    by_rd = await run(
        api, ADD_LINK, WANG, folderId=folder["id"], title="Spec", url="https://drive.example/spec"
    )
    assert [x["title"] for x in nodes(by_rd["folder"]["links"])] == ["Spec"]
    read_only = await run(
        api, ADD_LINK, LI, folderId=folder["id"], title="x", url="https://drive.example/x"
    )
    assert [e["code"] for e in read_only["userErrors"]] == ["FOLDER_READ_ONLY"]
    event = [d for t, d in await outbox(api) if t == "requests.folder.updated"][-1]
    assert event["editor_ids"] == ["department:rd"]


async def test_lists_are_enforced_when_listing_and_changing(api: SubgraphClient) -> None:
    rid = (await create_request(api))["id"]
    private = [
        {"kind": "PERSON", "granteeId": "li", "access": "EDIT"},
        {"kind": "PERSON", "granteeId": "wang", "access": "VIEW"},
    ]
    created = await run(
        api, CREATE, LI, requestId=rid, departmentId="mkt", fileType="contracts", access=private
    )
    folder_id = created["folder"]["id"]
    assert await listed(api, rid, LI) == ["2024新品推广-市场部-contracts"]
    assert await listed(api, rid, WANG) == ["2024新品推广-市场部-contracts"]
    assert await listed(api, rid, CHEN) == []  # same department, but not on a list
    assert await listed(api, rid, ANNA) == []
    assert await listed(api, rid, PMO) == ["2024新品推广-市场部-contracts"]
    hidden = await run(api, ADD_LINK, CHEN, folderId=folder_id, title="t", url="https://x.example")
    assert [e["code"] for e in hidden["userErrors"]] == ["FOLDER_NOT_FOUND"]
    viewer = await run(
        api,
        SET_ACCESS,
        WANG,
        folderId=folder_id,
        access=[{"kind": "PERSON", "granteeId": "wang", "access": "EDIT"}],
    )
    assert [e["code"] for e in viewer["userErrors"]] == ["FOLDER_READ_ONLY"]
    grants = await api.runtime.pool.fetchval("SELECT count(*) FROM folder_access")
    assert grants == 2
    opened = await run(
        api,
        SET_ACCESS,
        LI,
        folderId=folder_id,
        access=[*private, {"kind": "DEPARTMENT", "granteeId": "mkt", "access": "VIEW"}],
    )
    assert opened["userErrors"] == []
    assert await listed(api, rid, CHEN) == ["2024新品推广-市场部-contracts"]
    no_editor = await run(
        api,
        SET_ACCESS,
        LI,
        folderId=folder_id,
        access=[{"kind": "DEPARTMENT", "granteeId": "mkt", "access": "VIEW"}],
    )
    assert [e["code"] for e in no_editor["userErrors"]] == ["EDITOR_REQUIRED"]


async def test_links_are_added_and_removed_by_editors(api: SubgraphClient) -> None:
    rid = (await create_request(api))["id"]
    folder = (await run(api, CREATE, LI, requestId=rid, departmentId="mkt", fileType="ads"))[
        "folder"
    ]
    added = await run(api, ADD_LINK, CHEN, folderId=folder["id"], title="Poster", url="https://d/p")
    link = nodes(added["folder"]["links"])[0]
    assert link["addedBy"] == {"id": "chen"}
    bad = await run(api, ADD_LINK, CHEN, folderId=folder["id"], title="x", url="ftp://d/p")
    assert [e["code"] for e in bad["userErrors"]] == ["INVALID"]
    removed = await run(api, REMOVE_LINK, LI, folderId=folder["id"], linkId=link["id"])
    assert nodes(removed["folder"]["links"]) == []
    gone = await run(api, REMOVE_LINK, LI, folderId=folder["id"], linkId=link["id"])
    assert [e["code"] for e in gone["userErrors"]] == ["LINK_NOT_FOUND"]
    changes = [(t, d) for t, d in await outbox(api) if t.startswith("requests.folder.link")]
    assert [(t, d["link_id"], d["by"], d["url"]) for t, d in changes] == [
        ("requests.folder.link_added", link["id"], "chen", "https://d/p"),
        ("requests.folder.link_removed", link["id"], "li", None),
    ]


async def test_folder_creation_refusals(api: SubgraphClient) -> None:
    rid = (await create_request(api))["id"]
    by_participant = await run(api, CREATE, WANG, requestId=rid, departmentId="rd", fileType="x")
    assert [e["code"] for e in by_participant["userErrors"]] == ["NOT_LEAD_DEPARTMENT"]
    outsider_dept = await run(api, CREATE, LI, requestId=rid, departmentId="legal", fileType="x")
    assert [e["code"] for e in outsider_dept["userErrors"]] == ["DEPARTMENT_NOT_TAKING_PART"]
    ghost = await run(
        api,
        CREATE,
        LI,
        requestId=rid,
        departmentId="mkt",
        fileType="x",
        access=[{"kind": "PERSON", "granteeId": "ghost", "access": "EDIT"}],
    )
    assert [e["code"] for e in ghost["userErrors"]] == ["NOT_FOUND"]
    view_only = [{"kind": "DEPARTMENT", "granteeId": "mkt", "access": "VIEW"}]
    no_editor = await run(
        api, CREATE, LI, requestId=rid, departmentId="mkt", fileType="x", access=view_only
    )
    assert [e["code"] for e in no_editor["userErrors"]] == ["EDITOR_REQUIRED"]
    stranger = await run(api, CREATE, ZHAO, requestId=rid, departmentId="mkt", fileType="x")
    assert [e["code"] for e in stranger["userErrors"]] == ["REQUEST_NOT_FOUND"]
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM document_folders") == 0
    await run(api, CREATE, LI, requestId=rid, departmentId="mkt", fileType="x")
    twice = await run(api, CREATE, PMO, requestId=rid, departmentId="mkt", fileType="x")
    assert [e["code"] for e in twice["userErrors"]] == ["FOLDER_EXISTS"]
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM document_folders") == 1
