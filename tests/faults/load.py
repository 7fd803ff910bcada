"""A steady load through the gateway, recording every write and how it ended.

Each *lane* runs rounds one after the other. A round takes one collaboration request
through the services, as its people would:

1. ``createRequest`` (requests), led by marketing with R&D taking part;
2. ``registerChannel`` (notify): the request's chat group, on the fake chat robot;
3. ``createTask`` with RACI (tasks);
4. ``reportIssue`` (issues), whose RESPONSE clock warns after 30 s and breaches after 60 s;
5. ``submitRequest``, ``decideRequest`` (approve), ``activateRequest`` (requests);
6. ``scheduleMeeting`` for a meeting that has just ended (its minutes are due 15 s later);
7. every other round, ``publishMinutes`` with one action item (which becomes a task); the
   other meetings' minutes-due timers fire.

Steps 2-4 refer to the request a moment after it was created: the services' copies are
eventually consistent, so ``REQUEST_NOT_FOUND`` (and the other "not known yet" codes) are
retried, as front ends do. Any other failure abandons the round: a write whose answer was
lost (a connection cut, a timeout) may or may not have happened, so it is not sent again
(no mutation here is idempotent); the next round starts afresh.

Every created object carries a title (or URL) unique to its round and step, so the checks
can count how many times it was stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.auth import issue_token
from shared.settings import Settings
from tests.enrolment import enrol_everywhere
from tests.support import ADMIN, Caller, RuntimeCache

LI = Caller("li", departments=("mkt",), roles=("DEPARTMENT_HEAD",))
"""Head of marketing, which leads every request."""
DIRECTOR = Caller("dir", departments=("mkt",), roles=("DEPARTMENT_HEAD",))
"""Approves every request."""
WANG = Caller("wang", departments=("rd",), roles=("DEPARTMENT_HEAD",))
"""Head of R&D; A on every task."""
SUN = Caller("sun", departments=("rd",))
"""R&D; R on every task, reports every issue, owns every action item."""

DIRECTORY = """
mutation {
  hq: upsertRegion(input: {id: "hq", code: "HQ", name: "HQ", timeZone: "Asia/Shanghai"})
    { userErrors { code } }
  mkt: upsertDepartment(input: {id: "mkt", code: "MKT", name: "Marketing", regionId: "hq"})
    { userErrors { code } }
  rd: upsertDepartment(input: {id: "rd", code: "RD", name: "R&D", regionId: "hq"})
    { userErrors { code } }
  li: upsertPerson(input: {id: "li", name: "Li Na", email: "li@faults.example",
                           departmentId: "mkt", regionId: "hq", timeZone: "Asia/Shanghai",
                           roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  dir: upsertPerson(input: {id: "dir", name: "Director", email: "dir@faults.example",
                            departmentId: "mkt", regionId: "hq", timeZone: "Asia/Shanghai",
                            roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  wang: upsertPerson(input: {id: "wang", name: "Wang Lei", email: "wang@faults.example",
                             departmentId: "rd", regionId: "hq", timeZone: "Asia/Shanghai",
                             roles: ["DEPARTMENT_HEAD"]}) { userErrors { code } }
  sun: upsertPerson(input: {id: "sun", name: "Sun Yu", email: "sun@faults.example",
                            departmentId: "rd", regionId: "hq", timeZone: "Asia/Shanghai"})
    { userErrors { code } }
  mktHead: upsertDepartment(input: {id: "mkt", code: "MKT", name: "Marketing", regionId: "hq",
                                    headId: "li"}) { userErrors { code } }
  rdHead: upsertDepartment(input: {id: "rd", code: "RD", name: "R&D", regionId: "hq",
                                   headId: "wang"}) { userErrors { code } }
}
"""


def _mutation(field_name: str, input_type: str, selection: str) -> str:
    return (
        f"mutation($input: {input_type}!) {{ {field_name}(input: $input) "
        f"{{ {selection} userErrors {{ code message }} }} }}"
    )


MUTATIONS = {
    "createRequest": _mutation("createRequest", "CreateRequestInput", "request { id }"),
    "registerChannel": _mutation("registerChannel", "RegisterChannelInput", "channel { id }"),
    "createTask": _mutation("createTask", "CreateTaskInput", "task { id }"),
    "reportIssue": _mutation("reportIssue", "ReportIssueInput", "issue { id }"),
    "submitRequest": _mutation("submitRequest", "RequestMoveInput", "request { id }"),
    "decideRequest": _mutation("decideRequest", "DecideRequestInput", "request { id }"),
    "activateRequest": _mutation("activateRequest", "RequestMoveInput", "request { id }"),
    "scheduleMeeting": _mutation("scheduleMeeting", "ScheduleMeetingInput", "meeting { id }"),
    "publishMinutes": _mutation("publishMinutes", "PublishMinutesInput", "meeting { id }"),
}
OBJECT_FIELD = {
    "createRequest": "request",
    "registerChannel": "channel",
    "createTask": "task",
    "reportIssue": "issue",
    "submitRequest": "request",
    "decideRequest": "request",
    "activateRequest": "request",
    "scheduleMeeting": "meeting",
    "publishMinutes": "meeting",
}

LAGGING = {"REQUEST_NOT_FOUND", "PERSON_NOT_FOUND", "DEPARTMENT_NOT_FOUND"}
"""Refusals that only mean a local copy has not caught up yet (docs/frontend.md: clients retry)."""
LAGGING_PATIENCE_SECONDS = 30.0
"""How long a step waits for a copy to catch up before the round is given up."""
REQUEST_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


@dataclass
class Write:
    """One mutation as the front end saw it (a retried "not known yet" refusal included)."""

    kind: str
    round_id: str
    marker: str | None
    """The title or URL unique to this write, for counting what was stored."""
    started: float
    started_at: datetime
    ended: float = 0.0
    acked: bool = False
    object_id: str | None = None
    failure: str | None = None
    """How it failed: ``connection``, ``HTTP 502``, a GraphQL error code, a user error."""
    lagging_retries: int = 0


@dataclass
class Round:
    id: str
    number: int
    started: float
    request_id: str | None = None
    core_done: float | None = None
    """When steps 1-4 had all been acknowledged: every subgraph, the relay and every
    consumer of the request's events did their part."""


class _Abandon(Exception):
    """A step failed; the round stops here."""


@dataclass
class Load:
    url: str
    settings: Settings
    chat_url: Callable[[str], str]
    lanes: int = 2
    pause: float = 0.15
    """Seconds between two steps of a lane."""
    writes: list[Write] = field(default_factory=list)
    rounds: list[Round] = field(default_factory=list)
    run_tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    _tokens: dict[str, str] = field(default_factory=dict)
    _probes: int = 0

    def token(self, caller: Caller) -> str:
        if caller.sub not in self._tokens:
            self._tokens[caller.sub] = issue_token(self.settings, caller.sub)
        return self._tokens[caller.sub]

    async def seed_directory(self) -> None:
        """The load's people, through the gateway as an ADMIN would, copied everywhere."""
        runtimes = RuntimeCache(self.settings)
        try:
            await enrol_everywhere(runtimes, ADMIN)
            await self._post_directory()
            for caller in (LI, DIRECTOR, WANG, SUN):
                await enrol_everywhere(runtimes, caller)  # known already: waits for the copies
        finally:
            await runtimes.close()

    async def _post_directory(self) -> None:
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as http:
            response = await http.post(
                self.url,
                json={"query": DIRECTORY},
                headers={"authorization": f"Bearer {self.token(ADMIN)}"},
            )
        body = response.json()
        assert response.status_code == 200, response.text
        assert not body.get("errors"), body
        assert all(not v["userErrors"] for v in body["data"].values()), body

    async def run(self, stop: asyncio.Event) -> None:
        limits = httpx.Limits(max_connections=self.lanes * 2, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, limits=limits) as http:
            await asyncio.gather(*(self._lane(http, lane, stop) for lane in range(self.lanes)))

    async def _lane(self, http: httpx.AsyncClient, lane: int, stop: asyncio.Event) -> None:
        number = 0
        while not stop.is_set():
            number += 1
            current = Round(f"{self.run_tag}-{lane}-{number}", number, time.monotonic())
            self.rounds.append(current)
            with contextlib.suppress(_Abandon):
                await self._round(http, current, stop, pause=self.pause)
            await _pause(stop, self.pause * 2)

    async def probe(self, deadline: float) -> float | None:
        """Send fresh rounds of steps 1-4, one after the other and without pauses, until one
        gets through; when it did (None if none did by ``deadline``). The lanes cannot tell
        this as soon: each is in the middle of a round begun before."""
        stop = asyncio.Event()
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as http:
            while time.monotonic() < deadline:
                self._probes += 1
                current = Round(f"{self.run_tag}-p-{self._probes}", 0, time.monotonic())
                self.rounds.append(current)
                with contextlib.suppress(_Abandon):
                    await self._round(http, current, stop, pause=0.0, full=False)
                if current.core_done is not None:
                    return current.core_done
                await asyncio.sleep(0.2)
        return None

    async def _round(
        self,
        http: httpx.AsyncClient,
        current: Round,
        stop: asyncio.Event,
        *,
        pause: float,
        full: bool = True,
    ) -> None:
        tag = f"fault {current.id}"

        async def step(
            mutation: str, caller: Caller, marker: str | None, /, **input: Any
        ) -> dict[str, Any]:
            if stop.is_set():
                raise _Abandon
            found = await self._write(http, current, mutation, caller, marker, input)
            await _pause(stop, pause)
            return found

        request = await step(
            "createRequest",
            LI,
            f"{tag} request",
            kind="PROJECT",
            title=f"{tag} request",
            leadDepartmentId="mkt",
            participantDepartmentIds=["rd"],
            approverId="dir",
            goals=[{"metric": "sales", "target": "100", "unit": "CNY", "dueDate": "2030-01-01"}],
        )
        rid = request["id"]
        current.request_id = rid
        await step(
            "registerChannel",
            LI,
            self.chat_url(current.id),
            request=rid,
            phase="PREPARATION",
            department="mkt",
            kind="WEBHOOK",
            webhookUrl=self.chat_url(current.id),
        )
        await step(
            "createTask",
            LI,
            f"{tag} task",
            requestId=rid,
            title=f"{tag} task",
            raci=[
                {"role": "A", "personId": "wang"},
                {"role": "R", "personId": "sun"},
                {"role": "I", "departmentId": "mkt"},
            ],
        )
        await step(
            "reportIssue",
            SUN,
            f"{tag} issue",
            requestId=rid,
            title=f"{tag} issue",
            severity="HIGH",
            description="Samples are late.",
        )
        current.core_done = time.monotonic()
        if not full:
            return
        await step("submitRequest", LI, None, requestId=rid)
        await step("decideRequest", DIRECTOR, None, requestId=rid, decision="APPROVE")
        await step("activateRequest", LI, None, requestId=rid)
        now = datetime.now(UTC)
        meeting = await step(
            "scheduleMeeting",
            LI,
            f"{tag} meeting",
            requestId=rid,
            kind="PROGRESS",
            title=f"{tag} meeting",
            startsAt=(now - timedelta(minutes=30)).isoformat(),
            endsAt=(now - timedelta(seconds=1)).isoformat(),
            mode="ONLINE",
            joinUrl="https://meet.example/faults",
            attendees=[{"personId": "li"}, {"personId": "sun"}],
        )
        if current.number % 2:
            await step(
                "publishMinutes",
                LI,
                f"{tag} action",
                meetingId=meeting["id"],
                summary="Progress reviewed.",
                actionItems=[
                    {
                        "title": f"{tag} action",
                        "ownerId": "sun",
                        "departmentId": "rd",
                        "dueAt": (now + timedelta(days=30)).isoformat(),
                    }
                ],
            )

    async def _write(
        self,
        http: httpx.AsyncClient,
        current: Round,
        kind: str,
        caller: Caller,
        marker: str | None,
        input: dict[str, Any],
    ) -> dict[str, Any]:
        write = Write(kind, current.id, marker, time.monotonic(), datetime.now(UTC))
        self.writes.append(write)
        body = {"query": MUTATIONS[kind], "variables": {"input": input}}
        headers = {"authorization": f"Bearer {self.token(caller)}"}
        patience = time.monotonic() + LAGGING_PATIENCE_SECONDS
        while True:
            try:
                response = await http.post(self.url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                return self._failed(write, f"connection ({type(exc).__name__})")
            if response.status_code != 200:
                return self._failed(write, f"HTTP {response.status_code}")
            try:
                answer = response.json()
            except ValueError:
                return self._failed(write, "HTTP 200 without JSON")
            if answer.get("errors"):
                errors = {
                    str(e.get("extensions", {}).get("code", "NO_CODE")) for e in answer["errors"]
                }
                return self._failed(write, "+".join(sorted(errors)))
            payload = (answer.get("data") or {}).get(kind) or {}
            codes = {e["code"] for e in payload.get("userErrors", [])}
            if codes and codes <= LAGGING and time.monotonic() < patience:
                write.lagging_retries += 1
                await asyncio.sleep(0.2)
                continue
            found = payload.get(OBJECT_FIELD[kind])
            if codes or not found:
                return self._failed(write, f"userErrors {sorted(codes)}")
            write.ended, write.acked, write.object_id = time.monotonic(), True, found["id"]
            return dict(found)

    @staticmethod
    def _failed(write: Write, failure: str) -> dict[str, Any]:
        write.ended, write.failure = time.monotonic(), failure
        raise _Abandon

    # -- what the fault runner reads

    def first_ack_after(self, moment: float) -> float | None:
        """When the first write sent after ``moment`` was acknowledged."""
        times = [w.ended for w in list(self.writes) if w.acked and w.started >= moment]
        return min(times, default=None)

    def acked_count(self) -> int:
        return sum(1 for w in self.writes if w.acked)

    def failures(self) -> Counter[str]:
        return Counter(w.failure for w in self.writes if w.failure)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def eventually(
    check: Callable[[], Awaitable[bool]], seconds: float, what: str, every: float = 0.2
) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"{what}: not reached within {seconds:g} s"
        await asyncio.sleep(every)
