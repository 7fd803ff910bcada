"""SQL of document folders, their access lists and links."""

from __future__ import annotations

from collections.abc import Sequence

from services.requests.folders.models import Access, Folder, Grant, GranteeKind, Link
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


async def folders_by_request_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[Folder]]:
    rows = await conn.fetch(
        f"SELECT {_FOLDER} FROM document_folders WHERE request_id = ANY($1)"
        " ORDER BY request_id, path",
        list(ids),
    )
    result: dict[str, list[Folder]] = {}
    for row in rows:
        result.setdefault(row["request_id"], []).append(Folder(**dict(row)))
    return result


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


async def links_by_folder_ids(conn: Connection, ids: Sequence[str]) -> dict[str, list[Link]]:
    rows = await conn.fetch(
        "SELECT id, folder_id, title, url, added_by, added_at FROM folder_links"
        " WHERE folder_id = ANY($1) ORDER BY folder_id, added_at, id",
        list(ids),
    )
    result: dict[str, list[Link]] = {}
    for row in rows:
        result.setdefault(row["folder_id"], []).append(Link(**dict(row)))
    return result
