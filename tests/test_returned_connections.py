"""A connection that went back to the pool is out of reach of the code that
returned it, and a connection in an unknown state never goes back as healthy."""

from __future__ import annotations

import asyncio
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core.exceptions import SynchronousOnlyOperation
from django.db import DatabaseError, ProgrammingError, connections
from django.db.backends.signals import connection_created

import mysqlpool
from tests.aliases import temporary_alias
from tests.conftest import connection_id
from tests.users import OTHER

pytestmark = pytest.mark.django_db(transaction=True)


def pool_stats(alias: str = "default") -> dict:
    return mysqlpool.stats()[alias]


# ----- cursors kept past close() -------------------------------------------------


def run_stale(cursor, statement: str) -> None:
    if statement == "execute":
        cursor.execute("SET @mysqlpool_stale = 1")
    elif statement == "executemany":
        cursor.executemany("SELECT %s", [(1,), (2,)])
    else:
        cursor.callproc("no_such_procedure")


@pytest.fixture
def single(django_db_blocker):
    """An alias whose pool has one connection: whoever uses it next has the
    very connection the last user returned."""
    entry = settings.SERVER.django(USER=OTHER.user, PASSWORD=OTHER.password,
                                   OPTIONS={"pool": {"pool_size": 1, "max_overflow": 0}})
    with django_db_blocker.unblock(), temporary_alias("single", **entry) as connection:
        yield connection


@pytest.mark.parametrize("statement", ["execute", "executemany", "callproc"])
def test_a_cursor_kept_past_close_does_not_run_sql_on_the_returned_connection(
        statement, single):
    cursor = single.cursor()
    cursor.execute("SELECT CONNECTION_ID()")
    (returned_id,) = cursor.fetchone()
    single.close()
    # Another thread now holds the physical connection this cursor was on.
    holder = threading.Event()
    release = threading.Event()

    def hold():
        held_id = connection_id("single")
        holder.set()
        release.wait(30)
        connections["single"].close()
        return held_id

    executor = ThreadPoolExecutor(1)
    held = executor.submit(hold)
    try:
        assert holder.wait(30)
        with pytest.raises(ProgrammingError, match="returned to its pool"):
            run_stale(cursor, statement)
    finally:
        release.set()
        executor.shutdown()
    assert held.result(30) == returned_id, "the other thread had the same connection"


@pytest.mark.parametrize("statement", ["execute", "executemany", "callproc"])
def test_a_cursor_kept_past_close_is_refused_when_its_wrapper_connects_again(
        statement, single):
    # The wrapper takes back the connection it parked: the same physical
    # connection, a new use; the old use's cursor stays closed.
    cursor = single.cursor()
    cursor.execute("SELECT CONNECTION_ID()")
    (returned_id,) = cursor.fetchone()
    single.close()
    assert connection_id("single") == returned_id
    with pytest.raises(ProgrammingError, match="returned to its pool"):
        run_stale(cursor, statement)
    single.close()


def test_a_new_cursor_after_close_works():
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 2")
        assert cursor.fetchone() == (2,)


def test_connection_created_is_sent_on_each_connect_after_close_as_stock_django_does():
    """Django's own test (backends ConnectionCreatedSignalTest): a receiver
    sees every connect() after close(), the connection taken back from where
    its wrapper parked it included."""
    connection = connections["default"]
    seen = []

    def receiver(sender, connection, **kwargs):
        seen.append(connection.connection)

    connection.close()
    connection_created.connect(receiver)
    try:
        for _ in range(3):
            with connection.cursor():
                pass
            assert seen and seen[-1] is connection.connection
            connection.close()
        first_id = connection_id()
        connection.close()
        assert connection_id() == first_id, "the same connection, taken back"
    finally:
        connection_created.disconnect(receiver)
    assert len(seen) == 5
    seen.clear()
    with connection.cursor():
        pass
    assert seen == []


# ----- from an event loop, as stock Django ----------------------------------------

ASYNC_UNSAFE = "You cannot call this from an async context - use a thread or sync_to_async."


@pytest.mark.parametrize("state", ["parked", "checked out", "closed"])
def test_a_connection_used_from_an_event_loop_is_refused_as_stock_django_refuses_it(
        state, monkeypatch):
    """Django's @async_unsafe check on cursor(), ensure_connection() and
    close(), which the pooled wrapper makes without an exception per call."""
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    connection = connections["default"]
    connection.close()
    if state != "closed":
        connection.ensure_connection()
    if state == "parked":
        connection.close()
    calls = {
        "cursor": connection.cursor,
        "ensure_connection": connection.ensure_connection,
        "connect": connection.connect,
        "close": connection.close,
    }
    if state == "checked out":
        calls["close_if_unusable_or_obsolete"] = connection.close_if_unusable_or_obsolete

    async def call(function):
        function()

    for name, function in calls.items():
        with pytest.raises(SynchronousOnlyOperation) as raised:
            asyncio.run(call(function))
        assert str(raised.value) == ASYNC_UNSAFE, name
    assert (connection.connection is not None) == (state == "checked out")

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    async def query():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()

    assert asyncio.run(query()) == (1,)
    connection.close()


# ----- unknown state: closed, not returned ----------------------------------------


def kill_and_wait(admin, connection_id_: int) -> None:
    admin.query(f"KILL {int(connection_id_)}")
    admin.wait_until_gone({connection_id_}, timeout=5)


@pytest.mark.parametrize("operation", ["is_usable", "commit", "rollback", "set_autocommit"])
def test_a_connection_that_failed_is_closed_when_returned(admin, operation):
    """A failure in is_usable(), COMMIT, ROLLBACK or an autocommit change leaves
    the connection in a state nobody knows: it must not go back to the pool."""
    connection = connections["default"]
    killed = connection_id()
    before = pool_stats()
    kill_and_wait(admin, killed)
    if operation == "is_usable":
        assert connection.is_usable() is False
    else:
        with pytest.raises(DatabaseError):
            if operation == "set_autocommit":
                connection.set_autocommit(False)
            else:
                getattr(connection, operation)()
    connection.close()
    after = pool_stats()
    assert after["invalidations"] == before["invalidations"] + 1
    assert after["idle"] == before["idle"], "the broken connection went back to the pool"
    assert connection_id() != killed


def test_a_connection_whose_driver_closed_its_socket_is_not_handed_out():
    """The liveness check watches the connection's own socket: once the driver
    closed it, its file descriptor number may belong to another socket."""
    connection = connections["default"]
    connection_id()
    connection.close()
    connection_id()  # a second checkout of the same connection: the check ran
    raw = connection.connection
    driver = connection.driver
    old_fd = driver.socket_state(raw)[1]
    raw.close()  # as a driver does after some errors, under the pool's feet
    connection.close()
    sockets = []
    try:
        for _ in range(16):  # the lowest free numbers, the old one among them
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            sockets.append(listener)
        assert old_fd in {listener.fileno() for listener in sockets}
        assert connection_id() > 0
    finally:
        for listener in sockets:
            listener.close()
