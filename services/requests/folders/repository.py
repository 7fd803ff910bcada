"""SQL of document folders, their access lists and links."""

from __future__ import annotations

from collections.abc import Sequence

from services.requests.folders.models import Access, Folder, Grant, GranteeKind, Link
from shared.child_lists import ChildList, SortKey
from shared.db import Connection
from shared.ids import new_id

_FOLDER = "id, request_id, department_id, file_type, path, created_by, created_at"


async def insert_folder(
    conn: Connection, request_id: str, department_id: str, file_type: str, path: str, by: str
) -> Folder | None:
    """The new folder, or None if the request already has one for this department and type."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO document_folders (id, request_id, department_id, file_type, path, created_by)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING {_FOLDER}
        """,
        new_id(),
        request_id,
        department_id,
        file_type,
        path,
        by,
    )
    return Folder(**dict(row)) if row else None


async def replace_grants(conn: Connection, folder_id: str, grants: Sequence[Grant]) -> None:
    await conn.execute("DELETE FROM folder_access WHERE folder_id = $1", folder_id)
    await conn.executemany(
        "INSERT INTO folder_access (folder_id, grantee_kind, grantee_id, access)"
        " VALUES ($1, $2, $3, $4)",
        [(folder_id, g.kind.value, g.grantee_id, g.access.value) for g in grants],
    )


async def lock_folder(conn: Connection, folder_id: str) -> Folder | None:
    row = await conn.fetchrow(
        f"SELECT {_FOLDER} FROM document_folders WHERE id = $1 FOR UPDATE", folder_id
    )
    return Folder(**dict(row)) if row else None


# On a view or edit list of the folder (args: PMO/ADMIN, the person, their departments), as
# :func:`services.requests.folders.models.may_view` judges a folder whose grants are loaded.
_MAY_VIEW = """($1 OR EXISTS (
    SELECT 1 FROM folder_access a
     WHERE a.folder_id = document_folders.id
       AND ((a.grantee_kind = 'PERSON' AND a.grantee_id = $2)
            OR (a.grantee_kind = 'DEPARTMENT' AND a.grantee_id = ANY($3::text[])))))"""

FOLDERS_OF_REQUESTS = ChildList(
    source="document_folders",
    parent="request_id",
    columns=_FOLDER,
    order=(SortKey("path"), SortKey("id")),
    to_model=lambda row: Folder(**dict(row)),
    where=_MAY_VIEW,
)
"""``CollabRequest.folders``: the folders the caller may view, by path."""


async def grants_by_folder_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[Grant]]:
    rows = await conn.fetch(
        "SELECT folder_id, grantee_kind, grantee_id, access FROM folder_access"
        " WHERE folder_id = ANY($1) ORDER BY folder_id, access, grantee_kind, grantee_id",
        list(ids),
    )
    result: dict[str, list[Grant]] = {}
    for row in rows:
        grant = Grant(GranteeKind(row["grantee_kind"]), row["grantee_id"], Access(row["access"]))
        result.setdefault(row["folder_id"], []).append(grant)
    return result


async def insert_link(conn: Connection, folder_id: str, title: str, url: str, by: str) -> str:
    """Add a link; its id."""
    link_id = new_id()
    await conn.execute(
        "INSERT INTO folder_links (id, folder_id, title, url, added_by)"
        " VALUES ($1, $2, $3, $4, $5)",
        link_id,
        folder_id,
        title,
        url,
        by,
    )
    return link_id


async def delete_link(conn: Connection, folder_id: str, link_id: str) -> bool:
    status = await conn.execute(
        "DELETE FROM folder_links WHERE id = $1 AND folder_id = $2", link_id, folder_id
    )
    return bool(status.endswith(" 1"))


LINKS = ChildList(
    source="folder_links",
    parent="folder_id",
    columns="id, folder_id, title, url, added_by, added_at",
    order=(SortKey("added_at", sql_type="timestamptz"), SortKey("id")),
    to_model=lambda row: Link(**dict(row)),
)
"""``DocumentFolder.links``: each folder's links, oldest first."""
