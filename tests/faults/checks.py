"""What must hold after the faults, read from the services' own databases and from what the
fake chat robot and SMTP server received.

Each check returns :class:`Finding` s: something *lost* (an acknowledged write not stored,
an event one consumer never handled, a due timer that never fired, a message never sent)
or *duplicated* (stored, handled, fired or sent twice). A finding carries the moment of the
thing it is about, so the table can put it under the fault during which it happened.

Things younger than :data:`SLACK` are not judged yet (an event committed a moment ago is
still on its way); :func:`settle` polls the checks until nothing is lost and every outbox
and consumer group is drained, or its deadline passes. Duplicates never go away by waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg
from redis.asyncio import Redis

from services import SERVICE_NAMES
from shared.redis_keys import RedisKeys
from tests.faults.load import Load, Round, Write
from tests.faults.stack import FaultStack

SLACK = timedelta(seconds=3)
DELIVERY_SLACK = timedelta(seconds=25)
"""A delivery whose job Redis lost is put right by its watchdog, a lease after its due time."""

Kind = Literal["lost", "duplicated", "cut off"]
"""*cut off*: a chat message or e-mail whose sending worker was killed in the middle of the
attempt and that never arrived. notify sends those at most once by design
(``services/notify/delivery/jobs.py``: a chat robot or mail server cannot drop a duplicate,
so an attempt with an unknown outcome is not repeated; the delivery is left FAILED for
``retryDelivery``). The suite reports them apart and does not fail on them: a product
decision (resend e-mail, whose Message-ID lets clients merge copies?) is pending."""


@dataclass(frozen=True)
class Finding:
    kind: Kind
    check: str
    at: datetime
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} [{self.check}] at {self.at:%H:%M:%S.%f}: {self.detail}"


def _count(
    findings: list[Finding], check: str, at: datetime, found: int, detail: str, expected: int = 1
) -> None:
    """Note a finding when ``found`` is not ``expected`` (fewer: lost; more: duplicated)."""
    if found < expected:
        findings.append(Finding("lost", check, at, f"{detail}: found {found}"))
    elif found > expected:
        findings.append(Finding("duplicated", check, at, f"{detail}: found {found}"))


def _consumer_handlers() -> dict[str, set[str]]:
    """The event types each consuming service handles (what its inbox must hold)."""
    from services.issues.worker import EVENT_HANDLERS as ISSUES
    from services.notify.handlers import EVENT_HANDLERS as NOTIFY
    from services.tasks.worker import EVENT_HANDLERS as TASKS

    return {"tasks": set(TASKS), "issues": set(ISSUES), "notify": set(NOTIFY)}


@dataclass
class Databases:
    connections: dict[str, asyncpg.Connection]

    @classmethod
    async def open(cls, stack: FaultStack) -> Databases:
        settings = stack.settings
        return cls(
            {
                service: await asyncpg.connect(settings.service_database_url(service))
                for service in SERVICE_NAMES
            }
        )

    async def close(self) -> None:
        for conn in self.connections.values():
            await conn.close()

    async def fetch(self, service: str, query: str, *args: Any) -> list[asyncpg.Record]:
        return list(await self.connections[service].fetch(query, *args))


# --------------------------------------------------------------------------- writes

_TITLES = {
    "createRequest": ("requests", "SELECT title AS marker FROM collab_requests"),
    "createTask": ("tasks", "SELECT title AS marker FROM tasks"),
    "reportIssue": ("issues", "SELECT title AS marker FROM issues"),
    "scheduleMeeting": ("requests", "SELECT title AS marker FROM meetings"),
    "publishMinutes": ("requests", "SELECT title AS marker FROM action_items"),
    "registerChannel": ("notify", "SELECT url AS marker FROM channels"),
}
_MOVES = {
    "submitRequest": "SUBMITTED",
    "decideRequest": "APPROVED",
    "activateRequest": "ACTIVATED",
}


async def check_writes(
    dbs: Databases, writes: Iterable[Write], rounds: Iterable[Round], seen: Counter[str]
) -> list[Finding]:
    """Every acknowledged write is stored exactly once; one whose answer was lost at most
    once."""
    stored: dict[str, Counter[str]] = {}
    for kind, (service, query) in _TITLES.items():
        stored[kind] = Counter(r["marker"] for r in await dbs.fetch(service, query))
    moves = Counter(
        (r["request_id"], r["action"])
        for r in await dbs.fetch("requests", "SELECT request_id, action FROM request_history")
    )
    request_of = {r.id: r.request_id for r in rounds}
    findings: list[Finding] = []
    for write in writes:
        if write.kind in _TITLES:
            found = stored[write.kind][write.marker or ""]
            what = f"{write.kind} {write.marker!r}"
        else:
            found = moves[(request_of.get(write.round_id), _MOVES[write.kind])]
            what = f"{write.kind} of {request_of.get(write.round_id)}"
        seen["writes"] += 1
        if write.acked:
            _count(findings, "acknowledged write stored once", write.started_at, found, what)
        elif found:
            seen["unanswered writes that were stored"] += 1
        if not write.acked and found > 1:
            _count(findings, "unanswered write stored at most once", write.started_at, found, what)
    return findings


# --------------------------------------------------------------------------- events


async def check_events(dbs: Databases, cutoff: datetime, seen: Counter[str]) -> list[Finding]:
    """Every event reached every service that handles its type (the inbox row is written in
    the transaction of the effects), and each request's copy in each service is current."""
    findings: list[Finding] = []
    events: list[asyncpg.Record] = []
    for service in SERVICE_NAMES:
        events += await dbs.fetch(
            service, "SELECT event_id, event_type, created_at, sent_at FROM outbox"
        )
    for consumer, types in _consumer_handlers().items():
        inbox = {r["event_id"] for r in await dbs.fetch(consumer, "SELECT event_id FROM inbox")}
        seen[f"events for {consumer}"] += sum(e["event_type"] in types for e in events)
        for event in events:
            if (
                event["event_type"] in types
                and event["created_at"] < cutoff
                and event["event_id"] not in inbox
            ):
                sent = "published" if event["sent_at"] else "never published"
                findings.append(
                    Finding(
                        "lost",
                        f"event handled by {consumer}",
                        event["created_at"],
                        f"{event['event_type']} {event['event_id']} ({sent})",
                    )
                )
    requests = await dbs.fetch(
        "requests", "SELECT id, status, phase, updated_at FROM collab_requests"
    )
    for consumer in ("tasks", "issues", "notify"):
        copies = {
            r["id"]: (r["status"], r["phase"])
            for r in await dbs.fetch(consumer, "SELECT id, status, phase FROM request_replicas")
        }
        for request in requests:
            if request["updated_at"] >= cutoff:
                continue
            seen["request copies"] += 1
            copy = copies.get(request["id"])
            if copy != (request["status"], request["phase"]):
                findings.append(
                    Finding(
                        "lost",
                        f"request copy in {consumer}",
                        request["updated_at"],
                        f"{request['id']} is {request['status']}/{request['phase']},"
                        f" the copy {copy}",
                    )
                )
    return findings


