from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connections

from tests import users
from tests.server import ServerAddress, ThrowawayServer
from tests.support.admin import AdminQueries, admin_queries
from tests.support.requirements import OPENSSL, THROWAWAY_SERVER, require_binaries
from tests.support.waiting import wait_for  # noqa: F401 - the tests import it from here
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


class Admin(AdminQueries):
    """The admin user's own connection (outside any pool), to look at the test server."""

    def __init__(self) -> None:
        super().__init__(lambda: admin_connection(settings.SERVER, autocommit=True))

    def connection_ids(self, user: str, database: str | None = None) -> set[int]:
        """``user``'s connections to ``database``, by default this run's test
        database: other runs against the same server use databases of their own."""
        return super().connection_ids(
            user, database or connections["default"].settings_dict["NAME"])


@pytest.fixture
def admin():
    admin = Admin()
    yield admin
    admin.close()


@pytest.fixture(scope="session")
def tls_server() -> Iterator[ThrowawayServer]:
    """A private server with TLS and a CA of its own (``ca.pem`` and
    ``ca-key.pem`` in its ``directory``), for the whole session."""
    require_binaries(*THROWAWAY_SERVER, OPENSSL)
    server = ThrowawayServer(tls=True)
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def plain_server() -> ServerAddress:
    """The test server, which must not offer TLS (tests that need one without
    are skipped when it does)."""
    ((have_ssl,),) = admin_queries(settings.SERVER, per_query=True).query("SELECT @@have_ssl")
    if have_ssl == "YES":
        pytest.skip("the test server offers TLS; these tests need one that does not")
    return settings.SERVER


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
