"""CI smoke test: the README's run command works on a fresh clone, and stops cleanly.

`.ci/run` runs this first, before anything has created `.venv` or `gateway/node_modules`. It
starts `./liaison run` as the README writes it, waits for the banner, asks the gateway for the
demo's Q4 launch with its tasks and issue, opens a subscription over WebSocket and sees it
deliver a notification, then presses Ctrl-C (SIGINT to the command's process group) and fails
if any process of the clone outlives the command. One line per phase says how long it took.

Standard library only, under the Python that runs `./liaison`: no virtualenv exists when it
starts. The command's output goes to a log file (timestamped), printed on failure.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import pwd
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

ROOT = Path(__file__).resolve().parent.parent
RUN_COMMAND = ["./liaison", "run"]
BANNER_SECONDS = 150.0
"""From start to banner, first-time installs included (the whole smoke must stay under 3 min)."""
STOP_SECONDS = 60.0
"""SIGINT to exit: the subgraphs' shutdown grace (20 s) plus 5 s, then the embedded servers."""
LEFTOVER_SECONDS = 30.0
PIP_NOISE = re.compile(r"WARNING: Location '.*' is ignored")
"""This machine's pip configuration prints hundreds of these; the failure log leaves them out."""

LAUNCH = """{ requests(first: 100) { edges { node {
  id code title status tasks { totalCount edges { node { id title } } }
  issues { totalCount edges { node { id title status } } } } } } }"""
CREATE_TASK = """mutation($input: CreateTaskInput!) {
  createTask(input: $input) { task { id } userErrors { code message } } }"""


class SmokeFailure(Exception):
    """A check failed; the message says which and why."""


class Clock:
    """Seconds since the smoke started, and one printed line per finished phase."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.wall_start = time.time()
        self.last = self.start

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def phase(self, name: str) -> None:
        now = time.monotonic()
        print(f"smoke: {name:<48} {now - self.last:6.1f} s  (at {now - self.start:6.1f} s)")
        sys.stdout.flush()
        self.last = now


# --------------------------------------------------------------------------- the run command


class RunCommand:
    """`./liaison run` in a session of its own; a thread copies its output into ``log``."""

    def __init__(self, clock: Clock, log: BinaryIO) -> None:
        self.clock = clock
        self.log = log
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.ended = False
        self.process = subprocess.Popen(
            RUN_COMMAND,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as in a terminal, for Ctrl-C
        )
        self.reader = threading.Thread(target=self._copy_output, daemon=True)
        self.reader.start()

    def _copy_output(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.log.write(f"[{self.clock.elapsed():6.1f}] ".encode() + raw)
            self.log.flush()
            self.lines.put(raw.decode(errors="replace").rstrip("\n"))
        self.lines.put(None)

    def next_line(self, timeout: float) -> str | None:
        """The next output line; None if none came within ``timeout`` or the output ended
        (then :attr:`ended` is set)."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        self.ended = line is None
        return line

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to the foreground process group, which is the command's."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def _changed_since(path: Path, wall_start: float) -> bool:
    try:
        return path.stat().st_mtime > wall_start
    except OSError:
        return False


