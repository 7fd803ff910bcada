"""Names of a request's chat groups: ``[project]-[phase]-[department]``, the handbook's rule.

This module is the only place the rule lives: the requests service lists the names a request's
groups should get (``CollabRequest.channelNames``) and the notify service names the groups it
registers (``registerChannel``) with the same function, so the two can never disagree.

The rule, and why:

- **Project**: the request's title with its whitespace collapsed to single spaces and its
  hyphens turned into ``·``, so a name still splits into its three parts at the hyphens.
  A title longer than :data:`TITLE_MAX_CHARS` (16) characters keeps its first 15 followed by
  ``…``. Every character counts one, Chinese or Latin. Chat apps show only the start of a
  group's name in their lists, and what tells a request's groups apart is the phase and the
  department after the title; 16 characters still hold a whole handbook-style title such as
  ``2024新品推广`` or ``2026欧洲新品推广`` and leave room for the rest.
- **Phase**: the handbook's Chinese words 筹备, 执行, 验收, 收尾 (English labels exist for
  people who read the names in English; the registered groups use Chinese).
- **Department**: the department's name, whole.
"""

from __future__ import annotations

from collections.abc import Mapping

TITLE_MAX_CHARS = 16
"""Longest project part; a longer title keeps ``TITLE_MAX_CHARS - 1`` characters plus ``…``."""

PHASE_LABELS: Mapping[str, Mapping[str, str]] = {
    "ZH": {
        "PREPARATION": "筹备",
        "EXECUTION": "执行",
        "ACCEPTANCE": "验收",
        "CLOSED": "收尾",
    },
    "EN": {
        "PREPARATION": "Preparation",
        "EXECUTION": "Execution",
        "ACCEPTANCE": "Acceptance",
        "CLOSED": "Closing",
    },
}
"""Phase labels by language (``ZH``, ``EN``) and phase (the ``Phase`` enums' values)."""


def short_title(title: str) -> str:
    """The project part of a channel name: the title by the module's rule."""
    cleaned = " ".join(title.split()).replace("-", "·")
    if len(cleaned) <= TITLE_MAX_CHARS:
        return cleaned
    return cleaned[: TITLE_MAX_CHARS - 1] + "…"


def channel_name(title: str, phase: str, department_name: str, language: str = "ZH") -> str:
    """``[project]-[phase]-[department]`` for a request's title, a phase and a department."""
    return f"{short_title(title)}-{PHASE_LABELS[language][phase]}-{department_name}"
