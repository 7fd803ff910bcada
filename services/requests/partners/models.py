"""A partner client: an integration that calls Liaison with its own token."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

SCOPE = re.compile(r"\*|[a-z][a-z_]*(\.[a-z][a-z_]*)*(\.\*)?")
"""An event type (``issues.issue.reported``), a prefix (``issues.*``) or everything (``*``)."""


@dataclass(frozen=True)
class PartnerClient:
    id: str
    """The ``sub`` of the client's tokens (its client id at the identity provider)."""
    name: str
    owner_id: str
    """The person answerable for the integration."""
    scopes: tuple[str, ...]
    enabled: bool = True
    created_at: datetime | None = None


def invalid_scopes(scopes: tuple[str, ...]) -> list[str]:
    """The scopes that are not an event type, a ``prefix.*`` or ``*``."""
    return [s for s in scopes if not SCOPE.fullmatch(s)]
