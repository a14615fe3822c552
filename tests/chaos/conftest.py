"""Fault-injection fixtures: a throwaway server the tests stop, restart and reconfigure.

The shared server is never touched here. Every pooled alias these tests use is
added to Django's connections for one test only and points at the throwaway
server, as users the tests create (so PROCESSLIST tells their connections apart
from the admin's).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.aliases import temporary_alias

# connection_id, record, hold_concurrently, request: the fault tests import them from here.
from tests.conftest import connection_id, record, wait_for  # noqa: F401
from tests.server import ThrowawayServer
from tests.support.admin import AdminQueries
from tests.support.holding import hold_concurrently  # noqa: F401
from tests.support.requests import request  # noqa: F401
from tests.support.requirements import THROWAWAY_SERVER, require_binaries
from tests.users import User, admin_connection

DATABASE = "chaos"
APP = User("chaos_app", "chaos-App-Secret-5e2b")
SECOND = User("chaos_second", "chaos-Second-Secret-81d0")
#: Seconds a connect may take before the driver gives up (OPTIONS["connect_timeout"]).
CONNECT_TIMEOUT = 5


class ChaosServer(AdminQueries):
    """The throwaway server plus an admin connection that survives its restarts."""

    def __init__(self, server: ThrowawayServer) -> None:
        super().__init__(lambda: admin_connection(
            dataclasses.replace(server.address, database="mysql"), autocommit=True))
        self.server = server

    @property
    def port(self) -> int:
        return self.server.port

    # ----- the server process -------------------------------------------------

    def stop(self) -> None:
        self.close()
        self.server.stop()

    def start(self) -> None:
        self.server.start()

    def freeze(self, timeout: float = 10) -> int:
        """SIGSTOP the server and wait until every one of its threads has
        stopped; return its pid. kill() returns before they have: a group stop
        takes effect as each thread next runs, and meanwhile a thread woken by
        a client's packet can still answer it."""
        pid = self.server.process.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            wait_for(lambda: _all_threads_stopped(pid), timeout,
                     f"the server (pid {pid}) did not stop", interval=0.001)
        except AssertionError:
            os.kill(pid, signal.SIGCONT)
            raise
        return pid

    def thaw(self) -> None:
        os.kill(self.server.process.pid, signal.SIGCONT)

    def ensure_running(self) -> None:
        if self.server.process is None or self.server.process.poll() is not None:
            self.close()
            self.server.start()

    # ----- looking at it as the admin ------------------------------------------

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        """As AdminQueries.query; when the kept connection fails, once more on
        a new one (the server was restarted since, or killed the connection)."""
        with self._lock:
            try:
                return super().query(sql, params)
            except Exception:  # noqa: BLE001 - tried once more
                self.close()
                return super().query(sql, params)

    def wait_until_gone(self, ids: set[int], timeout: float = 30) -> None:
        super().wait_until_gone(ids, timeout)

    def set_global(self, name: str, value: int) -> None:
        self.query(f"SET GLOBAL {name} = {int(value)}")


def _all_threads_stopped(pid: int) -> bool:
    """Whether every thread of ``pid`` is stopped (state T in /proc)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return False
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as stat:
                # The state follows the command name, which is in parentheses.
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            continue  # the thread ended
        if state not in ("T", "t"):
            return False
    return True


def _prepare(server: ChaosServer) -> None:
    server.query(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    for user in (APP, SECOND):
        server.query(f"CREATE USER IF NOT EXISTS '{user.user}'@'%' "
                     f"IDENTIFIED BY '{user.password}'")
        server.query(f"GRANT ALL PRIVILEGES ON {DATABASE}.* TO '{user.user}'@'%'")
        # SELECT ... INTO OUTFILE, refused by --secure-file-priv (1290) elsewhere
        # than in the server's own directory for such files.
        server.query(f"GRANT FILE ON *.* TO '{user.user}'@'%'")
    # The tests' Item model, so requests can go through the ORM.
    server.query(
        f"CREATE TABLE IF NOT EXISTS {DATABASE}.app_item ("
        " id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL,"
        " quantity INT NOT NULL, created DATETIME(6) NOT NULL, at TIME(6) NULL"
        ") ENGINE=InnoDB"
    )


@pytest.fixture(scope="session")
def chaos_server() -> Iterator[ChaosServer]:
    require_binaries(*THROWAWAY_SERVER)
    throwaway = ThrowawayServer(secure_file_priv=True)
    throwaway.start()
    server = ChaosServer(throwaway)
    _prepare(server)
    yield server
    server.close()
    throwaway.destroy()


@pytest.fixture
def server(chaos_server: ChaosServer, django_db_blocker) -> Iterator[ChaosServer]:
    """The throwaway server, running, with an empty table and default globals."""
    chaos_server.ensure_running()
    chaos_server.query(f"TRUNCATE {DATABASE}.app_item")
    with django_db_blocker.unblock():
        yield chaos_server
    chaos_server.ensure_running()
    chaos_server.set_global("wait_timeout", 28800)
    chaos_server.set_global("interactive_timeout", 28800)


@pytest.fixture
def pooled_alias(server: ChaosServer) -> Iterator[Callable[..., str]]:
    """Add a pooled alias on the throwaway server for this test: ``pooled_alias(name,
    user=APP, pool={...}, host=HOST, **OPTIONS)`` (PORT is the server's: the
    default port of a HOST list). Removed, with its pool, afterwards."""
    with contextlib.ExitStack() as stack:

        def add(alias: str = "chaos", *, user: User = APP, pool: Any = True,
                host: str = "127.0.0.1", **options: Any) -> str:
            stack.enter_context(temporary_alias(
                alias, HOST=host, PORT=str(server.port), NAME=DATABASE,
                USER=user.user, PASSWORD=user.password,
                OPTIONS={"connect_timeout": CONNECT_TIMEOUT, "pool": pool, **options},
            ))
            return alias

        yield add

