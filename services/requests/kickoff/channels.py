"""Chat channel names of a request, one per phase and taking-part department.

The naming rule itself is :mod:`shared.channel_names`, shared with the notify service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.requests.models import ChannelLanguage, Department, Phase
from shared.channel_names import channel_name


@dataclass(frozen=True)
class ChannelName:
    name: str
    phase: Phase
    department_id: str


def channel_names(
    title: str, departments: Sequence[Department], language: ChannelLanguage
) -> list[ChannelName]:
    """One name per phase and department, phases in order, the lead department first."""
    return [
        ChannelName(channel_name(title, phase, department.name, language), phase, department.id)
        for phase in Phase
        for department in departments
    ]