def _answers(url: str) -> bool:
    try:
        with _OPENER.open(url, timeout=0.5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait_for_banner(run: RunCommand, clock: Clock) -> tuple[str, str]:
    """Follow the output until the banner; return the GraphQL URL and the token it prints.

    The install and start-up phases are timed from what the command prints and from the
    stamps it leaves; a phase whose stamp was already there (no fresh clone) is not shown.
    """
    data = ROOT / ".liaison-data"
    host = os.environ.get("LIAISON_HOST", "127.0.0.1")
    gateway_health = f"http://{host}:{os.environ.get('LIAISON_GATEWAY_PORT', '4000')}/healthcheck"
    started = clock.wall_start
    on_output = {
        "installing Python dependencies": "venv ready",
        "starting embedded PostgreSQL and Redis": "pip install",
        "starting subgraphs, workers, relay and gateway": "requests demo data loaded",
        "Liaison is running.": "gateway demo data loaded, banner printed",
    }
    stamps: dict[str, Callable[[], bool]] = {
        "embedded PostgreSQL started": lambda: _changed_since(data / "postgres.port", started),
        "embedded Redis started": lambda: _changed_since(data / "redis.port", started),
        "npm ci (gateway packages)": lambda: _changed_since(
            ROOT / "gateway" / "node_modules" / ".liaison-installed-lock", started
        ),
        "SDL printed, supergraph composed": lambda: _changed_since(
            ROOT / "gateway" / "supergraph.graphql", started
        ),
    }
    processes_starting = installing = False
    url = token = None
    token_next = False
    deadline = clock.start + BANNER_SECONDS
    while token is None:
        if time.monotonic() > deadline:
            raise SmokeFailure(f"no banner within {BANNER_SECONDS:.0f} s")
        line = run.next_line(0.2)
        if run.ended:
            raise SmokeFailure(f"{' '.join(RUN_COMMAND)} exited ({run.process.wait()}) early")
        for name, seen in list(stamps.items()):
            if seen():
                clock.phase(name)
                del stamps[name]
        if processes_starting and _answers(gateway_health):
            clock.phase("processes started and ready")
            processes_starting = False
        if line is None:
            continue
        for marker, name in on_output.items():
            if line.startswith(marker):
                installing = installing or marker.startswith("installing")
                nothing_installed = marker.startswith("starting embedded") and not installing
                clock.phase("no install needed, devstack started" if nothing_installed else name)
                processes_starting = marker.startswith("starting subgraphs")
        if match := re.search(r"GraphQL endpoint\s*:\s*(\S+)", line):
            url = match.group(1)
        elif token_next:
            token = line.strip()
        token_next = line.strip().startswith("Token (PMO")
    if url is None or not re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", token):
        raise SmokeFailure(f"banner without a GraphQL URL or a token (url={url!r})")
    return url, token


# --------------------------------------------------------------------------- GraphQL over HTTP

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""No proxy: the stack listens on loopback, whatever HTTP_PROXY the CI machine sets."""


def graphql(url: str, token: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    """POST one operation; its ``data``, or :class:`SmokeFailure` on any error."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with _OPENER.open(request, timeout=15) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        raise SmokeFailure(f"{url} answered HTTP {exc.code}: {exc.read()[:500]!r}") from exc
    except OSError as exc:
        raise SmokeFailure(f"{url} did not answer: {exc}") from exc
    if answer.get("errors"):
        raise SmokeFailure(f"GraphQL errors: {answer['errors']}")
    return answer["data"]


def check_launch(url: str, token: str) -> dict[str, Any]:
    """The Q4 launch request, with at least the three tasks and the issue the demo gives it."""
    edges = graphql(url, token, LAUNCH)["requests"]["edges"]
    launch = next((e["node"] for e in edges if e["node"]["title"].startswith("Q4")), None)
    if launch is None:
        raise SmokeFailure(
            f"no request titled 'Q4 ...' among {[e['node']['title'] for e in edges]}"
        )
    if launch["tasks"]["totalCount"] < 3 or launch["issues"]["totalCount"] < 1:
        raise SmokeFailure(f"the Q4 launch lacks the demo's 3 tasks and 1 issue: {launch}")
    return dict(launch)


def create_task(url: str, token: str, request_id: str, person_id: str, title: str) -> None:
    """A task with ``person_id`` as R and A, which tells that person (a notification)."""
    raci = [{"role": "R", "personId": person_id}, {"role": "A", "personId": person_id}]
    variables = {"input": {"requestId": request_id, "title": title, "raci": raci}}
    errors = graphql(url, token, CREATE_TASK, variables)["createTask"]["userErrors"]
    if errors:
        raise SmokeFailure(f"createTask refused: {errors}")


# --------------------------------------------------------------------------- WebSocket


class WebSocket:
    """Just enough RFC 6455 for one graphql-transport-ws conversation: the handshake, masked
    text frames out, text (and fragmented), ping and close frames in.

    Written on ``socket`` rather than using the ``websockets`` package of ``.venv``: the
    smoke then needs nothing that ``./liaison run`` installed (``websockets`` is a dev
    extra, which running need not install), runs in one interpreter with one timeline and
    one clean-up path, and the part of the protocol used here is small.
    """

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, url: str, protocol: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
        self.buffer = b""
        self.fragments = b""
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {protocol}\r\n\r\n".encode()
        )
        deadline = time.monotonic() + 10
        while b"\r\n\r\n" not in self.buffer:
            self._fill(len(self.buffer) + 1, deadline)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
        accept = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        if status.split()[1:2] != ["101"] or headers.get("sec-websocket-accept") != accept:
            raise SmokeFailure(f"WebSocket upgrade refused: {head.decode('latin-1')}")
        if headers.get("sec-websocket-protocol") != protocol:
            raise SmokeFailure(f"server did not agree to {protocol}: {head.decode('latin-1')}")

    def _fill(self, size: int, deadline: float) -> None:
        """Read until ``size`` bytes are buffered; TimeoutError at ``deadline``."""
        while len(self.buffer) < size:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SmokeFailure("the gateway closed the WebSocket connection")
            self.buffer += chunk

    def send(self, payload: bytes, opcode: int = 0x1) -> None:
        """One final frame, masked as a client must."""
        n = len(payload)
        if n < 126:
            size = bytes([0x80 | n])
        elif n < 1 << 16:
            size = bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            size = bytes([0x80 | 127]) + n.to_bytes(8, "big")
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x80 | opcode]) + size + mask + masked)

    def receive(self, deadline: float) -> str:
        """The next text message; answers pings. A timeout keeps partial data for later."""
        while True:
            self._fill(2, deadline)
            length, offset = self.buffer[1] & 0x7F, 2
            if length >= 126:
                offset += 2 if length == 126 else 8
                self._fill(offset, deadline)
                length = int.from_bytes(self.buffer[2:offset], "big")
            masked = self.buffer[1] & 0x80
            self._fill(offset + (4 if masked else 0) + length, deadline)
            mask = self.buffer[offset : offset + 4] if masked else b"\0\0\0\0"
            offset += 4 if masked else 0
            payload = bytes(
                b ^ mask[i % 4] for i, b in enumerate(self.buffer[offset : offset + length])
            )
            final, opcode = self.buffer[0] & 0x80, self.buffer[0] & 0x0F
            self.buffer = self.buffer[offset + length :]
            if opcode == 0x8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                raise SmokeFailure(f"the gateway closed the WebSocket: {code} {payload[2:]!r}")
            if opcode == 0x9:
                self.send(payload, 0xA)
            elif opcode in (0x0, 0x1):
                self.fragments += payload
                if final:
                    text, self.fragments = self.fragments.decode(), b""
                    return text

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.send((1000).to_bytes(2, "big"), 0x8)
        self.sock.close()


