"""Action items of published minutes (handbook template 4) become ACTION_ITEM tasks.

The item's owner is R (with their department); A is the meeting's chair, else the head of
the request's lead department. The task's ``source_ref`` is the action item id, so the
same item delivered again (a replayed or re-published event) creates nothing twice.
"""

from __future__ import annotations

from services.tasks.models import NewTask, RaciAssignment, RaciRole, TaskSource
from services.tasks.service import add_task
from shared.events.contracts.requests import ActionItemCreated
from shared.events.envelope import EventEnvelope
from shared.replicas import department_heads, get_request
from shared.unit_of_work import UnitOfWork


async def on_action_item(uow: UnitOfWork, event: EventEnvelope) -> None:
    item = ActionItemCreated.model_validate(event.data)
    request = await get_request(uow.conn, item.request_id)
    accountable = item.chair_id or item.lead_department_head_id
    if accountable is None and request is not None:
        heads = await department_heads(uow.conn, [request.lead_department_id])
        accountable = heads.get(request.lead_department_id)
    raci = [RaciAssignment(RaciRole.R, item.owner_id, item.department_id)]
    if accountable is not None:
        # Without one the task still exists; the RACI matrix then shows NO_ACCOUNTABLE.
        raci.insert(0, RaciAssignment(RaciRole.A, accountable))
    command = NewTask(
        request_id=item.request_id,
        title=item.title.strip()[:200] or "Action item",
        raci=tuple(raci),
        description=f"Action item of meeting {item.meeting_id}",
        due_at=item.due_at,
        source=TaskSource.ACTION_ITEM,
        source_ref=item.id,
    )
    await add_task(uow, command, request, created_by=item.chair_id or "system")


EVENT_HANDLERS = {"requests.action_item.created": on_action_item}
