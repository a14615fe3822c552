from __future__ import annotations

import contextlib

import pytest
from django.conf import settings
from django.db import connections

from tests import users
from tests.support.waiting import wait_for  # the tests import it from here too
from tests.users import admin_connection

#: Figures the fault and cluster tests measured, printed at the end of the run.
FIGURES: list[str] = []


def record(figure: str) -> None:
    FIGURES.append(figure)


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES:
        terminalreporter.section("mysqlpool fault figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus) -> None:
    # The run's users go with it (a throwaway server goes anyway). Settings
    # never set up: a run without pytest-django (tests/unit), no server.
    if (users.OWNS_RUN and settings.configured
            and getattr(settings, "SERVER", None) is not None):
        with contextlib.suppress(Exception):
            users.drop_users(settings.SERVER)


class Admin:
    """The admin user's own connection (outside any pool), to look at the server."""

    def __init__(self) -> None:
        self.connection = admin_connection(settings.SERVER, autocommit=True)

    def query(self, sql: str, params=None) -> list[tuple]:
        cursor = self.connection.cursor()
        cursor.execute(sql, params)
        # The connector refuses fetchall() after a statement without rows (KILL).
        rows = list(cursor.fetchall()) if cursor.description else []
        cursor.close()
        return rows

    def connection_ids(self, user: str) -> set[int]:
        """``user``'s connections to this run's test database. Other runs against
        the same server use the same users, but databases of their own."""
        rows = self.query(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s AND DB = %s",
            (user, connections["default"].settings_dict["NAME"]),
        )
        return {row[0] for row in rows}

    def wait_until_gone(self, ids: set[int], timeout: float = 10) -> None:
        """Poll PROCESSLIST until none of ``ids`` is left (after a KILL)."""
        wait_for(lambda: not ({row[0] for row in self.query(
            "SELECT ID FROM information_schema.PROCESSLIST")} & ids), timeout,
            f"connections {sorted(ids)} still on the server")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.close()


@pytest.fixture
def admin():
    admin = Admin()
    yield admin
    admin.close()


@pytest.fixture
def database_access(django_db_blocker):
    """Database access for the whole test, without pytest-django's django_db
    mark: that mark knows only the aliases that exist when the test starts, not
    the aliases made for one test (tests/aliases.py) nor wrappers reaching
    servers of their own. A module asks for it with
    ``pytestmark = pytest.mark.usefixtures("database_access")``."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def fresh_pools():
    """Start and end the test with no pools, so counts start from zero."""
    import mysqlpool

    connections.close_all()
    mysqlpool.close_pool()
    yield
    connections.close_all()
    mysqlpool.close_pool()


def connection_id(alias: str = "default") -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        return cursor.fetchone()[0]
