"""What SLA timers do when they fire: warn at the configured percentages, breach at 100, and
send a breach notice held for its recipient's working time.

Each announcement happens once: a warning is recorded in ``sla_warnings`` (so re-arming after
a pause never repeats it), a breach is a state change guarded by the clock's state. Handlers
lock the issue before the clock, in the same order as the lifecycle moves, so a timer and a
move never deadlock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.issues import repository as issues_repo
from services.issues.models import Issue, IssueAction, SlaClock, SlaClockState
from services.issues.sla import escalation
from services.issues.sla import repository as repo
from services.issues.sla.arithmetic import calendar_of, due_at, first_warning_at
from shared.events.contracts.issues import IssueSlaBreached, IssueSlaWarning
from shared.replicas import department_heads
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork

BREACH_TIMER = "sla.clock"
"""Timer kind of an SLA clock's deadline; the timer's subject is the clock id."""
WARNING_TIMER = "sla.warning"
"""Timer kind of an SLA warning; subject ``<clock id>:<percent>``, payload says the same."""
BREACH_NOTICE_TIMER = "sla.breach_notice"
"""A breach event held for its recipient's working time; subject ``<clock id>:<person>``."""

_EARLY_TOLERANCE = timedelta(seconds=1)


def urgency(issue: Issue) -> str:
    """Notify's urgency: green-channel issues are URGENT, others NORMAL."""
    return "URGENT" if issue.urgent else "NORMAL"


async def _locked(uow: UnitOfWork, clock_id: str) -> tuple[Issue, SlaClock] | None:
    issue_id = await uow.conn.fetchval("SELECT issue_id FROM sla_clocks WHERE id = $1", clock_id)
    if issue_id is None:
        return None
    issue = await issues_repo.lock_issue(uow.conn, issue_id)
    clock = await repo.lock_clock(uow.conn, clock_id)
    return (issue, clock) if issue and clock else None


async def warning_due(uow: UnitOfWork, timer: TimerRow) -> None:
    """``percent`` of a running clock's target has elapsed: tell the owner and the head."""
    percent = int(timer.payload["percent"])
    found = await _locked(uow, str(timer.payload["clock_id"]))
    if found is None:
        return
    issue, clock = found
    if clock.state is not SlaClockState.RUNNING:
        return
    if not await repo.record_warning(uow.conn, clock.id, percent):
        return
    now = datetime.now(UTC)
    calendar = await calendar_of(uow.conn, clock)
    heads = await department_heads(uow.conn, [issue.responsible_department_id])
    recipients = [p for p in (issue.owner_id, heads.get(issue.responsible_department_id)) if p]
    await issues_repo.add_timeline(
        uow.conn, issue.id, now, IssueAction.SLA_WARNING, actor_id=None,
        note=f"{percent}% of the {clock.metric.value} target has elapsed",
    )  # fmt: skip
    await uow.emit(
        "issues.issue.sla_warning",
        issue.id,
        IssueSlaWarning(
            issue_id=issue.id,
            code=issue.code,
            title=issue.title,
            metric=clock.metric.value,
            percent=percent,
            due_at=clock.due_at,
            remaining_minutes=clock.remaining_minutes(calendar, now),
            urgent=issue.urgent,
            urgency=urgency(issue),
            lead_department_id=issue.lead_department_id,
            responsible_department_id=issue.responsible_department_id,
            recipient_ids=list(dict.fromkeys(recipients)),
        ),
        departments=await escalation.departments_of(uow, issue),
    )


async def breach_due(uow: UnitOfWork, timer: TimerRow) -> None:
    """A running clock's deadline passed: breach it (see :func:`breach_clock`)."""
    await breach_clock(uow, timer.subject, datetime.now(UTC))


async def breach_clock(uow: UnitOfWork, clock_id: str, now: datetime) -> None:
    """Breach a running clock whose deadline has passed, say so once, start escalating.

    The state guard also covers a clock met or paused after its timer was armed, and a
    timer re-armed for a clock already breached.
    """
    found = await _locked(uow, clock_id)
    if found is None:
        return
    issue, clock = found
    if clock.state is not SlaClockState.RUNNING:
        return
    calendar = await calendar_of(uow.conn, clock)
    deadline = due_at(clock, calendar)
    if deadline > now + _EARLY_TOLERANCE:
        # Defensive: every deadline move re-arms, but never breach before the deadline.
        warn_at = first_warning_at(clock, calendar)
        await repo.update_clock(uow.conn, clock.id, due_at=deadline, warn_at=warn_at)
        await uow.arm_timer(BREACH_TIMER, clock.id, deadline)
        return
    breached = await repo.update_clock(
        uow.conn, clock.id, state=SlaClockState.BREACHED, breached_at=now
    )
    await announce_breach(uow, issue, breached, now)
    await escalation.escalate_breach(uow, issue, breached, now)


async def announce_breach(uow: UnitOfWork, issue: Issue, clock: SlaClock, now: datetime) -> None:
    """Timeline entry now, and ``issues.issue.sla_breached`` to the lead department's head.

    The head hears at once if at work (or if the clock counts 24x7: urgent issues). Off
    work, the event waits for their next working minute (timer kind
    :data:`BREACH_NOTICE_TIMER`): notify makes every breach URGENT, so sending it now would
    wake them at midnight or on a weekend. It is still one event per breach.
    """
    heads = await department_heads(uow.conn, [issue.lead_department_id])
    lead_head = heads.get(issue.lead_department_id)
    await issues_repo.add_timeline(
        uow.conn, issue.id, now, IssueAction.SLA_BREACHED, actor_id=None,
        note=f"{clock.metric.value} deadline {clock.due_at.isoformat()} missed",
    )  # fmt: skip
    people = [lead_head] if lead_head else []
    at_work, later = await escalation.reachable(uow.conn, issue, clock, people, now)
    for person, at in later.items():
        payload: dict[str, object] = {"clock_id": clock.id, "person": person}
        await uow.arm_timer(BREACH_NOTICE_TIMER, f"{clock.id}:{person}", at, payload)
    if not later:
        # With nobody named (no head in the directory) notify finds the departments' heads.
        await _emit_breach(uow, issue, clock, at_work)


async def breach_notice_due(uow: UnitOfWork, timer: TimerRow) -> None:
    """A breach event held for its recipient's working time goes out now.

    Sent even if the issue moved on meanwhile: the breach happened, and its event is
    emitted exactly once (notify's chat announcement and partners' webhooks rely on it).
    """
    found = await _locked(uow, str(timer.payload["clock_id"]))
    if found is not None:
        issue, clock = found
        await _emit_breach(uow, issue, clock, [str(timer.payload["person"])])


async def _emit_breach(
    uow: UnitOfWork, issue: Issue, clock: SlaClock, recipients: list[str]
) -> None:
    assert clock.breached_at is not None
    await uow.emit(
        "issues.issue.sla_breached",
        issue.id,
        IssueSlaBreached(
            issue_id=issue.id,
            metric=clock.metric.value,
            due_at=clock.due_at,
            breached_at=clock.breached_at,
            lead_department_id=issue.lead_department_id,
            code=issue.code,
            title=issue.title,
            urgent=issue.urgent,
            responsible_department_id=issue.responsible_department_id,
            recipient_ids=recipients,
            request_id=issue.request_id,
        ),
        departments=await escalation.departments_of(uow, issue),
    )