async def check_effects(
    dbs: Databases, writes: Iterable[Write], cutoff: datetime, seen: Counter[str]
) -> list[Finding]:
    """Each event's effects once: one notification per person and thing (whatever the event
    ids), the expected people told of each task and issue, one task per action item."""
    findings: list[Finding] = []
    for row in await dbs.fetch(
        "notify",
        "SELECT recipient_id, type, title, link, count(*) AS n, min(created_at) AS at"
        " FROM notifications GROUP BY recipient_id, type, title, body, link"
        " HAVING count(*) > 1",
    ):
        findings.append(
            Finding(
                "duplicated",
                "notification once",
                row["at"],
                f"{row['recipient_id']} told {row['n']} times: {row['type']} {row['title']!r}",
            )
        )
    told = Counter(
        (r["recipient_id"], r["type"], r["link"])
        for r in await dbs.fetch("notify", "SELECT recipient_id, type, link FROM notifications")
    )
    for write in writes:
        if not write.acked or write.started_at >= cutoff:
            continue
        expected: list[tuple[str, str, str]] = []
        if write.kind == "createTask":
            link = f"/tasks/{write.object_id}"
            expected = [("wang", "tasks.task.created", link), ("sun", "tasks.task.created", link)]
        elif write.kind == "reportIssue":
            expected = [("li", "issues.issue.reported", f"/issues/{write.object_id}")]
        seen["people told"] += len(expected)
        for key in expected:
            _count(findings, "person told once", write.started_at, told[key], " ".join(key))
    tasks_of_items = Counter(
        r["source_ref"]
        for r in await dbs.fetch(
            "tasks", "SELECT source_ref FROM tasks WHERE source = 'ACTION_ITEM'"
        )
    )
    for item in await dbs.fetch(
        "requests",
        "SELECT a.id, a.title, m.published_at FROM action_items a"
        " JOIN meeting_minutes m USING (meeting_id)",
    ):
        if item["published_at"] < cutoff:
            seen["action items"] += 1
            _count(
                findings,
                "action item became one task",
                item["published_at"],
                tasks_of_items[item["id"]],
                f"action item {item['id']} {item['title']!r}",
            )
    return findings


