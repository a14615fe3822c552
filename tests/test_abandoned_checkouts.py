"""A checkout dropped without close(): the DatabaseWrapper that held it is
deleted and garbage collected, inside a transaction with a row locked and a
row written. The README: such a connection "gets its connection rolled back
and closed (never returned), so its locks are released at once, with a
warning". (A thread ending with Django's own connection still open:
tests/chaos/test_abandoned.py.)"""

from __future__ import annotations

import gc
import logging
import threading
import uuid

import pytest
from django.db import connections

import mysqlpool
from tests.aliases import temporary_alias
from tests.conftest import connection_id
from tests.support.admin import admin_queries
from tests.users import LIMITED

#: Seconds another connection waits for the dropped connection's row lock.
LOCK_WAIT = 3
#: ER_LOCK_WAIT_TIMEOUT.
LOCK_WAIT_TIMEOUT = 1205


pytestmark = pytest.mark.usefixtures("database_access")


class Probe:
    """A table of the test's own with row 1, and an admin connection to look at it."""

    def __init__(self, server) -> None:
        database = connections["default"].settings_dict["NAME"]
        self.table = f"`{database}`.abandoned_{uuid.uuid4().hex[:12]}"
        self.server = server
        self.admin = admin_queries(server)
        self.admin.query(f"CREATE TABLE {self.table} (id INT PRIMARY KEY) ENGINE=InnoDB")
        self.admin.query(f"INSERT INTO {self.table} (id) VALUES (1)")

    def nothing_left_behind(self) -> list[tuple]:
        """Lock row 1 from another connection (waiting at most LOCK_WAIT
        seconds), then read the committed rows; raises when the lock is held."""
        checker = admin_queries(self.server)
        try:
            checker.query(f"SET SESSION innodb_lock_wait_timeout = {LOCK_WAIT}")
            checker.query("START TRANSACTION")
            try:
                checker.query(f"SELECT id FROM {self.table} WHERE id = 1 FOR UPDATE")
            except Exception as exc:
                if exc.args[:1] != (LOCK_WAIT_TIMEOUT,):
                    raise
                raise AssertionError(f"row 1 still locked after {LOCK_WAIT} s: the dropped "
                                     "connection's transaction is still open") from exc
            # The transaction's first consistent read, after the lock: a
            # committed row 2 would show.
            rows = checker.query(f"SELECT id FROM {self.table} ORDER BY id")
            checker.query("ROLLBACK")
            return rows
        finally:
            checker.close()

    def drop(self) -> None:
        self.admin.query(f"DROP TABLE IF EXISTS {self.table}")
        self.admin.close()


@pytest.fixture
def probe(settings):
    probe = Probe(settings.SERVER)
    yield probe
    probe.drop()


@pytest.fixture
def alias(fresh_pools):
    default = connections["default"].settings_dict
    with temporary_alias("dropping", HOST=default["HOST"], PORT=default["PORT"],
                         NAME=default["NAME"], USER=LIMITED.user, PASSWORD=LIMITED.password,
                         OPTIONS={"pool": {"pool_size": 2, "max_overflow": 0}}):
        yield "dropping"


def lock_write_and_drop(alias: str, table: str) -> int:
    """Open a transaction on a wrapper of its own, lock row 1, insert row 2,
    then drop the wrapper without close(); return its CONNECTION_ID()."""
    wrapper = connections.create_connection(alias)
    cursor = wrapper.cursor()
    cursor.execute("START TRANSACTION")
    cursor.execute(f"SELECT id FROM {table} WHERE id = 1 FOR UPDATE")
    cursor.execute(f"INSERT INTO {table} (id) VALUES (2)")
    cursor.execute("SELECT CONNECTION_ID()")
    dropped = cursor.fetchone()[0]
    del cursor, wrapper
    gc.collect()
    return dropped


def warnings_about(alias: str, caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == "mysqlpool" and record.levelno == logging.WARNING
            and repr(alias) in record.getMessage()]


@pytest.mark.parametrize("thread_goes_on", [False, True],
                         ids=["thread-ends", "thread-goes-on"])
def test_a_dropped_checkout_is_rolled_back_with_a_warning(probe, alias, caplog, thread_goes_on):
    caplog.set_level(logging.WARNING, logger="mysqlpool")
    dropped: list[int] = []
    was_dropped, checked = threading.Event(), threading.Event()

    def work() -> None:
        try:
            dropped.append(lock_write_and_drop(alias, probe.table))
        finally:
            was_dropped.set()
        if thread_goes_on:
            checked.wait(30)  # a long-lived worker thread, busy with other work

    thread = threading.Thread(target=work)
    thread.start()
    try:
        assert was_dropped.wait(30) and dropped, "the thread failed"
        if not thread_goes_on:
            thread.join(30)
            assert not thread.is_alive()
        assert probe.nothing_left_behind() == [(1,)]
        assert mysqlpool.stats()[alias]["checked_out"] == 0
        assert warnings_about(alias, caplog), "no warning about the dropped connection"
    finally:
        checked.set()
        thread.join(30)
    # The dropped connection is not handed out again.
    try:
        assert connection_id(alias) != dropped[0]
    finally:
        connections[alias].close()
