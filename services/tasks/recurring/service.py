"""Creating recurring operations and generating their instances ahead of time.

Generation is idempotent: each instance's ``source_ref`` is
``<series>:<occurrence>:<region>`` (the consolidation's ends in ``consolidation``), so the
daily ``recurring.extend`` timer and a repeated run create nothing twice. Generation, and
with it the daily timer, stops once the request has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.tasks.models import NewTask, RaciAssignment, RaciRole, TaskSource
from services.tasks.recurring import repository as repo
from services.tasks.recurring.repository import RecurringTask, RegionShare
from services.tasks.recurring.rules import (
    Rule,
    RuleError,
    business_days_after,
    nominal_occurrences,
    parse_rule,
    region_instant,
)
from services.tasks.reports.timers import reporting_departments
from services.tasks.rules import check_may_plan, check_title, request_finished
from services.tasks.service import add_task
from shared.auth import Principal
from shared.calendars import BusinessHours
from shared.events.contracts.tasks import RecurringTaskCreated
from shared.graphql.errors import Problems
from shared.replicas import RequestReplica, department_regions, get_request, region_calendar
from shared.runtime import ServiceRuntime
from shared.timers import TimerRow
from shared.unit_of_work import UnitOfWork, unit_of_work

EXTEND_TIMER = "recurring.extend"


@dataclass(frozen=True)
class NewRecurringTask:
    request_id: str
    title: str
    rrule: str
    region_id: str
    accountable_id: str
    consolidation_title: str
    description: str = ""
    dtstart: datetime | None = None
    consolidation_department_id: str | None = None
    consolidation_business_days: int = 2


async def _calendars(uow: UnitOfWork, region_ids: list[str]) -> dict[str, BusinessHours]:
    found = {}
    for region_id in dict.fromkeys(region_ids):
        calendar = await region_calendar(uow.conn, region_id)
        if calendar is not None:
            found[region_id] = BusinessHours(calendar)
    return found


async def _shares(
    uow: UnitOfWork, problems: Problems, request: RequestReplica
) -> tuple[RegionShare, ...]:
    """One share per region of the request's executing departments."""
    departments = reporting_departments(
        request.lead_department_id, request.participant_department_ids
    )
    regions = await department_regions(uow.conn, departments)
    by_region: dict[str, list[str]] = {}
    for department in departments:
        if department not in regions:
            problems.add(
                "DEPARTMENT_NOT_FOUND",
                f"department {department} is not known here"
                " yet (directory copies lag); retry shortly",
                "requestId",
            )
        else:
            by_region.setdefault(regions[department], []).append(department)
    if not departments:
        problems.add("INVALID", "the request has no participating departments", "requestId")
    return tuple(RegionShare(r, tuple(d)) for r, d in by_region.items())


def _parse(problems: Problems, command: NewRecurringTask, zone: str | None) -> Rule | None:
    start = command.dtstart
    if start is not None and start.utcoffset() is not None and zone is not None:
        start = start.astimezone(ZoneInfo(zone))
    local = (start or datetime.now(ZoneInfo(zone or "UTC"))).replace(tzinfo=None)
    try:
        return parse_rule(command.rrule, local.replace(second=0, microsecond=0))
    except RuleError as exc:
        problems.add("INVALID_RRULE", str(exc), "rrule")
        return None


async def create_recurring_task(
    runtime: ServiceRuntime, principal: Principal, command: NewRecurringTask
) -> RecurringTask:
    problems = Problems()
    check_title(problems, command.title)
    check_title(problems, command.consolidation_title)
    if not 0 <= command.consolidation_business_days <= 30:
        problems.add("INVALID", "0 to 30 business days", "consolidationBusinessDays")
    async with unit_of_work(runtime) as uow:
        request = await get_request(uow.conn, command.request_id)
        check_may_plan(problems, principal, request)
        shares = await _shares(uow, problems, request) if request else ()
        calendars = await _calendars(uow, [command.region_id, *(s.region_id for s in shares)])
        for region_id in [command.region_id, *(s.region_id for s in shares)]:
            if region_id not in calendars:
                problems.add(
                    "REGION_NOT_FOUND", f"region {region_id} has no calendar here yet", "regionId"
                )
        anchor = calendars.get(command.region_id)
        rule = _parse(problems, command, anchor.calendar.time_zone if anchor else None)
        problems.raise_if_any()
        assert request is not None  # refused above otherwise
        assert rule is not None
        series = await repo.insert_recurring(
            uow.conn,
            {
                **command.__dict__,
                "rrule": rule.text,
                "dtstart": rule.dtstart,
                "regions": shares,
                "title": command.title.strip(),
                "consolidation_title": command.consolidation_title.strip(),
                "consolidation_department_id": command.consolidation_department_id
                or request.lead_department_id,
                "created_by": principal.sub,
            },
        )
        data = RecurringTaskCreated(
            id=series.id,
            request_id=series.request_id,
            title=series.title,
            rrule=series.rrule,
            region_id=series.region_id,
            created_by=principal.sub,
        )
        await uow.emit(
            "tasks.recurring.created", series.id, data, departments=list(request.departments)
        )
        await generate(uow, series, datetime.now(UTC))
    return series