# --------------------------------------------------------------------------- timers


async def check_timers(dbs: Databases, cutoff: datetime, seen: Counter[str]) -> list[Finding]:
    """Every timer that came due fired, and its effect happened once."""
    findings: list[Finding] = []
    for service in SERVICE_NAMES:
        fired = await dbs.fetch(
            service, "SELECT count(*) AS n FROM timers WHERE fired_at IS NOT NULL"
        )
        seen["timers fired"] += int(fired[0]["n"])
        for timer in await dbs.fetch(
            service,
            "SELECT kind, subject, due_at FROM timers WHERE fired_at IS NULL AND due_at < $1",
            cutoff,
        ):
            findings.append(
                Finding(
                    "lost",
                    f"due timer fired ({service})",
                    timer["due_at"],
                    f"{timer['kind']} {timer['subject']} due {timer['due_at']:%H:%M:%S}",
                )
            )
    findings += await _sla_timers(dbs, cutoff, seen)
    findings += await _minutes_timers(dbs, cutoff, seen)
    return findings


def _events_by(rows: Iterable[asyncpg.Record]) -> Counter[tuple[str, ...]]:
    return Counter(tuple(str(v) for v in row.values()) for row in rows)


async def _sla_timers(dbs: Databases, cutoff: datetime, seen: Counter[str]) -> list[Finding]:
    findings: list[Finding] = []
    warned = _events_by(
        await dbs.fetch(
            "issues",
            "SELECT envelope->'data'->>'issue_id', envelope->'data'->>'metric',"
            " envelope->'data'->>'percent' FROM outbox"
            " WHERE event_type = 'issues.issue.sla_warning'",
        )
    )
    breached = _events_by(
        await dbs.fetch(
            "issues",
            "SELECT envelope->'data'->>'issue_id', envelope->'data'->>'metric' FROM outbox"
            " WHERE event_type = 'issues.issue.sla_breached'",
        )
    )
    escalated = _events_by(
        await dbs.fetch(
            "issues",
            "SELECT envelope->'data'->>'issue_id', envelope->'data'->>'level',"
            " envelope->'data'->>'reason' FROM outbox WHERE event_type = 'issues.issue.escalated'",
        )
    )
    seen["escalations"] += len(escalated)
    for key, n in escalated.items():
        if n > 1:
            findings.append(
                Finding("duplicated", "escalation once", datetime.now(UTC), f"{key}: {n} events")
            )
    clocks = await dbs.fetch(
        "issues",
        "SELECT id, issue_id, metric, state, started_at, due_at, target_minutes, met_at,"
        " paused_minutes, breached_at FROM sla_clocks",
    )
    recorded = {
        (r["clock_id"], r["percent"])
        for r in await dbs.fetch("issues", "SELECT clock_id, percent FROM sla_warnings")
    }
    for clock in clocks:
        issue, metric = clock["issue_id"], clock["metric"]
        open_clock = clock["met_at"] is None and clock["paused_minutes"] == 0
        warn_at = clock["started_at"] + timedelta(minutes=clock["target_minutes"] * 0.5)
        if open_clock and warn_at < cutoff:
            seen["SLA warnings"] += 1
            about = f"{metric} clock of {issue}"
            found = 1 if (clock["id"], 50) in recorded else 0
            _count(findings, "SLA warning timer fired", warn_at, found, f"50% of the {about}")
            _count(
                findings,
                "SLA warning announced once",
                warn_at,
                warned[(issue, metric, "50")],
                f"50% of the {about}",
            )
        if open_clock and clock["due_at"] < cutoff:
            seen["SLA breaches"] += 1
            about = f"{metric} clock of {issue} due {clock['due_at']:%H:%M:%S}"
            state_ok = 1 if clock["state"] == "BREACHED" else 0
            _count(findings, "SLA breach timer fired", clock["due_at"], state_ok, about)
            if clock["breached_at"] is not None and clock["breached_at"] < cutoff:
                _count(
                    findings,
                    "SLA breach announced once",
                    clock["due_at"],
                    breached[(issue, metric)],
                    about,
                )
    return findings


