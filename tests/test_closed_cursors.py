"""Operations on a closed cursor or connection raise the driver's DB-API error,
as mysqlclient's do: ProgrammingError on a closed cursor (Django's
``features.closed_cursor_error_class``), ``OperationalError(2006, '')`` on a
closed connection. Never an AttributeError from inside the adapter."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)

CURSOR_OPERATIONS = {
    "execute": lambda c: c.execute("SELECT 1"),
    "execute with parameters": lambda c: c.execute("SELECT %s", (1,)),
    "executemany": lambda c: c.executemany("SELECT %s", [(1,), (2,)]),
    "callproc": lambda c: c.callproc("no_such_procedure", (1,)),
    "mogrify": lambda c: c.mogrify("SELECT %s", (1,)),
    "fetchone": lambda c: c.fetchone(),
    "fetchmany": lambda c: c.fetchmany(2),
    "fetchall": lambda c: c.fetchall(),
    "nextset": lambda c: c.nextset(),
}
# mysqlclient's own cursor (not mysqlpool's) raises TypeError for these.
MYSQLCLIENT_TYPE_ERRORS = {"fetchone", "fetchmany", "fetchall", "nextset"}


@pytest.fixture
def raw():
    """A connection of the class the pool hands out, outside the pool."""
    driver = connection.driver
    raw = driver.creator(connection.get_connection_params())()
    yield driver, raw
    try:
        raw.close()
    except driver.dbapi.Error:
        pass  # closed by the test


@pytest.mark.parametrize("operation", CURSOR_OPERATIONS)
def test_closed_raw_cursor(raw, operation):
    driver, conn = raw
    cursor = driver.cursor(conn)
    cursor.execute("SELECT 1")
    cursor.close()
    if driver.name == "mysqlclient" and operation in MYSQLCLIENT_TYPE_ERRORS:
        pytest.skip("mysqlclient's own cursor raises TypeError here")
    with pytest.raises(driver.dbapi.ProgrammingError) as caught:
        CURSOR_OPERATIONS[operation](cursor)
    assert caught.value.args == ("cursor closed",)


@pytest.mark.parametrize("operation", CURSOR_OPERATIONS)
def test_closed_cursor_of_the_raw_connection(raw, operation):
    # What code written for mysqlclient does: connection.connection.cursor().
    driver, conn = raw
    cursor = conn.cursor()
    cursor.close()
    if driver.name == "mysqlclient" and operation in MYSQLCLIENT_TYPE_ERRORS:
        pytest.skip("mysqlclient's own cursor raises TypeError here")
    with pytest.raises(driver.dbapi.ProgrammingError):
        CURSOR_OPERATIONS[operation](cursor)


def test_raw_cursor_closed_twice(raw):
    driver, conn = raw
    cursor = driver.cursor(conn)
    cursor.close()
    assert cursor.close() is None


@pytest.mark.parametrize("operation", ["execute", "execute with parameters", "executemany",
                                       "fetchone", "fetchall", "nextset"])
def test_closed_django_cursor(operation):
    # Django 6.1's backends.base.test_operations runs a query on a closed cursor.
    cursor = connection.cursor()
    cursor.close()
    with pytest.raises(connection.features.closed_cursor_error_class):
        CURSOR_OPERATIONS[operation](cursor)


CONNECTION_OPERATIONS = {
    "cursor().execute": lambda c, d: d.cursor(c).execute("SELECT 1"),
    "execute on an open cursor": None,  # see below
    "commit": lambda c, d: c.commit(),
    "rollback": lambda c, d: c.rollback(),
    "ping": lambda c, d: c.ping(),
    "close": lambda c, d: c.close(),
}


@pytest.mark.parametrize("operation", CONNECTION_OPERATIONS)
def test_closed_raw_connection(raw, operation):
    driver, conn = raw
    cursor = driver.cursor(conn)
    conn.close()
    with pytest.raises(driver.dbapi.OperationalError) as caught:
        if operation == "execute on an open cursor":
            cursor.execute("SELECT %s", (1,))
        else:
            CONNECTION_OPERATIONS[operation](conn, driver)
    assert caught.value.args == (2006, "")


def test_closed_raw_connection_is_not_open(raw):
    driver, conn = raw
    assert conn.open
    conn.close()
    assert not conn.open
