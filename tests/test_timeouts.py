"""``OPTIONS["read_timeout"]`` bounds the wait for a query's answer on every
driver, and the connection it gave up on is replaced, never handed to the
next request: that one would read the late answer of the query before it.
(``write_timeout`` needs a server that stops reading: tests/chaos/
test_write_timeout.py. ``connect_timeout``: test_connect_timeout.py.)"""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError, connections

import mysqlpool
from tests.aliases import temporary_alias
from tests.conftest import connection_id

#: Seconds the driver waits for an answer; the query below takes longer.
READ_TIMEOUT = 1
SLOW_QUERY = "SELECT SLEEP(3)"  # answered after 3 s


pytestmark = pytest.mark.usefixtures("database_access")


def answer(alias: str, sql: str):
    """One request running ``sql``; its first column."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]
    finally:
        connections[alias].close()


def test_read_timeout_fails_a_slow_query_and_replaces_its_connection(fresh_pools):
    default = connections["default"].settings_dict
    with temporary_alias(
        "timed", **{name: default[name] for name in ("HOST", "PORT", "NAME", "USER", "PASSWORD")},
        OPTIONS={"read_timeout": READ_TIMEOUT, "pool": {"pool_size": 1, "max_overflow": 0}},
    ):
        first = connection_id("timed")
        started = time.monotonic()
        with pytest.raises(OperationalError):
            answer("timed", SLOW_QUERY)
        took = time.monotonic() - started
        # Given up after the read timeout, well before the server answers (3 s).
        assert READ_TIMEOUT - 0.1 <= took < 2.5, took
        # The one slot of the pool serves the next requests with a new
        # connection, which answers their own queries at once.
        started = time.monotonic()
        assert [answer("timed", f"SELECT {n}") for n in (41, 42)] == [41, 42]
        assert time.monotonic() - started < READ_TIMEOUT
        assert answer("timed", "SELECT CONNECTION_ID()") != first
        assert mysqlpool.stats()["timed"]["invalidations"] == 1