async def _minutes_timers(dbs: Databases, cutoff: datetime, seen: Counter[str]) -> list[Finding]:
    findings: list[Finding] = []
    overdue = Counter(
        r["subject"]
        for r in await dbs.fetch(
            "requests",
            "SELECT envelope->>'subject' AS subject FROM outbox"
            " WHERE event_type = 'requests.minutes.overdue'",
        )
    )
    for meeting in await dbs.fetch(
        "requests",
        "SELECT m.id, m.title, m.minutes_due_at, n.published_at FROM meetings m"
        " LEFT JOIN meeting_minutes n ON n.meeting_id = m.id",
    ):
        due = meeting["minutes_due_at"]
        if due >= cutoff:
            continue
        published = meeting["published_at"]
        seen["minutes deadlines"] += 1
        late = published is None or published > due
        _count(
            findings,
            "minutes-due timer fired once" if late else "no overdue after the minutes",
            due,
            overdue[meeting["id"]],
            f"minutes of {meeting['title']!r} due {due:%H:%M:%S}",
            expected=1 if late else 0,
        )
    return findings


# --------------------------------------------------------------------------- deliveries


async def check_deliveries(
    dbs: Databases,
    stack: FaultStack,
    now: datetime,
    seen: Counter[str],
    delays: list[tuple[datetime, float]],
) -> list[Finding]:
    """No chat or e-mail message arrived twice; every delivery was sent, once. ``delays``
    gets each message's time from its delivery's creation to its arrival."""
    findings: list[Finding] = []
    chats = stack.chat.received()
    mails = stack.mail.received()
    channels = {
        r["id"]: r["name"] for r in await dbs.fetch("notify", "SELECT id, name FROM channels")
    }
    kills = [at for name, at in stack.killed if name == "notify-worker"]
    cut_off: dict[str, datetime] = {}  # delivery: the kill that cut its attempt off
    for attempt in await dbs.fetch(
        "notify",
        "SELECT delivery_id, started_at, finished_at FROM delivery_attempts"
        " WHERE outcome = 'UNKNOWN'",
    ):
        for at in kills:
            if attempt["started_at"] <= at <= attempt["finished_at"]:
                cut_off[attempt["delivery_id"]] = at
    deliveries = await dbs.fetch(
        "notify",
        "SELECT id, event_id, event_type, target_kind, target_id, status, next_attempt_at,"
        " lease_expires_at, created_at, payload->>'message_id' AS message_id FROM deliveries",
    )
    first_seen: dict[object, datetime] = {}
    for delivery in deliveries:
        arrival: datetime | None
        if delivery["target_kind"] == "CHANNEL":
            chat_key = (delivery["event_id"], channels.get(delivery["target_id"], "?"))
            key: object = chat_key
            arrived, arrival = chats[chat_key], stack.chat.first_arrival.get(chat_key)
        elif delivery["target_kind"] == "EMAIL":
            key = delivery["message_id"]
            arrived = mails[delivery["message_id"]]
            arrival = stack.mail.first_arrival.get(delivery["message_id"])
        else:
            continue
        if arrival is not None:
            delays.append(
                (delivery["created_at"], (arrival - delivery["created_at"]).total_seconds())
            )
        first_seen.setdefault(key, delivery["created_at"])
        what = (
            f"{delivery['target_kind']} delivery {delivery['id']} of {delivery['event_type']}"
            f" ({delivery['status']})"
        )
        settled = delivery["next_attempt_at"] is None and delivery["lease_expires_at"] is None
        if not settled or delivery["status"] == "PENDING":
            if delivery["created_at"] < now - DELIVERY_SLACK:
                findings.append(
                    Finding("lost", "delivery settled", delivery["created_at"], f"{what} unsent")
                )
            continue
        seen[f"{delivery['target_kind'].lower()} deliveries"] += 1
        if delivery["id"] in cut_off:
            seen["deliveries cut off by a kill (outcome unknown, not resent)"] += 1
        if delivery["id"] in cut_off and arrived == 0:
            findings.append(
                Finding("cut off", "message sent once", cut_off[delivery["id"]], f"{what} unsent")
            )
            continue
        # SUCCEEDED: it arrived once. FAILED with nothing planned: the worker died while
        # sending, the outcome is unknown and it is never sent again (no duplicates); if it
        # did not arrive, it is lost until someone calls retryDelivery. EXHAUSTED: lost.
        _count(findings, "message sent once", delivery["created_at"], arrived, what)
    for key, n in [*chats.items(), *mails.items()]:
        if n > 1 and key not in first_seen:
            findings.append(
                Finding("duplicated", "message sent once", now, f"{key} arrived {n} times")
            )
    return findings


# --------------------------------------------------------------------------- settling

