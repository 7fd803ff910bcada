"""The first ADMIN of a new installation, from the command line.

Only an ADMIN may change the directory, and only people of the directory may sign in, so a
fresh installation needs its first ADMIN from outside GraphQL::

    python -m services.requests.directory.bootstrap --id <sub> --name "Ops Admin" \\
        --email ops@example.com --department it --department-name IT \\
        --region hq --region-name Headquarters --time-zone Asia/Shanghai

It creates the region and the department when they do not exist yet (an existing one is
left as it is), then the person with the ADMIN role, through the same use cases as the
GraphQL mutations: every service hears of them by events, as of any directory change.
Running it again for the same id makes that person an ADMIN again (and active).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from services.requests.app import MIGRATIONS
from services.requests.directory import repository as repo
from services.requests.directory.service import save_department, save_person, save_region
from services.requests.models import Department, Person, Region
from shared.calendars import WorkCalendar, check_time_zone
from shared.runtime import ServiceRuntime
from shared.settings import get_settings
from shared.unit_of_work import unit_of_work


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--id", required=True, help="the person's id: their tokens' `sub`")
    parser.add_argument("--name", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--department", required=True, help="department id")
    parser.add_argument("--department-name", help="when the department is new")
    parser.add_argument("--region", required=True, help="region id")
    parser.add_argument("--region-name", help="when the region is new")
    parser.add_argument("--time-zone", default="Asia/Shanghai", help="IANA time zone")
    arguments = parser.parse_args(argv)
    try:
        check_time_zone(arguments.time_zone)
    except ValueError as exc:
        parser.error(str(exc))
    return arguments


async def bootstrap(runtime: ServiceRuntime, arguments: argparse.Namespace) -> None:
    """Region and department if missing, then the person as an active ADMIN."""
    zone = arguments.time_zone
    async with unit_of_work(runtime) as uow:
        if not await repo.regions_by_ids(uow.conn, [arguments.region]):
            name = arguments.region_name or arguments.region
            region = Region(
                arguments.region, arguments.region.upper(), name, zone, WorkCalendar(time_zone=zone)
            )
            await save_region(uow, region)
        if not await repo.departments_by_ids(uow.conn, [arguments.department]):
            name = arguments.department_name or arguments.department
            department = Department(
                arguments.department, arguments.department.upper(), name, arguments.region
            )
            await save_department(uow, department)
        person = Person(
            id=arguments.id,
            name=arguments.name,
            email=arguments.email,
            department_id=arguments.department,
            region_id=arguments.region,
            time_zone=zone,
            roles=("ADMIN",),
        )
        await save_person(uow, person)


async def main(argv: Sequence[str] | None = None) -> None:
    arguments = _arguments(argv)
    runtime = await ServiceRuntime.start("requests", get_settings(), MIGRATIONS)
    try:
        await bootstrap(runtime, arguments)
    finally:
        await runtime.close()
    print(f"{arguments.id} is an ADMIN of the directory")


if __name__ == "__main__":
    asyncio.run(main())
