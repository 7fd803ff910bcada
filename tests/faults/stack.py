"""The system under fault: embedded PostgreSQL and Redis this suite owns (so it can stop and
start them), every process of the stack as ``./liaison run`` starts it, and fake chat-robot
and SMTP servers that record every message notify sends.

Ports: the gateway on 4300 and the subgraphs on 4301-4304 (``./liaison run`` uses 4000-4004,
the e2e suite 4100-4104); no metrics listener (``LIAISON_METRICS_PORT`` 0); the embedded
servers, the chat robot and the SMTP server on ports the kernel hands out.
"""

from __future__ import annotations

import contextlib
import email
import json
import os
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from devstack.processes import ProcessGroup, ProcessSpec
from devstack.stack import gateway_url, start_stack
from shared.embedded import EmbeddedInfra
from shared.settings import Settings

FAULT_PORTS = {
    "gateway_port": 4300,
    "requests_port": 4301,
    "tasks_port": 4302,
    "issues_port": 4303,
    "notify_port": 4304,
}
MINUTES_DUE_SECONDS = 15.0
"""Minutes of a meeting are due this long after it ends (so that timer comes due in the run)."""
DELIVERY_LEASE_SECONDS = 8.0
"""A delivery whose lease its job stopped renewing this long ago has lost its worker (the
watchdog then decides)."""


def fault_settings(infra: EmbeddedInfra, smtp_port: int) -> Settings:
    """Settings of the stack under fault: its own servers, ports, names, and clocks short
    enough that timers come due while the suite runs."""
    settings = Settings(
        database_url=infra.database_url,
        redis_url=infra.redis_url,
        database_prefix="liaison_faults_",
        redis_prefix="liaisonfaults",
        data_dir=infra.data_dir,
        metrics_port=0,
        log_format="text",
        shutdown_grace_seconds=2.0,
        timer_sweep_seconds=1,
        consumer_block_ms=200,
        consumer_claim_idle_ms=1000,
        relay_poll_seconds=0.05,
        # Every issue's RESPONSE clock warns at 30 s and breaches at 60 s, around the clock.
        issues_sla_response_minutes=1,
        issues_sla_business_hours=False,
        issues_sla_warn_percents=[50],
        requests_minutes_due_hours=MINUTES_DUE_SECONDS / 3600,
        notify_allow_private_urls=True,  # the chat robot listens on 127.0.0.1
        notify_delivery_lease_seconds=DELIVERY_LEASE_SECONDS,
        notify_webhook_timeout_seconds=3.0,
        notify_retry_schedule=[1, 2, 4, 8, 16],
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        **FAULT_PORTS,  # type: ignore[arg-type]
    )
    for name, value in settings.model_dump().items():
        # A listener on a fixed port would collide with `./liaison run` or the e2e stack.
        if name.endswith("_port") and name not in FAULT_PORTS and name != "smtp_port":
            assert value == 0, f"{name}={value}: give the fault stack a port of its own"
    return settings


class ChatRobot:
    """A chat robot's incoming webhook (the generic ``WEBHOOK`` channel kind): every message
    posted to it, as received."""

    def __init__(self) -> None:
        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.messages: list[dict[str, Any]] = []
        self.first_arrival: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()

    def _receive(self, request: Request) -> Response:
        body = json.loads(request.get_data())
        with self._lock:
            self.messages.append(body)
            self.first_arrival.setdefault((body["eventId"], body["channel"]), datetime.now(UTC))
        return Response("ok", status=200)

    def url(self, tag: str) -> str:
        return self.server.url_for(f"/chat?channel={tag}")

    def received(self) -> Counter[tuple[str, str]]:
        """How many times each (event id, channel name) arrived."""
        with self._lock:
            return Counter((m["eventId"], m["channel"]) for m in self.messages)

    def repeat_last(self) -> None:
        """Receive the last message once more (for the suite's check of its checks)."""
        with self._lock:
            self.messages.append(dict(self.messages[-1]))

    def __enter__(self) -> ChatRobot:
        self.server.expect_request("/chat", method="POST").respond_with_handler(self._receive)
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.clear()
        self.server.stop()


class _MailHandler:
    def __init__(self, sink: MailServer) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        message_id = str(email.message_from_bytes(raw)["Message-ID"])
        with self.sink.lock:
            self.sink.message_ids.append(message_id)
            self.sink.first_arrival.setdefault(message_id, datetime.now(UTC))
        return "250 OK"


class MailServer:
    """An SMTP server (aiosmtpd, in its own thread) keeping each message's Message-ID."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.message_ids: list[str] = []
        self.first_arrival: dict[str, datetime] = {}
        self.lock = threading.Lock()
        self.controller = Controller(_MailHandler(self), hostname="127.0.0.1", port=self.port)

    def received(self) -> Counter[str]:
        with self.lock:
            return Counter(self.message_ids)

    def __enter__(self) -> MailServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class FaultStack:
    """Everything the fault suite starts, and the faults it can inflict on it."""

    infra: EmbeddedInfra
    settings: Settings
    group: ProcessGroup
    chat: ChatRobot
    mail: MailServer
    log_dir: Path
    killed: list[tuple[str, datetime]] = field(default_factory=list)
    """Each process killed, and when."""

    @property
    def gateway_url(self) -> str:
        return gateway_url(self.settings)

    def kill(self, name: str) -> ProcessSpec:
        """``kill -9`` the process's whole group (as an OOM kill or a node failure would) and
        wait until it is gone; returns its spec, to start it again."""
        spec, process = self.group.running[name]
        self.killed.append((name, datetime.now(UTC)))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        return spec

    def start_again(self, spec: ProcessSpec) -> None:
        """Start a killed process again with the same command, as Kubernetes would. If a
        supervisor of the group has already done so, it is left alone: never two of one."""
        current = self.group.running.get(spec.name)
        if current is not None and current[1].poll() is None:
            return
        self.group.running.pop(spec.name, None)
        self.group.start(spec)

    def exited_by_themselves(self) -> dict[str, int]:
        """Processes that are not running although nobody killed them: exit codes by name."""
        return {
            name: code
            for name, (_, process) in self.group.running.items()
            if (code := process.poll()) is not None
        }

    def log_tail(self, name: str, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            text = self.group.log_path(name).read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""


@contextlib.contextmanager
def running_stack(server_dir: Path, log_dir: Path) -> Iterator[FaultStack]:
    """The embedded servers in ``server_dir``, the fakes and the whole stack, stopped in the
    reverse order on exit."""
    with EmbeddedInfra(server_dir) as infra, ChatRobot() as chat, MailServer() as mail:
        settings = fault_settings(infra, mail.port)
        started = time.monotonic()
        group = start_stack(settings, log_dir)
        print(f"\nfault stack up in {time.monotonic() - started:.1f} s; logs in {log_dir}")
        try:
            yield FaultStack(infra, settings, group, chat, mail, log_dir)
        finally:
            group.stop()
