"""Which events a caller may see: partner clients by the event types the directory scopes
them to, people by the departments an event concerns (PMO and ADMIN see everything).

A partner client's scopes (``registerPartnerClient`` in the requests service) are exact
event types (``issues.issue.reported``), prefixes (``issues.*``) or ``*``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from shared.auth import Principal, Role

ALL = "*"


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """Whether ``event_type`` is one of ``patterns`` (``*`` and ``prefix.*`` allowed)."""
    for pattern in patterns:
        if pattern in (ALL, event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def covers(scopes: Sequence[str], pattern: str) -> bool:
    """Whether every type ``pattern`` can match is inside ``scopes``."""
    if pattern == ALL:
        return ALL in scopes
    if pattern.endswith(".*"):
        return any(
            s in (ALL, pattern) or (s.endswith(".*") and pattern.startswith(s[:-1])) for s in scopes
        )
    return matches(scopes, pattern)


def token_scopes(principal: Principal) -> list[str]:
    """Event types a caller's webhooks and stream may carry; [] if they may have none."""
    if principal.has_role(Role.ADMIN, Role.PMO):
        return [ALL]
    if principal.has_role(Role.PARTNER):
        return list(principal.scopes)
    return []


def visible_types(principal: Principal) -> list[str] | None:
    """Event types the caller sees in the ``events`` stream whatever they concern; None for
    people, who see the events concerning one of their departments instead."""
    if principal.sees_everything or principal.has_role(Role.PARTNER):
        return token_scopes(principal)
    return None