def _message(ws: WebSocket, seconds: float) -> dict[str, Any] | None:
    """The next graphql-transport-ws message other than ping/pong; None after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            message: dict[str, Any] = json.loads(ws.receive(deadline))
        except TimeoutError:
            return None
        if message.get("type") == "ping":
            ws.send(json.dumps({"type": "pong"}).encode())
        elif message.get("type") != "pong":
            return message


def _errors(message: dict[str, Any]) -> Any:
    """The GraphQL errors of a ``next`` message (validation errors come that way)."""
    payload = message.get("payload")
    return payload.get("errors") if isinstance(payload, dict) else None


def check_subscription(url: str, token: str, request_id: str, clock: Clock) -> None:
    """Subscribe to the token holder's notifications, then cause one and see it arrive."""
    ws = WebSocket(url.replace("http://", "ws://", 1), "graphql-transport-ws")
    try:
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        ws.send(json.dumps(init).encode())
        ack = _message(ws, 10)
        if ack is None or ack.get("type") != "connection_ack":
            raise SmokeFailure(f"connection_init answered with {ack} instead of connection_ack")
        query = "subscription { notifications { id title } }"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}).encode())
        early = _message(ws, 2)  # a refusal comes at once; a notification is welcome
        if early is not None and (early.get("type") != "next" or _errors(early)):
            raise SmokeFailure(f"the subscription was refused: {early}")
        clock.phase("subscription accepted (connection_ack, no error)")
        title = f"CI smoke {int(time.time())}"
        create_task(url, token, request_id, _token_subject(token), title)
        deadline = time.monotonic() + 20
        while True:
            message = _message(ws, max(0.0, deadline - time.monotonic()))
            if message is None:
                raise SmokeFailure(f"no notification of the task {title!r} within 20 s")
            if message.get("type") != "next" or _errors(message):
                raise SmokeFailure(f"the subscription failed: {message}")
            if title in message["payload"]["data"]["notifications"]["title"]:
                break
        clock.phase("subscription delivered the new task's notification")
        ws.send(json.dumps({"id": "1", "type": "complete"}).encode())
    finally:
        ws.close()


def _token_subject(token: str) -> str:
    """The ``sub`` claim of a JWT (read, not verified: the gateway verifies it)."""
    claims = token.split(".")[1]
    subject: str = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["sub"]
    return subject


# --------------------------------------------------------------------------- processes


def _stat(pid: int) -> tuple[str, int, str]:
    """State letter, parent pid and start time (clock ticks) of a process."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    return fields[0].decode(), int(fields[1]), fields[19].decode()


def _read_link(path: str) -> str:
    with contextlib.suppress(OSError):
        return os.readlink(path)
    return ""


def clone_processes() -> dict[tuple[int, str], str]:
    """Live processes whose executable, command line or working directory lies under the
    clone (the embedded PostgreSQL runs as ``pgserver`` from ``.venv``; redis-server's
    directory is ``.liaison-data/redis``), keyed by pid and start time, with a description.
    """
    root = str(ROOT)
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            state, _, started = _stat(pid)
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                argv = [a.decode(errors="replace") for a in file.read().split(b"\0") if a]
            uid = os.stat(f"/proc/{pid}").st_uid
        except (OSError, IndexError):
            continue  # gone meanwhile, or not ours to read
        exe, cwd = _read_link(f"/proc/{pid}/exe"), _read_link(f"/proc/{pid}/cwd")
        if state == "Z":
            continue  # exited; only its parent's wait is missing
        if any(p == root or p.startswith(root + "/") for p in (exe, cwd, *argv)):
            found[pid, started] = f"pid {pid} ({_user(uid)}, cwd {cwd}): {' '.join(argv)[:300]}"
    return found


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _ancestors() -> set[int]:
    """This process and its ancestors (the CI shell may well sit in the clone)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            pid = _stat(pid)[1]
        except OSError:
            break
    return pids