DEADLINE_TIMERS = {"issues": ("sla.clock", "sla.warning"), "requests": ("requests.minutes_due",)}
"""Timers the load arms (SLA warnings and breaches, minutes due); those due within minutes of
being armed come due in the run (a PLAN clock's, a day later, does not)."""


async def last_deadline_armed_before(stack: FaultStack, moment: datetime) -> datetime | None:
    """The latest due time among the load's deadline timers armed before ``moment`` (so the
    suite can wait for them: their queued jobs were lost with a Redis flush after it)."""
    dbs = await Databases.open(stack)
    try:
        latest: list[datetime] = []
        for service, kinds in DEADLINE_TIMERS.items():
            rows = await dbs.fetch(
                service,
                "SELECT max(due_at) AS due FROM timers WHERE created_at < $1 AND kind = ANY($2)"
                " AND due_at < created_at + interval '10 minutes'",
                moment,
                list(kinds),
            )
            latest += [r["due"] for r in rows if r["due"] is not None]
        return max(latest, default=None)
    finally:
        await dbs.close()


@dataclass
class Drain:
    """What is still on its way: outbox rows not yet published, consumer groups behind or
    with entries not acknowledged."""

    unsent: dict[str, int]
    groups: dict[str, dict[str, object]]

    @property
    def done(self) -> bool:
        return not any(self.unsent.values()) and all(
            g.get("pending") == 0 and g.get("caught_up") for g in self.groups.values()
        )

    def __str__(self) -> str:
        return f"unsent outbox rows {self.unsent}; consumer groups {self.groups}"


async def drain_state(dbs: Databases, stack: FaultStack) -> Drain:
    unsent = {
        service: int(
            (await dbs.fetch(service, "SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL"))[0][
                "n"
            ]
        )
        for service in SERVICE_NAMES
    }
    keys = RedisKeys(stack.settings)
    assert stack.settings.redis_url
    redis = Redis.from_url(stack.settings.redis_url, decode_responses=True)
    groups: dict[str, dict[str, object]] = {}
    try:
        stream: Mapping[str, Any] = await redis.xinfo_stream(keys.event_stream)
        last = stream["last-generated-id"]
        for group in await redis.xinfo_groups(keys.event_stream):
            groups[group["name"]] = {
                "pending": group["pending"],
                "caught_up": group["last-delivered-id"] == last,
            }
        for consumer in ("tasks", "issues", "notify"):
            groups.setdefault(keys.consumer_group(consumer), {"missing": True})
    except Exception as exc:  # no stream yet, or Redis itself unwell: not drained
        groups["?"] = {"error": repr(exc)}
    finally:
        await redis.aclose()
    return Drain(unsent, groups)


@dataclass
class Verdict:
    findings: list[Finding]
    drain: Drain
    waited: float
    seen: Counter[str]
    """What the checks looked at (so a pass is not an empty one)."""
    delays: list[tuple[datetime, float]]
    """Each message's delivery creation time and how long it took to arrive."""

    @property
    def lost(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "lost"]

    @property
    def duplicated(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "duplicated"]

    @property
    def failing(self) -> list[Finding]:
        """Lost or duplicated: what fails the suite."""
        return [f for f in self.findings if f.kind != "cut off"]


async def collect(
    dbs: Databases,
    stack: FaultStack,
    load: Load,
    seen: Counter[str],
    delays: list[tuple[datetime, float]] | None = None,
) -> list[Finding]:
    """Every check once; ``seen`` counts what they looked at."""
    now = datetime.now(UTC)
    cutoff = now - SLACK
    writes, rounds = list(load.writes), list(load.rounds)
    return [
        *await check_writes(dbs, writes, rounds, seen),
        *await check_events(dbs, cutoff, seen),
        *await check_effects(dbs, writes, cutoff, seen),
        *await check_timers(dbs, cutoff, seen),
        *await check_deliveries(dbs, stack, now, seen, [] if delays is None else delays),
    ]


async def settle(stack: FaultStack, load: Load, seconds: float) -> Verdict:
    """Poll the checks until nothing is lost and everything is drained, or ``seconds``
    pass; the verdict of the last pass."""
    started = time.monotonic()
    dbs = await Databases.open(stack)
    try:
        while True:
            seen: Counter[str] = Counter()
            delays: list[tuple[datetime, float]] = []
            findings = await collect(dbs, stack, load, seen, delays)
            drain = await drain_state(dbs, stack)
            lost = any(f.kind == "lost" for f in findings)
            if (drain.done and not lost) or time.monotonic() - started > seconds:
                return Verdict(findings, drain, time.monotonic() - started, seen, delays)
            await asyncio.sleep(0.5)
    finally:
        await dbs.close()
