"""The end of a request stops what would otherwise run on by itself.

When the tasks service's copy of a request becomes CLOSED, CANCELLED or REJECTED, its report
deadline and reminder timers, the daily extension of its recurring series and the reminder
and overdue timers of its tasks are cancelled. The timer handlers also check the copy when
they fire, so a timer armed before the end arrived (or re-armed by a later edit) alerts
nobody and arms nothing either. The tasks themselves keep their status: the requests
service closes the request, the plan stays as its record.
"""

from __future__ import annotations

from services.tasks import repository as repo
from services.tasks.recurring import repository as recurring_repo
from services.tasks.recurring.service import EXTEND_TIMER
from services.tasks.reminders.timers import OVERDUE_TIMER, REMINDER_TIMER
from services.tasks.reports import timers as report_timers
from services.tasks.rules import request_finished
from shared.events.consumer import EventHandler
from shared.events.contracts.requests import RequestCreated
from shared.events.envelope import EventEnvelope
from shared.replicas import REPLICA_HANDLERS, get_request
from shared.unit_of_work import UnitOfWork


async def _cancel_timers(uow: UnitOfWork, request_id: str) -> None:
    for kind in (report_timers.REMINDER_TIMER, report_timers.DEADLINE_TIMER):
        await uow.cancel_timer(kind, request_id)
    series = await recurring_repo.recurring_by_request_ids(uow.conn, [request_id])
    await uow.cancel_timers(EXTEND_TIMER, [one.id for one in series.get(request_id, [])])
    tasks = await repo.tasks_by_request_ids(uow.conn, [request_id])
    timed = [t.id for t in tasks.get(request_id, []) if t.is_open and t.due_at is not None]
    for kind in (REMINDER_TIMER, OVERDUE_TIMER):  # one statement per kind, not per task
        await uow.cancel_timers(kind, timed)


async def on_request(uow: UnitOfWork, event: EventEnvelope) -> None:
    """Update the copy of the request; if it has ended, cancel its timers."""
    await REPLICA_HANDLERS[event.type](uow, event)
    # Read the copy back: an older event does not overwrite it, so it has the latest status.
    request_id = RequestCreated.model_validate(event.data).id
    if request_finished(await get_request(uow.conn, request_id)):
        await _cancel_timers(uow, request_id)


EVENT_HANDLERS: dict[str, EventHandler] = {
    "requests.request.created": on_request,
    "requests.request.updated": on_request,
}