def stop(run: RunCommand, clock: Clock, before: set[tuple[int, str]]) -> None:
    """Ctrl-C the command, wait for it, then wait for every process it left in the clone.

    Processes that were there before the smoke started, and the smoke's own ancestors, are
    not counted. Whatever still lives after :data:`LEFTOVER_SECONDS` is listed, killed, and
    fails the smoke.
    """
    failure = None
    if run.process.poll() is None:
        clock.phase("SIGINT (Ctrl-C) sent to the run command")
        run.interrupt()
        try:
            code = run.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            run.kill()
            code = run.process.wait()
            failure = f"{' '.join(RUN_COMMAND)} did not exit within {STOP_SECONDS:.0f} s of SIGINT"
        if code != 0 and failure is None:
            failure = f"{' '.join(RUN_COMMAND)} exited with {code} after SIGINT"
        clock.phase(f"run command exited ({code})")
    run.reader.join(5)
    mine = _ancestors()
    deadline = time.monotonic() + LEFTOVER_SECONDS
    while True:
        left = {k: v for k, v in clone_processes().items() if k not in before and k[0] not in mine}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if left:
        print(f"smoke: still alive {LEFTOVER_SECONDS:.0f} s after the run command exited:")
        for (pid, _), description in sorted(left.items()):
            print(f"  {description}")
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        failure = failure or f"{len(left)} process(es) of the clone outlived the run command"
    clock.phase("no process of the clone left" if not left else "leftover processes killed")
    if failure:
        raise SmokeFailure(failure)


# --------------------------------------------------------------------------- main


def print_logs(log_path: Path) -> None:
    """The command's output (without pip's location warnings), then each process log's tail."""
    print(f"---- output of {' '.join(RUN_COMMAND)} ({log_path})")
    noise = 0
    for line in log_path.read_text(errors="replace").splitlines():
        if PIP_NOISE.search(line):
            noise += 1
        else:
            print(line)
    if noise:
        print(f"[{noise} pip 'WARNING: Location ... is ignored' lines left out]")
    for process_log in sorted((ROOT / ".liaison-data" / "logs").glob("*.log")):
        lines = process_log.read_text(errors="replace").splitlines()[-15:]
        print(f"---- last lines of {process_log}", *lines, sep="\n")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (a cancelled CI job) unwinds like Ctrl-C, so the stack is still stopped."""
    raise KeyboardInterrupt


def exercise(run: RunCommand, clock: Clock, before: set[tuple[int, str]]) -> None:
    """Banner, then the demo's data over HTTP, then a subscription over WebSocket."""
    url, token = wait_for_banner(run, clock)
    launch = check_launch(url, token)
    tasks, issues = launch["tasks"]["totalCount"], launch["issues"]["totalCount"]
    clock.phase(f"Q4 launch: {tasks} tasks, {issues} issue(s)")
    check_subscription(url, token, launch["id"], clock)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SmokeFailure):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{type(exc).__name__}: {exc}"


def main() -> int:
    command = " ".join(RUN_COMMAND)
    if not re.search(rf"^{re.escape(command)}\s", (ROOT / "README.md").read_text(), re.M):
        print(f"smoke: FAILED: README.md no longer shows `{command}`")
        return 1
    clock = Clock()
    fd, name = tempfile.mkstemp(prefix="liaison-smoke-", suffix=".log")
    log_path = Path(name)
    print(f"smoke: {command} in {ROOT}, output in {log_path}", flush=True)
    before = set(clone_processes())
    failures: list[str] = []
    signal.signal(signal.SIGTERM, _interrupt)
    with os.fdopen(fd, "wb") as log:
        run = RunCommand(clock, log)
        try:
            for step in (exercise, stop):  # stop also after a failure: nothing may outlive us
                try:
                    step(run, clock, before)
                except (Exception, KeyboardInterrupt) as exc:
                    failures.append(_reason(exc))
        finally:
            if run.process.poll() is None:
                run.kill()
    if failures:
        print(f"smoke: FAILED after {clock.elapsed():.1f} s: {'; '.join(failures)}")
        print_logs(log_path)
        return 1
    print(f"smoke: passed in {clock.elapsed():.1f} s")
    log_path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
