"""Demo data from the handbook: regions, departments, people and one request per scenario,
each taken through its scenario (see :mod:`services.requests.demo_flows`).

Loaded by `./liaison run`. Idempotent: the directory is upserted by fixed ids, and a request
is created only if none with its title exists yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services.requests import models, service
from services.requests.demo_flows import run_flow
from services.requests.directory import service as directory
from shared.auth import Principal, Role
from shared.calendars import WorkCalendar
from shared.runtime import ServiceRuntime
from shared.unit_of_work import unit_of_work

CHINA = "Asia/Shanghai"

REGIONS = [
    ("hq", "HQ", "Headquarters", CHINA, "CN"),
    ("east", "EAST", "East China", CHINA, "CN"),
    ("south", "SOUTH", "South China", CHINA, "CN"),
    ("west", "WEST", "West China", CHINA, "CN"),
    ("north", "NORTH", "North China", CHINA, "CN"),
    ("eu", "EU", "Europe office (Berlin)", "Europe/Berlin", "DE"),
]

# (id, code, name, region) — the departments the handbook names.
DEPARTMENTS = [
    ("pmo", "PMO", "Project Management Office", "hq"),
    ("mkt", "MKT", "Marketing", "hq"),
    ("rd", "RD", "R&D", "hq"),
    ("fin", "FIN", "Finance", "hq"),
    ("legal", "LEGAL", "Legal", "hq"),
    ("after-sales", "AFTER-SALES", "After-sales", "hq"),
    ("supply", "SUPPLY", "Supply chain", "hq"),
    ("hr", "HR", "Human resources", "hq"),
    ("production", "PROD", "Production", "hq"),
    ("sales-east", "SALES-EAST", "East China sales branch", "east"),
    ("sales-south", "SALES-SOUTH", "South China sales branch", "south"),
    ("sales-west", "SALES-WEST", "West China sales branch", "west"),
    ("sales-north", "SALES-NORTH", "North China sales branch", "north"),
    ("sales-eu", "SALES-EU", "Europe sales office", "eu"),
]

# (id, name, department, roles); the first person of each department is its head.
PEOPLE = [
    ("zhou-pmo", "Zhou Min", "pmo", ("PMO", "DEPARTMENT_HEAD")),
    ("admin", "Liaison Admin", "pmo", ("ADMIN",)),
    ("li-mkt", "Li Na", "mkt", ("DEPARTMENT_HEAD",)),
    ("chen-mkt", "Chen Jie", "mkt", ("MEMBER",)),
    ("deng-mkt", "Deng Hui", "mkt", ("MEMBER",)),
    ("wang-rd", "Wang Lei", "rd", ("DEPARTMENT_HEAD",)),
    ("sun-rd", "Sun Yu", "rd", ("MEMBER",)),
    ("zhao-fin", "Zhao Qing", "fin", ("DEPARTMENT_HEAD",)),
    ("tang-fin", "Tang Yi", "fin", ("MEMBER",)),
    ("qian-legal", "Qian Hao", "legal", ("DEPARTMENT_HEAD",)),
    ("feng-legal", "Feng Rui", "legal", ("MEMBER",)),
    ("liu-after", "Liu Yang", "after-sales", ("DEPARTMENT_HEAD",)),
    ("cao-after", "Cao Min", "after-sales", ("MEMBER",)),
    ("he-supply", "He Ping", "supply", ("DEPARTMENT_HEAD",)),
    ("peng-supply", "Peng Bo", "supply", ("MEMBER",)),
    ("xu-hr", "Xu Ling", "hr", ("DEPARTMENT_HEAD",)),
    ("yu-hr", "Yu Jing", "hr", ("MEMBER",)),
    ("ma-prod", "Ma Jun", "production", ("DEPARTMENT_HEAD",)),
    ("dong-prod", "Dong Kai", "production", ("MEMBER",)),
    ("gao-east", "Gao Fei", "sales-east", ("DEPARTMENT_HEAD",)),
    ("zheng-east", "Zheng Yu", "sales-east", ("MEMBER",)),
    ("lin-south", "Lin Xiao", "sales-south", ("DEPARTMENT_HEAD",)),
    ("huang-south", "Huang Wei", "sales-south", ("MEMBER",)),
    ("luo-west", "Luo Bin", "sales-west", ("DEPARTMENT_HEAD",)),
    ("xie-west", "Xie Tao", "sales-west", ("MEMBER",)),
    ("song-north", "Song Tao", "sales-north", ("DEPARTMENT_HEAD",)),
    ("han-north", "Han Xue", "sales-north", ("MEMBER",)),
    ("anna-eu", "Anna Becker", "sales-eu", ("DEPARTMENT_HEAD",)),
    ("jonas-eu", "Jonas Weber", "sales-eu", ("MEMBER",)),
]

DEMO_PERSON = "zhou-pmo"
"""The person whose token `./liaison run` prints: PMO, so every request is visible."""


@dataclass(frozen=True)
class DemoRequest:
    lead_person: str
    command: models.NewRequest


def _goal(
    metric: str,
    target: str,
    unit: str,
    due: date,
    regions: tuple[str, ...] = (),
    direction: models.GoalDirection = models.GoalDirection.AT_LEAST,
) -> models.GoalDraft:
    return models.GoalDraft(
        metric=metric,
        target=Decimal(target),
        unit=unit,
        due_date=due,
        regions=regions,
        direction=direction,
    )


def demo_requests(today: date) -> list[DemoRequest]:
    """One request per handbook scenario, the Q4 national launch first."""
    in_3_months = today + timedelta(days=91)
    budget = models.ResourceKind.BUDGET
    headcount = models.ResourceKind.HEADCOUNT
    return [
        DemoRequest(
            "li-mkt",
            models.NewRequest(
                kind=models.RequestKind.PROJECT,
                title="Q4 new product national launch",
                background="HQ marketing sets the strategy, regional sales branches execute, R&D "
                "supports the product, after-sales collects feedback, finance controls the budget.",
                lead_department_id="mkt",
                participant_department_ids=(
                    "sales-east",
                    "sales-south",
                    "sales-west",
                    "sales-north",
                    "rd",
                    "after-sales",
                    "fin",
                ),
                goals=(
                    _goal(
                        "sales revenue",
                        "2000000",
                        "CNY",
                        in_3_months,
                        ("EAST", "SOUTH", "WEST", "NORTH", "HQ"),
                    ),
                ),
                resource_needs=(
                    models.ResourceNeedDraft(
                        budget, "marketing campaign budget", Decimal(150000), "CNY", "fin"
                    ),
                    models.ResourceNeedDraft(
                        headcount, "R&D product support", Decimal(2), "person", "rd"
                    ),
                ),
                approver_id=DEMO_PERSON,
            ),
        ),
        DemoRequest(
            "zhao-fin",
            models.NewRequest(
                kind=models.RequestKind.OPERATIONS,
                title="Monthly financial statements",
                background="Regional branches submit sales data, supply chain the inventory, "
                "HR the staff costs; finance consolidates.",
                lead_department_id="fin",
                participant_department_ids=("sales-east", "sales-south", "supply", "hr"),
                goals=(
                    _goal("statements consolidated", "1", "report", today + timedelta(days=30)),
                ),
                approver_id=DEMO_PERSON,
            ),
        ),
        DemoRequest(
            "liu-after",
            models.NewRequest(
                kind=models.RequestKind.EMERGENCY,
                title="Batch quality complaint in East China",
                background="A customer reported a batch quality problem; "
                "joint answer within 24 hours.",
                lead_department_id="after-sales",
                participant_department_ids=("rd", "production", "legal", "sales-east"),
                goals=(
                    _goal(
                        "solution sent to customer within",
                        "24",
                        "hours",
                        today + timedelta(days=1),
                        direction=models.GoalDirection.AT_MOST,
                    ),
                ),
                approver_id=DEMO_PERSON,
            ),
        ),
        DemoRequest(
            "song-north",
            models.NewRequest(
                kind=models.RequestKind.RESOURCE_SHARING,
                title="Senior product manager loan to North China",
                background="North China lacks a senior product manager; South China lends one.",
                lead_department_id="sales-north",
                participant_department_ids=("sales-south", "hr"),
                goals=(_goal("secondment length", "3", "months", in_3_months),),
                resource_needs=(
                    models.ResourceNeedDraft(
                        headcount, "senior product manager", Decimal(1), "person", "sales-south"
                    ),
                ),
                approver_id=DEMO_PERSON,
            ),
        ),
    ]


async def load_directory(runtime: ServiceRuntime) -> None:
    people_by_department: dict[str, list[str]] = {}
    for person_id, _, department, _ in PEOPLE:
        people_by_department.setdefault(department, []).append(person_id)
    regions = {r[0]: r for r in REGIONS}
    async with unit_of_work(runtime) as uow:
        for region_id, code, name, zone, country in REGIONS:
            calendar = WorkCalendar(time_zone=zone, holiday_country=country)
            await directory.save_region(uow, models.Region(region_id, code, name, zone, calendar))
        for department_id, code, name, region in DEPARTMENTS:
            head = people_by_department.get(department_id, [None])[0]
            await directory.save_department(
                uow, models.Department(department_id, code, name, region, None, head)
            )
        for person_id, name, department, roles in PEOPLE:
            region = next(d[3] for d in DEPARTMENTS if d[0] == department)
            email = f"{person_id}@liaison.example"
            zone = regions[region][3]
            await directory.save_person(
                uow, models.Person(person_id, name, email, department, region, zone, roles)
            )


async def load_demo(runtime: ServiceRuntime) -> None:
    """Load the directory and the demo requests (skipping those already there)."""
    await load_directory(runtime)
    departments = {p[0]: p[2] for p in PEOPLE}
    for demo in demo_requests(datetime.now(UTC).date()):
        exists = await runtime.pool.fetchval(
            "SELECT 1 FROM collab_requests WHERE title = $1", demo.command.title
        )
        if exists:
            continue
        lead = Principal(
            sub=demo.lead_person,
            roles=frozenset({Role.DEPARTMENT_HEAD}),
            departments=(departments[demo.lead_person],),
        )
        request = await service.create_request(runtime, lead, demo.command)
        await run_flow(runtime, request)
