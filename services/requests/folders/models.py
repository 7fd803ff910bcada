"""Folders, access entries and links (plain data) and the access rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.auth import Principal, Role


class Access(StrEnum):
    VIEW = "VIEW"
    EDIT = "EDIT"


class GranteeKind(StrEnum):
    PERSON = "PERSON"
    DEPARTMENT = "DEPARTMENT"


@dataclass(frozen=True)
class Grant:
    kind: GranteeKind
    grantee_id: str
    access: Access

    def covers(self, principal: Principal) -> bool:
        if self.kind is GranteeKind.PERSON:
            return self.grantee_id == principal.sub
        return self.grantee_id in principal.departments


@dataclass(frozen=True)
class Folder:
    id: str
    request_id: str
    department_id: str
    file_type: str
    path: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Link:
    id: str
    folder_id: str
    title: str
    url: str
    added_by: str
    added_at: datetime


def may_view(principal: Principal, grants: Sequence[Grant]) -> bool:
    """On either list (edit includes view); PMO and ADMIN oversee every folder."""
    return principal.sees_everything or any(g.covers(principal) for g in grants)


def may_edit(principal: Principal, grants: Sequence[Grant]) -> bool:
    """On the edit list, or PMO."""
    return principal.has_role(Role.PMO) or any(
        g.access is Access.EDIT and g.covers(principal) for g in grants
    )
