"""End-to-end deployment tests: real servers and workers, driven over HTTP or a
real broker, with the server connections they open counted in PROCESSLIST.

Each test starts its processes (gunicorn, uvicorn, a Celery worker, a script
under gevent or eventlet) on free ports, in a session of their own, and stops
them by process group with bounded waits. The project they run is
``tests/deploy/project`` (settings from DEPLOY_* variables). It uses the
suite's server (``MYSQLPOOL_TEST_URL`` or a throwaway mariadbd, see
tests/server.py), a database and a user of this run's own: the user's rows in
PROCESSLIST are the connections the processes under test hold.

The tests that drive HTTP servers need wrk, the Celery tests Redis on
127.0.0.1:6379 (.ci/run installs both, and starts Redis when none answers);
without them those tests are skipped saying so, or fail under
MYSQLPOOL_TEST_REQUIRE_ALL (see tests/support/requirements.py).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import wait_for
from tests.support.admin import admin_queries
from tests.support.requirements import WRK, missing, require_binaries
from tests.users import RUN

REPOSITORY = Path(__file__).resolve().parents[2]
PROJECT = Path(__file__).resolve().parent / "project"
REDIS = ("127.0.0.1", 6379)
#: Each deployed process's pool: pool_size=10, max_overflow=0.
POOL_SIZE, MAX_OVERFLOW = 10, 0


# ----- figures ---------------------------------------------------------------------

FIGURES: list[str] = []


def record(figure: str) -> None:
    """A measured figure, printed at the end of the run."""
    FIGURES.append(figure)


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES:
        terminalreporter.section("mysqlpool deployment figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


# ----- helpers ----------------------------------------------------------------------


def get(url: str, timeout: float = 30) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get_json(url: str) -> dict:
    status, body = get(url)
    assert status == 200, body[-2000:]
    return json.loads(body)


@dataclass
class Database:
    """This run's database and user for the deployed processes."""

    name: str
    user: str
    password: str
    host: str
    port: int
    extra_users: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            "DEPLOY_DB_NAME": self.name, "DEPLOY_DB_USER": self.user,
            "DEPLOY_DB_PASSWORD": self.password, "DEPLOY_DB_HOST": self.host,
            "DEPLOY_DB_PORT": str(self.port),
        }

    def __post_init__(self) -> None:
        self.admin = admin_queries(settings.SERVER, per_query=True)

    def query(self, sql: str, params=None) -> list[tuple]:
        """As the server's admin, on a connection of its own."""
        return self.admin.query(sql, params)

    def connection_ids(self, user: str | None = None) -> set[int]:
        """The deployed processes' server connections now (``user``'s: the
        database user, by default, or one of :meth:`add_user`)."""
        return self.admin.connection_ids(user or self.user)

    def add_user(self, tag: str) -> str:
        """Another user with the same password and rights, so that the
        connections of processes running side by side are counted apart."""
        user = f"{self.user[:24]}_{tag}"
        self.query(f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{self.password}'")
        self.query(f"GRANT ALL PRIVILEGES ON `{self.name}`.* TO '{user}'@'%'")
        self.extra_users.append(user)
        return user


@pytest.fixture(scope="session")
def database(django_db_blocker) -> Iterator[Database]:
    server = settings.SERVER
    name = f"mysqlpool_deploy_{os.getpid()}"
    user = f"mysqlpool_deploy_{RUN[:8]}"
    password = f"deploy-{secrets.token_hex(12)}"
    db = Database(name, user, password, server.host, server.port)
    with django_db_blocker.unblock():
        db.query(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        db.query(f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{password}'")
        db.query(f"ALTER USER '{user}'@'%' IDENTIFIED BY '{password}'")
        db.query(f"GRANT ALL PRIVILEGES ON `{name}`.* TO '{user}'@'%'")
        migrate = subprocess.run(
            [sys.executable, str(PROJECT / "manage.py"), "migrate", "--noinput", "-v0"],
            env=project_env(db), cwd=PROJECT, capture_output=True, text=True, timeout=300,
        )
        assert migrate.returncode == 0, migrate.stderr
        db.query(f"INSERT INTO `{name}`.deploysite_item (id, name) VALUES (1, 'one')")
        try:
            yield db
        finally:
            db.query(f"DROP DATABASE IF EXISTS `{name}`")
            for name in [user, *db.extra_users]:
                db.query(f"DROP USER IF EXISTS '{name}'@'%'")


def project_env(db: Database, **overrides: str | None) -> dict[str, str]:
    """The environment of a deployed process: the project on the path, this
    run's database; ``overrides`` set (or, as None, remove) variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DEPLOY_", "MYSQLPOOL_DRIVER", "DJANGO_SETTINGS_MODULE"))}
    paths = [str(PROJECT)]
    if not os.environ.get("TOX_ENV_NAME"):
        paths.append(str(REPOSITORY))  # outside tox: this checkout's mysqlpool
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["DJANGO_SETTINGS_MODULE"] = "deploysite.settings"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(db.env())
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def bin_path(name: str) -> str:
    """A console script of this interpreter's environment."""
    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else (shutil.which(name) or name)


# ----- processes ----------------------------------------------------------------


@dataclass
class Service:
    """A process the test started, in a session of its own (its workers too)."""

    name: str
    process: subprocess.Popen
    log: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_until_serving(self, path: str = "/whoami/", timeout: float = 60,
                           statuses: tuple[int, ...] = (200,)) -> None:
        def ready():
            if not self.alive():
                raise AssertionError(f"{self.name} exited:\n{self.output()[-4000:]}")
            try:
                return get(self.url + path, timeout=10)[0] in statuses
            except OSError:
                return False

        wait_for(ready, timeout, f"{self.name} serving {path}\n{self.output()[-4000:]}", 0.2)

    def signal(self, signum: int) -> None:
        os.kill(self.process.pid, signum)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM (a graceful stop for gunicorn, uvicorn and Celery), then
        SIGKILL to the process group if it is still there after ``timeout``."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        # Workers left behind by a master that died: its group, by its pid.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.returncode


@pytest.fixture
def services(tmp_path) -> Iterator[callable]:
    """``start(name, args, env, port=None)``: a started Service, stopped after the test."""
    started: list[Service] = []

    def start(name: str, args: list[str], env: dict[str, str], port: int | None = None,
              cwd: Path = PROJECT) -> Service:
        log = tmp_path / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(args, env=env, cwd=cwd, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        service = Service(name, process, log, port)
        started.append(service)
        return service

    yield start
    for service in reversed(started):
        service.stop()


# ----- load -----------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    rps: float
    errors: int
    peak_connections: int
    connection_ids: set[int] = field(default_factory=set)
    output: str = ""


class ConnectionSampler:
    """Samples the deployed processes' server connections while load runs."""

    def __init__(self, db: Database, user: str | None = None, interval: float = 0.05) -> None:
        self.db = db
        self.user = user or db.user
        self.interval = interval
        self.peak = 0
        self.ids: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        admin = admin_queries(settings.SERVER)
        try:
            while not self._stop.is_set():
                ids = admin.connection_ids(self.user)
                self.peak = max(self.peak, len(ids))
                self.ids |= ids
                self._stop.wait(self.interval)
        finally:
            admin.close()

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.fixture
def wrk() -> Callable[..., Load]:
    """``wrk(db, url, seconds=3, connections=200, threads=2, user=None)``:
    :func:`drive` with wrk. Without wrk the test is skipped before it starts
    anything."""
    (binary,) = require_binaries(WRK)
    return functools.partial(drive, binary)


def drive(binary: str, db: Database, url: str, *, seconds: float = 3,
          connections: int = 200, threads: int = 2, user: str | None = None) -> Load:
    """Drive ``url`` with wrk (``binary``); the errors are non-2xx answers and
    socket errors. The server connections counted are ``user``'s (the database
    user by default)."""
    with ConnectionSampler(db, user) as sampler:
        result = subprocess.run(
            [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
             url],
            capture_output=True, text=True, timeout=seconds + 60,
        )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(match.group(1))
    if match := re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(n) for n in match.groups())
    return Load(requests, rps, errors, sampler.peak, sampler.ids, out)


# ----- Redis ------------------------------------------------------------------------


def redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis() -> str:
    """The Redis broker these tests need on 127.0.0.1:6379 (.ci/run starts it)."""
    if not redis_answers():
        missing(
            "Redis does not answer on 127.0.0.1:6379 (Debian package redis-server; "
            "start one: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 "
            "--save '' --appendonly no)"
        )
    return "redis://127.0.0.1:6379/0"


# Warnings a clean worker exit must not print.
EXIT_NOISE = ("not returned to the pool", "Exception ignored", "Traceback",
              "ended holding a connection")


def assert_quiet(service: Service) -> None:
    output = service.output()
    noise = [line for line in output.splitlines() if any(n in line for n in EXIT_NOISE)]
    assert not noise, f"{service.name} printed:\n{output[-6000:]}"


# ----- what the tests need --------------------------------------------------------

NEEDED = ("gunicorn", "uvicorn", "celery", "redis", "gevent", "eventlet", "pymysql")


def pytest_collection_modifyitems(config, items) -> None:
    """Without the servers and workers installed, these tests are skipped
    saying what to run instead (the default tox environments don't have them)."""
    import importlib.util

    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if not missing:
        return
    here = Path(__file__).resolve().parent
    skip = pytest.mark.skip(reason=f"{', '.join(missing)} not installed: tox -e py312-deploy")
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)