async def generate(uow: UnitOfWork, series: RecurringTask, now: datetime) -> int:
    """Create the instances due within the horizon; arm the next extension. Returns how many
    occurrences got tasks now; none, and no extension, once the request has ended."""
    request = await get_request(uow.conn, series.request_id)
    if request_finished(request):
        return 0
    calendars = await _calendars(uow, [series.region_id, *(s.region_id for s in series.regions)])
    anchor = calendars[series.region_id]
    rule = parse_rule(series.rrule, series.dtstart)
    zone = ZoneInfo(anchor.calendar.time_zone)
    local_now = now.astimezone(zone).replace(tzinfo=None)
    horizon = timedelta(days=uow.runtime.settings.tasks_recurring_horizon_days)
    created = 0
    for nominal in nominal_occurrences(rule, local_now, local_now + horizon):
        instants = {
            s.region_id: region_instant(rule, nominal, calendars[s.region_id])
            for s in series.regions
            if s.region_id in calendars
        }
        due = {r: i for r, i in instants.items() if i is not None}
        if due and max(due.values()) > now:
            created += await _occurrence(uow, series, request, rule, nominal, due, anchor)
    await uow.arm_timer(EXTEND_TIMER, series.id, now + timedelta(days=1))
    return created


async def _occurrence(
    uow: UnitOfWork,
    series: RecurringTask,
    request: RequestReplica | None,
    rule: Rule,
    nominal: datetime,
    due: dict[str, datetime],
    anchor: BusinessHours,
) -> int:
    key = f"{series.id}:{nominal.isoformat()}"
    if await repo.task_id_by_source_ref(uow.conn, f"{key}:consolidation") is not None:
        return 0
    names = await repo.region_names(uow.conn, list(due))
    accountable = RaciAssignment(RaciRole.A, series.accountable_id)
    instance_ids = []
    for share in series.regions:
        if share.region_id not in due:
            continue
        raci = (accountable, *(RaciAssignment(RaciRole.R, None, d) for d in share.department_ids))
        region_name = names.get(share.region_id, share.region_id)
        command = NewTask(
            request_id=series.request_id,
            title=f"{series.title} ({region_name})"[:200],
            raci=raci,
            description=series.description,
            due_at=due[share.region_id],
            source=TaskSource.RECURRING,
            source_ref=f"{key}:{share.region_id}",
            recurring_task_id=series.id,
            region_id=share.region_id,
        )
        task = await add_task(uow, command, request, series.created_by)
        instance_ids.append(
            task.id
            if task
            else await repo.task_id_by_source_ref(uow.conn, f"{key}:{share.region_id}")
        )
    consolidation_due = business_days_after(
        anchor, max(due.values()), series.consolidation_business_days, rule.time_of_day
    )
    command = NewTask(
        request_id=series.request_id,
        title=f"{series.consolidation_title} ({nominal.date().isoformat()})"[:200],
        raci=(accountable, RaciAssignment(RaciRole.R, None, series.consolidation_department_id)),
        description=series.description,
        due_at=consolidation_due,
        depends_on=tuple(i for i in instance_ids if i),
        source=TaskSource.RECURRING,
        source_ref=f"{key}:consolidation",
        recurring_task_id=series.id,
        region_id=series.region_id,
    )
    await add_task(uow, command, request, series.created_by)
    return 1


async def extend_series(uow: UnitOfWork, timer: TimerRow) -> None:
    """Daily: create the instances that entered the horizon."""
    series = (await repo.recurring_by_ids(uow.conn, [timer.subject])).get(timer.subject)
    if series is not None:
        await generate(uow, series, datetime.now(UTC))


TIMER_HANDLERS = {EXTEND_TIMER: extend_series}
