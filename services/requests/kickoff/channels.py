"""Chat channel names ``[title]-[phase]-[department]``, as the handbook names its groups.

Shortening rule: the title's whitespace is collapsed and hyphens in it become ``·`` (so the
three parts stay separable at the hyphens); a title longer than :data:`TITLE_MAX` characters
keeps its first ``TITLE_MAX - 1`` characters followed by ``…``. Every character counts one,
Chinese or Latin. Department names are used whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.requests.models import ChannelLanguage, Department, Phase

TITLE_MAX = 16


PHASE_LABELS = {
    ChannelLanguage.ZH: {
        Phase.PREPARATION: "筹备",
        Phase.EXECUTION: "执行",
        Phase.ACCEPTANCE: "验收",
        Phase.CLOSED: "收尾",
    },
    ChannelLanguage.EN: {
        Phase.PREPARATION: "Preparation",
        Phase.EXECUTION: "Execution",
        Phase.ACCEPTANCE: "Acceptance",
        Phase.CLOSED: "Closing",
    },
}


@dataclass(frozen=True)
class ChannelName:
    name: str
    phase: Phase
    department_id: str


def short_title(title: str) -> str:
    """The title as it appears in channel names (see the module's rule)."""
    cleaned = " ".join(title.split()).replace("-", "·")
    return cleaned if len(cleaned) <= TITLE_MAX else cleaned[: TITLE_MAX - 1] + "…"


def channel_names(
    title: str, departments: Sequence[Department], language: ChannelLanguage
) -> list[ChannelName]:
    """One name per phase and department, phases in order, the lead department first."""
    prefix = short_title(title)
    labels = PHASE_LABELS[language]
    return [
        ChannelName(f"{prefix}-{labels[phase]}-{department.name}", phase, department.id)
        for phase in Phase
        for department in departments
    ]
