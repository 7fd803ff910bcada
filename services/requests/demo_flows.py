"""What happens to each demo request after it is created, so the demo shows every feature:
approval, a kickoff with agenda and invite, the communication plan and risks, folders, an
emergency meeting with minutes and action items, acceptance, a lesson and a secondment.

Run only for requests created in this load, so reloading the demo does not repeat them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.requests import repository as repo
from services.requests.acceptance import service as acceptance
from services.requests.folders import service as folders
from services.requests.kickoff import service as kickoff
from services.requests.kickoff.models import CommunicationPlan, Level, ReportCadence, RiskDraft
from services.requests.meetings import service as meetings
from services.requests.meetings.models import (
    ActionItemDraft,
    AgendaItem,
    Attendee,
    Material,
    MeetingKind,
    MeetingMode,
    NewMeeting,
)
from services.requests.models import CollabRequest
from services.requests.secondments import service as secondments
from services.requests.secondments.models import NewSecondment, SecondmentDecision
from services.requests.workflow import service as workflow
from shared.auth import Principal, Role
from shared.runtime import ServiceRuntime

SHANGHAI = ZoneInfo("Asia/Shanghai")
PMO = Principal("zhou-pmo", frozenset({Role.PMO, Role.DEPARTMENT_HEAD}), ("pmo",))


def head(person: str, department: str) -> Principal:
    return Principal(person, frozenset({Role.DEPARTMENT_HEAD}), (department,))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def next_weekday(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.isoweekday()) % 7 or 7)


async def approve(runtime: ServiceRuntime, lead: Principal, request: CollabRequest) -> None:
    await workflow.submit_request(runtime, lead, request.id, "ready for approval")
    decision = workflow.Decision.APPROVE
    await workflow.decide_request(runtime, PMO, request.id, decision, "approved")
    await workflow.activate_request(runtime, lead, request.id, "kickoff done")


async def launch(runtime: ServiceRuntime, request: CollabRequest, today: date) -> None:
    """Project: kickoff across Shanghai and Berlin, plan, risks, folders."""
    lead = head("li-mkt", "mkt")
    await workflow.submit_request(runtime, lead, request.id)
    await workflow.decide_request(runtime, PMO, request.id, workflow.Decision.APPROVE, "go")
    monday = next_weekday(today, 1)
    kickoff_meeting = await meetings.schedule_meeting(
        runtime,
        lead,
        NewMeeting(
            request.id,
            MeetingKind.KICKOFF,
            "Q4 launch kickoff",
            at(monday, 16),
            at(monday, 17),
            MeetingMode.HYBRID,
            "https://meet.example/q4-kickoff",
            "HQ 3F, room 301",
            (
                AgendaItem("Goals, background and why it matters", "li-mkt", 15),
                AgendaItem("Responsibility boundaries (RACI)", "zhou-pmo", 20),
                AgendaItem("Communication mechanism", "li-mkt", 10),
                AgendaItem("Risks: resource conflicts, time zones", "wang-rd", 15),
            ),
            (
                Attendee("li-mkt", True),
                Attendee("wang-rd", True),
                Attendee("zhou-pmo", True),
                Attendee("gao-east", True),
                Attendee("anna-eu", False),
            ),
        ),
    )
    await meetings.send_agenda(
        runtime, lead, kickoff_meeting.id, [Material("Launch brief", "https://drive.example/q4")]
    )
    await kickoff.set_communication_plan(
        runtime,
        lead,
        CommunicationPlan(
            request.id,
            "weekly progress meeting, Monday 10:00",
            ("DingTalk group", "video"),
            "template 3: plan vs actual",
            ReportCadence.WEEKLY,
            5,
            time(17),
            "Asia/Shanghai",
            "li-mkt",
        ),
    )
    for text, likelihood, impact, mitigation, owner in (
        (
            "R&D support needed by two projects",
            Level.MEDIUM,
            Level.HIGH,
            "PMO arbitrates",
            "wang-rd",
        ),
        (
            "Berlin office answers late (time zones)",
            Level.HIGH,
            Level.LOW,
            "16:00 overlap",
            "li-mkt",
        ),
    ):
        await kickoff.add_risk(
            runtime, lead, request.id, RiskDraft(text, likelihood, impact, mitigation, owner)
        )
    for department, file_type in (("mkt", "campaign materials"), ("rd", "product specs")):
        await folders.create_folder(runtime, lead, request.id, department, file_type, [])
    await workflow.activate_request(runtime, lead, request.id, "kickoff held")


async def emergency(runtime: ServiceRuntime, request: CollabRequest, today: date) -> None:
    """Emergency: meeting, minutes with action items, acceptance, closing, a lesson."""
    lead = head("liu-after", "after-sales")
    await approve(runtime, lead, request)
    yesterday = today - timedelta(days=1)
    meeting = await meetings.schedule_meeting(
        runtime,
        lead,
        NewMeeting(
            request.id,
            MeetingKind.EMERGENCY,
            "Batch quality: joint answer",
            at(yesterday, 14),
            at(yesterday, 15),
            MeetingMode.ONLINE,
            "https://meet.example/quality",
            None,
            (
                AgendaItem("Findings on site", "liu-after", 20),
                AgendaItem("Root cause", "wang-rd", 20),
            ),
            (
                Attendee("liu-after", True),
                Attendee("wang-rd", True),
                Attendee("ma-prod", True),
                Attendee("qian-legal", True),
            ),
        ),
    )
    due = at(today, 18)
    await meetings.publish_minutes(
        runtime,
        lead,
        meeting.id,
        "Cause found in one supplier lot; production paused.",
        ["Stop the lot", "Answer the customer today"],
        [
            ActionItemDraft("Pause the affected line", "ma-prod", "production", due),
            ActionItemDraft("Legal risk assessment", "qian-legal", "legal", due),
        ],
    )
    await acceptance.start_acceptance(runtime, lead, request.id)
    goals = await _goals(runtime, request.id)
    await acceptance.record_acceptance(runtime, lead, request.id, [(goals[0], Decimal(20))])
    await acceptance.close_request(runtime, PMO, request.id, "customer accepted the plan")
    await acceptance.add_lesson(
        runtime,
        lead,
        request.id,
        "绿色通道要在2小时内拉齐各部门",
        "Calling production and legal into the first meeting saved a day.",
        ["应急", "quality"],
    )


async def _goals(runtime: ServiceRuntime, request_id: str) -> list[str]:
    async with runtime.pool.acquire() as conn:
        found = await repo.goals_by_request_ids(conn, [request_id])
    return [g.id for g in found.get(request_id, [])]


async def loan(runtime: ServiceRuntime, request: CollabRequest, today: date) -> None:
    """Resource sharing: a three-month secondment from South to North China."""
    lead = head("song-north", "sales-north")
    await approve(runtime, lead, request)
    secondment = await secondments.request_secondment(
        runtime,
        lead,
        NewSecondment(
            "huang-south",
            "sales-south",
            "sales-north",
            today + timedelta(days=7),
            today + timedelta(days=98),
            ("run the North China product line",),
            ("launch plan delivered", "team feedback"),
            ("housing", "travel"),
            request.id,
        ),
    )
    for person, department in (("lin-south", "sales-south"), ("song-north", "sales-north")):
        await secondments.decide_secondment(
            runtime, head(person, department), secondment.id, SecondmentDecision.APPROVE
        )


async def operations(runtime: ServiceRuntime, request: CollabRequest, today: date) -> None:
    """Routine operations: approved, monthly reporting on the 5th weekday."""
    lead = head("zhao-fin", "fin")
    await approve(runtime, lead, request)
    await kickoff.set_communication_plan(
        runtime,
        lead,
        CommunicationPlan(
            request.id,
            "monthly close meeting",
            ("WeCom group",),
            "monthly close checklist",
            ReportCadence.MONTHLY,
            3,
            time(12),
            "Asia/Shanghai",
            "zhao-fin",
        ),
    )


FLOWS = {
    "Q4 new product national launch": launch,
    "Monthly financial statements": operations,
    "Batch quality complaint in East China": emergency,
    "Senior product manager loan to North China": loan,
}


async def run_flow(runtime: ServiceRuntime, request: CollabRequest) -> None:
    flow = FLOWS.get(request.title)
    if flow is not None:
        await flow(runtime, request, datetime.now(UTC).astimezone(SHANGHAI).date())
