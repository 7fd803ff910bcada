"""Folder use cases. The access lists are enforced here: a folder the caller may not view is
answered as not found, one they may view but not edit refuses changes."""

from __future__ import annotations

from collections.abc import Sequence

from services.requests import state
from services.requests.directory import repository as directory
from services.requests.folders import repository as repo
from services.requests.folders.models import (
    Access,
    Folder,
    Grant,
    GranteeKind,
    may_edit,
    may_view,
)
from services.requests.models import RequestStatus
from services.requests.repository import participants_by_request_ids
from shared.auth import Principal
from shared.events.contracts.requests import FolderLinkChanged, FolderUpdated
from shared.graphql.errors import DomainError, Problems
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork, unit_of_work

S = RequestStatus
OPEN = (S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED, S.APPROVED, S.ACTIVE, S.IN_ACCEPTANCE)


def _not_found() -> DomainError:
    return DomainError.single(
        "FOLDER_NOT_FOUND", "no such folder, or you may not see it", "folderId"
    )


async def _check_grants(uow: UnitOfWork, grants: Sequence[Grant]) -> None:
    people = [g.grantee_id for g in grants if g.kind is GranteeKind.PERSON]
    departments = [g.grantee_id for g in grants if g.kind is GranteeKind.DEPARTMENT]
    known_people = await directory.people_by_ids(uow.conn, people)
    known_departments = await directory.departments_by_ids(uow.conn, departments)
    problems = Problems()
    for index, grant in enumerate(grants):
        known = known_people if grant.kind is GranteeKind.PERSON else known_departments
        if grant.grantee_id not in known:
            problems.add("NOT_FOUND", f"no such {grant.kind.lower()}", f"access.{index}")
    problems.raise_if_any()


async def _emit(uow: UnitOfWork, folder: Folder, grants: Sequence[Grant]) -> None:
    def ids(access: Access) -> list[str]:
        return [f"{g.kind.lower()}:{g.grantee_id}" for g in grants if g.access is access]

    data = FolderUpdated(
        id=folder.id,
        request_id=folder.request_id,
        department_id=folder.department_id,
        file_type=folder.file_type,
        path=folder.path,
        viewer_ids=ids(Access.VIEW),
        editor_ids=ids(Access.EDIT),
    )
    await uow.emit("requests.folder.updated", folder.id, data, departments=[folder.department_id])


async def create_folder(
    runtime: ServiceRuntime,
    principal: Principal,
    request_id: str,
    department_id: str,
    file_type: str,
    grants: Sequence[Grant],
) -> Folder:
    """A folder ``title-department-file type``; without lists, the department edits and every
    department taking part views."""
    if not file_type.strip():
        raise DomainError.single("INVALID", "name the file type", "fileType")
    if grants:  # explicit lists; the default ones always have an editor
        _require_editor(grants)
    async with unit_of_work(runtime) as uow:
        request = await state.load_for_change(uow, principal, request_id)
        state.require_lead(principal, request, "create document folders")
        state.require_status(request, OPEN, "create document folders")
        participants = (await participants_by_request_ids(uow.conn, [request_id]))[request_id]
        taking_part = [request.lead_department_id, *participants]
        if department_id not in taking_part:
            raise DomainError.single(
                "DEPARTMENT_NOT_TAKING_PART", "the department does not take part", "departmentId"
            )
        department = (await directory.departments_by_ids(uow.conn, [department_id]))[department_id]
        grants = list(grants) or [
            Grant(GranteeKind.DEPARTMENT, department_id, Access.EDIT),
            *(
                Grant(GranteeKind.DEPARTMENT, d, Access.VIEW)
                for d in taking_part
                if d != department_id
            ),
        ]
        await _check_grants(uow, grants)
        path = f"{request.title}-{department.name}-{file_type.strip()}"
        folder = await repo.insert_folder(
            uow.conn, request_id, department_id, file_type.strip(), path, principal.sub
        )
        if folder is None:
            raise DomainError.single(
                "FOLDER_EXISTS", "the department already has a folder of this type", "fileType"
            )
        await repo.replace_grants(uow.conn, folder.id, grants)
        await _emit(uow, folder, grants)
    return folder


async def _editable(uow: UnitOfWork, principal: Principal, folder_id: str) -> Folder:
    folder = await repo.lock_folder(uow.conn, folder_id)
    if folder is None:
        raise _not_found()
    grants = (await repo.grants_by_folder_ids(uow.conn, [folder_id])).get(folder_id, [])
    if not may_view(principal, grants):
        raise _not_found()
    if not may_edit(principal, grants):
        raise DomainError.single(
            "FOLDER_READ_ONLY", "you may view this folder but not change it", "folderId"
        )
    return folder


def _require_editor(grants: Sequence[Grant]) -> None:
    if not any(g.access is Access.EDIT for g in grants):
        raise DomainError.single("EDITOR_REQUIRED", "keep at least one editor", "access")


async def set_folder_access(
    runtime: ServiceRuntime, principal: Principal, folder_id: str, grants: Sequence[Grant]
) -> Folder:
    _require_editor(grants)
    async with unit_of_work(runtime) as uow:
        folder = await _editable(uow, principal, folder_id)
        await _check_grants(uow, grants)
        await repo.replace_grants(uow.conn, folder_id, grants)
        await _emit(uow, folder, grants)
    return folder


async def add_link(
    runtime: ServiceRuntime, principal: Principal, folder_id: str, title: str, url: str
) -> Folder:
    if not title.strip() or not url.startswith(("https://", "http://")):
        raise DomainError.single("INVALID", "a link needs a title and an http(s) URL", "url")
    async with unit_of_work(runtime) as uow:
        folder = await _editable(uow, principal, folder_id)
        link_id = await repo.insert_link(uow.conn, folder_id, title.strip(), url, principal.sub)
        link = {"title": title.strip(), "url": url}
        await _emit_link(uow, "requests.folder.link_added", folder, link_id, principal, **link)
    return folder


async def remove_link(
    runtime: ServiceRuntime, principal: Principal, folder_id: str, link_id: str
) -> Folder:
    async with unit_of_work(runtime) as uow:
        folder = await _editable(uow, principal, folder_id)
        if not await repo.delete_link(uow.conn, folder_id, link_id):
            raise DomainError.single("LINK_NOT_FOUND", "no such link in this folder", "linkId")
        await _emit_link(uow, "requests.folder.link_removed", folder, link_id, principal)
    return folder


async def _emit_link(
    uow: UnitOfWork,
    event_type: str,
    folder: Folder,
    link_id: str,
    principal: Principal,
    **link: str,
) -> None:
    data = FolderLinkChanged(
        folder_id=folder.id, request_id=folder.request_id, link_id=link_id, by=principal.sub, **link
    )
    await uow.emit(event_type, folder.id, data, departments=[folder.department_id])
