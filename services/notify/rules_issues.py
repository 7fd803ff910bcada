"""Routing of the issues service's events: the issue's lead department, responsible
department, owner and reporter.

* ``issues.issue.reported`` / ``issues.issue.sla_breached``: the lead department's head, and
  the responsible department's head and the owner when the event names them; urgent issues
  and breaches are urgent. A breach that names its recipients (``recipient_ids``) is sent
  to them rather than to the heads above.

Lifecycle moves (``IssueChanged``) tell the people the move hands work to, urgently for an
urgent (green channel) issue; others concerned are told at normal urgency, and steps that
change nothing for someone are only Informed (their daily digest). Whoever made the move is
not told of it. "Lead" and "responsible" mean those departments' heads.

=====================  ==========================  ====================  ===================
move                   must act                    told                  only Informed
=====================  ==========================  ====================  ===================
acknowledged           responsible, owner (plan)   reporter
reassigned             new responsible, owner      previous head, owner
plan_proposed                                      lead, reporter
work_started                                       lead                  reporter
waiting                reporter (answer)           lead, responsible,
                                                   owner
resumed                responsible, owner          lead
resolved               lead (verify)               reporter
reopened (rejected)    responsible, owner          reporter
verified                                           responsible, owner,
                                                   reporter
archived                                                                 responsible, owner,
                                                                         reporter
=====================  ==========================  ====================  ===================

The handbook's milestones (acknowledged, reassigned, plan proposed, resolved, reopened,
verified) are also posted to the chat groups of the lead and responsible departments. A
reassignment event does not name the previous responsible department, so it is not told.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from services.notify.channels.service import Announcement
from services.notify.models import Urgency
from services.notify.rules_common import Routed, Rule, draft, extra, heads, recipients
from shared.db import Connection
from shared.events.contracts.issues import IssueChanged, IssueReported, IssueSlaBreached
from shared.events.envelope import EventEnvelope
from shared.replicas import department_heads

_SLA_METRICS = {"RESPONSE": "response (2 h)", "PLAN": "plan"}


async def _issue_people(conn: Connection, event: EventEnvelope, lead: str) -> list[str]:
    responsible = extra(event, "responsible_department_id")
    owner = extra(event, "owner_id")
    people = await heads(conn, [lead, responsible])
    if isinstance(owner, str):
        people.append(owner)
    return list(dict.fromkeys(people))


async def issue_reported(conn: Connection, event: EventEnvelope) -> Routed:
    data = IssueReported.model_validate(event.data)
    urgency = Urgency.URGENT if data.urgent else Urgency.NORMAL
    channel = " Green channel (绿色通道): plan due within 2 h." if data.urgent else ""
    title = f"Issue {data.code} reported: {data.title}"
    body = (
        f"Severity {data.severity}. The lead department responds within 2 working hours.{channel}"
    )
    drafts = [
        draft(event, person, title, body, f"/issues/{data.id}", urgency)
        for person in await _issue_people(conn, event, data.lead_department_id)
    ]
    departments = [data.lead_department_id, extra(event, "responsible_department_id")]
    announcement = Announcement(
        request_id=data.request_id,
        departments=[d for d in departments if isinstance(d, str)],
        title=title,
        body=body,
        link=f"/issues/{data.id}",
        urgency=urgency,
    )
    return Routed(drafts, announcement)


async def issue_sla_breached(conn: Connection, event: EventEnvelope) -> Routed:
    data = IssueSlaBreached.model_validate(event.data)
    metric = _SLA_METRICS.get(data.metric, data.metric.lower())
    title = f"SLA breached (超时): {metric} deadline passed"
    body = (
        f"The {metric} deadline of an issue your department takes part in passed at"
        f" {data.due_at.isoformat()}. Act or escalate now."
    )
    link = f"/issues/{data.issue_id}"
    named = recipients(event)
    people = named or await _issue_people(conn, event, data.lead_department_id)
    drafts = [draft(event, person, title, body, link, Urgency.URGENT) for person in people]
    request_id = extra(event, "request_id")
    announcement = None
    if isinstance(request_id, str):
        announcement = Announcement(
            request_id, [data.lead_department_id], title, body, link, Urgency.URGENT
        )
    return Routed(drafts, announcement)


# --- lifecycle --------------------------------------------------------------------------------


class _Party(Enum):
    LEAD = "lead department's head"
    RESPONSIBLE = "responsible department's head"
    OWNER = "owner"
    REPORTER = "reporter"
    PREVIOUS = "previously responsible department's head and owner"


@dataclass(frozen=True)
class _Move:
    """How one lifecycle move is told (see the table in the module docstring)."""

    what: str
    body: str
    act: tuple[_Party, ...] = ()
    told: tuple[_Party, ...] = ()
    informed: tuple[_Party, ...] = ()
    milestone: bool = False


_MOVES = {
    "issues.issue.acknowledged": _Move(
        "acknowledged (已受理)",
        "The lead department took the issue on. Propose a plan (整改方案) before the plan"
        " deadline.",
        act=(_Party.RESPONSIBLE, _Party.OWNER),
        told=(_Party.REPORTER,),
        milestone=True,
    ),
    "issues.issue.reassigned": _Move(
        "reassigned (转派)",
        "The issue changed hands: the department now responsible takes it from where it stands.",
        act=(_Party.RESPONSIBLE, _Party.OWNER),
        told=(_Party.PREVIOUS,),
        milestone=True,
    ),
    "issues.issue.plan_proposed": _Move(
        "plan proposed (已提出方案)",
        "The responsible department proposed a plan; see it on the issue.",
        told=(_Party.LEAD, _Party.REPORTER),
        milestone=True,
    ),
    "issues.issue.work_started": _Move(
        "in progress (处理中)",
        "The responsible department started work on the plan.",
        told=(_Party.LEAD,),
        informed=(_Party.REPORTER,),
    ),
    "issues.issue.waiting": _Move(
        "on hold (等待补充)",
        "Work waits for the reporter; the SLA clocks are paused until it resumes.",
        act=(_Party.REPORTER,),
        told=(_Party.LEAD, _Party.RESPONSIBLE, _Party.OWNER),
    ),
    "issues.issue.resumed": _Move(
        "resumed (恢复处理)",
        "Work resumes and the SLA clocks run again.",
        act=(_Party.RESPONSIBLE, _Party.OWNER),
        told=(_Party.LEAD,),
    ),
    "issues.issue.resolved": _Move(
        "resolved (已解决)",
        "The responsible department resolved the issue. The lead department verifies it"
        " (验证): accept the resolution or reopen the issue.",
        act=(_Party.LEAD,),
        told=(_Party.REPORTER,),
        milestone=True,
    ),
    "issues.issue.reopened": _Move(
        "reopened (验证未通过)",
        "The resolution did not pass verification; the issue is back in progress.",
        act=(_Party.RESPONSIBLE, _Party.OWNER),
        told=(_Party.REPORTER,),
        milestone=True,
    ),
    "issues.issue.verified": _Move(
        "verified (已验证)",
        "The lead department verified the resolution; the loop is closed.",
        told=(_Party.RESPONSIBLE, _Party.OWNER, _Party.REPORTER),
        milestone=True,
    ),
    "issues.issue.archived": _Move(
        "archived (已归档)",
        "The issue is archived.",
        informed=(_Party.RESPONSIBLE, _Party.OWNER, _Party.REPORTER),
    ),
}


async def _party_people(
    conn: Connection, data: IssueChanged
) -> dict[_Party, tuple[str | None, ...]]:
    previous = data.previous_responsible_department_id
    departments = [data.lead_department_id, data.responsible_department_id, previous]
    found = await department_heads(conn, [d for d in departments if d])
    return {
        _Party.LEAD: (found.get(data.lead_department_id),),
        _Party.RESPONSIBLE: (found.get(data.responsible_department_id),),
        _Party.OWNER: (data.owner_id,),
        _Party.REPORTER: (data.reporter_id,),
        _Party.PREVIOUS: (found.get(previous or ""), data.previous_owner_id),
    }


def _addressees(
    move: _Move, people: dict[_Party, tuple[str | None, ...]], actor: str, urgency: Urgency
) -> dict[str, tuple[Urgency, bool]]:
    """Person -> (urgency, only Informed); someone in several groups gets the first's."""
    tiers = (
        (move.act, urgency, False),
        (move.told, Urgency.NORMAL, False),
        (move.informed, Urgency.NORMAL, True),
    )
    chosen: dict[str, tuple[Urgency, bool]] = {}
    for parties, tier_urgency, informed_only in tiers:
        for party in parties:
            for person in people[party]:
                if person and person != actor:
                    chosen.setdefault(person, (tier_urgency, informed_only))
    return chosen


async def issue_changed(conn: Connection, event: EventEnvelope) -> Routed:
    """A lifecycle move, told as its :data:`_MOVES` entry says."""
    data = IssueChanged.model_validate(event.data)
    move = _MOVES[event.type]
    urgency = Urgency.URGENT if data.urgent else Urgency.NORMAL
    title = f"Issue {data.code} {move.what}: {data.title}"
    body = move.body + (f"\nComment: {data.comment}" if data.comment else "")
    link = f"/issues/{data.issue_id}"
    people = await _party_people(conn, data)
    drafts = [
        draft(event, person, title, body, link, person_urgency, informed_only=informed_only)
        for person, (person_urgency, informed_only) in _addressees(
            move, people, data.actor_id, urgency
        ).items()
    ]
    if not move.milestone:
        return Routed(drafts)
    departments = [data.lead_department_id, data.responsible_department_id]
    return Routed(drafts, Announcement(data.request_id, departments, title, body, link, urgency))


ISSUE_RULES: dict[str, Rule] = {
    "issues.issue.reported": issue_reported,
    "issues.issue.sla_breached": issue_sla_breached,
    **dict.fromkeys(_MOVES, issue_changed),
}
