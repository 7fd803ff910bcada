"""GraphQL types and mutations of document folders."""

from __future__ import annotations

from datetime import datetime

import strawberry

from services.requests.directory.types import (
    Department,
    Person,
    department_or_none,
    person_or_none,
)
from services.requests.folders import models, service
from services.requests.folders import repository as repo
from shared.graphql.child_pages import After, First, child_connection, page_of
from shared.graphql.context import Info
from shared.graphql.errors import UserError, run_mutation
from shared.graphql.loaders import many_per_key
from shared.graphql.pagination import Connection, PageRequest

strawberry.enum(models.Access, description="VIEW, or EDIT (which includes viewing).")
strawberry.enum(models.GranteeKind, description="A person or a whole department.")


load_grants = many_per_key(repo.grants_by_folder_ids)


@strawberry.type(description="One entry of a folder's access lists.")
class FolderAccess:
    kind: models.GranteeKind = strawberry.field(description="Person or department.")
    grantee_id: strawberry.ID = strawberry.field(description="Id of the person or department.")
    access: models.Access = strawberry.field(description="VIEW or EDIT.")


@strawberry.type(description="A link to a document on the drive.")
class FolderLink:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    title: str = strawberry.field(description="Document title.")
    url: str = strawberry.field(description="Where it is.")
    added_at: datetime = strawberry.field(description="When it was added.")
    added_by_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, link: models.Link) -> FolderLink:
        return cls(
            id=strawberry.ID(link.id),
            title=link.title,
            url=link.url,
            added_at=link.added_at,
            added_by_id=link.added_by,
        )

    @strawberry.field(description="Who added it.")
    async def added_by(self, info: Info) -> Person | None:
        return await person_or_none(info, self.added_by_id)


@strawberry.type(description="A folder `request-department-file type` with view and edit lists.")
class DocumentFolder:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    path: str = strawberry.field(description="`title-department-file type`.")
    file_type: str = strawberry.field(description="e.g. `contracts`, `designs`.")
    created_at: datetime = strawberry.field(description="When it was created.")
    department_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, f: models.Folder) -> DocumentFolder:
        return cls(
            id=strawberry.ID(f.id),
            path=f.path,
            file_type=f.file_type,
            created_at=f.created_at,
            department_id=f.department_id,
        )

    @strawberry.field(description="The department whose folder it is.")
    async def department(self, info: Info) -> Department | None:
        return await department_or_none(info, self.department_id)

    @strawberry.field(description="Who may view and who may edit.")
    async def access(self, info: Info) -> list[FolderAccess]:
        grants = await info.context.loader(load_grants).load(self.id)
        return [
            FolderAccess(kind=g.kind, grantee_id=strawberry.ID(g.grantee_id), access=g.access)
            for g in grants
        ]

    @strawberry.field(description="Whether the caller may change it.")
    async def can_edit(self, info: Info) -> bool:
        grants = await info.context.loader(load_grants).load(self.id)
        return models.may_edit(info.context.principal, grants)

    @strawberry.field(description="Links to its documents, oldest first, 20 per page by default.")
    async def links(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[FolderLink]:
        page = page_of(info, first, after)
        return await child_connection(info, repo.LINKS, self.id, page, FolderLink.from_model)


async def visible_folders(
    info: Info, request_id: str, page: PageRequest
) -> Connection[DocumentFolder]:
    """A page of the folders the caller is on a list of (PMO and ADMIN see all)."""
    principal = info.context.principal
    caller = (principal.sees_everything, principal.sub, tuple(principal.departments))
    return await child_connection(
        info, repo.FOLDERS_OF_REQUESTS, request_id, page, DocumentFolder.from_model, args=caller
    )


@strawberry.input(description="Grant a person or a department access.")
class FolderAccessInput:
    kind: models.GranteeKind = strawberry.field(description="Person or department.")
    grantee_id: strawberry.ID = strawberry.field(description="Its id.")
    access: models.Access = strawberry.field(description="VIEW or EDIT.")

    def to_model(self) -> models.Grant:
        return models.Grant(self.kind, self.grantee_id, self.access)


@strawberry.input(description="A new document folder (lead department).")
class CreateFolderInput:
    request_id: strawberry.ID = strawberry.field(description="The request.")
    department_id: strawberry.ID = strawberry.field(description="A department taking part.")
    file_type: str = strawberry.field(description="e.g. `contracts`.")
    access: list[FolderAccessInput] = strawberry.field(
        default_factory=list,
        description="Access lists; empty means the department edits, the others view.",
    )


@strawberry.input(description="Replace a folder's access lists (editors only).")
class SetFolderAccessInput:
    folder_id: strawberry.ID = strawberry.field(description="The folder.")
    access: list[FolderAccessInput] = strawberry.field(description="At least one editor.")


@strawberry.input(description="Add a document link (editors only).")
class AddFolderLinkInput:
    folder_id: strawberry.ID = strawberry.field(description="The folder.")
    title: str = strawberry.field(description="Document title.")
    url: str = strawberry.field(description="http(s) link.")


@strawberry.input(description="Remove a document link (editors only).")
class RemoveFolderLinkInput:
    folder_id: strawberry.ID = strawberry.field(description="The folder.")
    link_id: strawberry.ID = strawberry.field(description="The link.")


@strawberry.type(description="Result of a folder mutation.")
class FolderPayload:
    folder: DocumentFolder | None = strawberry.field(default=None, description="The folder.")
    user_errors: list[UserError] = strawberry.field(description="Why it was refused, if it was.")


@strawberry.type
class FolderMutation:
    @strawberry.mutation(description="Create a document folder (lead department).")
    async def create_folder(self, info: Info, input: CreateFolderInput) -> FolderPayload:
        ctx = info.context
        action = service.create_folder(
            ctx.runtime,
            ctx.principal,
            input.request_id,
            input.department_id,
            input.file_type,
            [a.to_model() for a in input.access],
        )
        return await run_mutation(FolderPayload, "folder", action, DocumentFolder.from_model)

    @strawberry.mutation(description="Replace the view and edit lists (editors).")
    async def set_folder_access(self, info: Info, input: SetFolderAccessInput) -> FolderPayload:
        ctx = info.context
        grants = [a.to_model() for a in input.access]
        action = service.set_folder_access(ctx.runtime, ctx.principal, input.folder_id, grants)
        return await run_mutation(FolderPayload, "folder", action, DocumentFolder.from_model)

    @strawberry.mutation(description="Add a document link (editors).")
    async def add_folder_link(self, info: Info, input: AddFolderLinkInput) -> FolderPayload:
        ctx = info.context
        action = service.add_link(
            ctx.runtime, ctx.principal, input.folder_id, input.title, input.url
        )
        return await run_mutation(FolderPayload, "folder", action, DocumentFolder.from_model)

    @strawberry.mutation(description="Remove a document link (editors).")
    async def remove_folder_link(self, info: Info, input: RemoveFolderLinkInput) -> FolderPayload:
        ctx = info.context
        action = service.remove_link(ctx.runtime, ctx.principal, input.folder_id, input.link_id)
        return await run_mutation(FolderPayload, "folder", action, DocumentFolder.from_model)
