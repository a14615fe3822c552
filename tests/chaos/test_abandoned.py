"""Work left behind: threads that end holding a transaction, and connections
held too long (leak warnings). A connection returned mid-transaction:
tests/test_rollback_on_return.py."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from django.db import connections, transaction

import mysqlpool
from mysqlpool import pool as pools
from mysqlpool.pool import maintenance
from tests.app.models import Item
from tests.chaos.conftest import SECOND, connection_id, record, request, wait_for

pytestmark = pytest.mark.chaos


@pytest.fixture
def locked_row(server, pooled_alias):
    """(alias, row id, second alias): a row to lock, and another user's pool to
    check from."""
    alias = pooled_alias(pool={"pool_size": 2, "max_overflow": 0, "timeout": 30})
    checker = pooled_alias("checker", user=SECOND, pool={"pool_size": 1, "max_overflow": 0})
    row = request(lambda: Item.objects.using(alias).create(name="row", quantity=0)).pk
    request(lambda: connection_id(checker))  # warm: the check below opens nothing
    return alias, row, checker


def assert_nothing_left_behind(checker: str, row: int) -> float:
    """The row can be locked at once (NOWAIT) and no uncommitted row is visible;
    returns how long after the call the lock was free."""
    start = time.monotonic()
    with transaction.atomic(using=checker):
        locked = Item.objects.using(checker).select_for_update(nowait=True).get(pk=row)
        assert locked.quantity == 0, "an uncommitted UPDATE survived"
    assert not Item.objects.using(checker).filter(name="uncommitted").exists()
    connections[checker].close()
    return time.monotonic() - start


def lock_and_write(alias: str, row: int) -> None:
    """Raw SQL: open a transaction, lock the row, write uncommitted data."""
    cursor = connections[alias].cursor()
    cursor.execute("START TRANSACTION")
    cursor.execute("SELECT id FROM app_item WHERE id = %s FOR UPDATE", [row])
    cursor.execute("UPDATE app_item SET quantity = 99 WHERE id = %s", [row])
    cursor.execute(
        "INSERT INTO app_item (name, quantity, created) VALUES ('uncommitted', 1, NOW())"
    )


@pytest.mark.parametrize("ending", ["returns", "raises"])
def test_a_thread_that_ends_inside_a_transaction_leaves_no_lock(
    locked_row, ending, monkeypatch, caplog
):
    alias, row, checker = locked_row
    caplog.set_level(logging.WARNING, logger="mysqlpool")
    died: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: died.append(args.exc_value))
    ids: list[int] = []

    def doomed() -> None:
        lock_and_write(alias, row)
        ids.append(connection_id(alias))
        if ending == "raises":
            raise RuntimeError("the thread dies holding its connection")
        # ...or simply returns, never closing its connection.

    thread = threading.Thread(target=doomed)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    assert len(died) == (ending == "raises")

    took = assert_nothing_left_behind(checker, row)
    assert mysqlpool.stats()[alias]["checked_out"] == 0
    assert any("A thread ended holding a connection of 'chaos'" in r.getMessage()
               for r in caplog.records)
    # The pool has its slot back, and the abandoned connection is not reused.
    assert request(lambda: connection_id(alias)) != ids[0]
    record(f"abandoned (thread {ending}): row lockable with NOWAIT after {took * 1000:.0f} ms, "
           "0 uncommitted rows")


def hold_connection_too_long(alias: str, until: threading.Event, timeout: float) -> None:
    """Check out a connection and keep it (the leak the warning should point at)."""
    try:
        connection_id(alias)
        until.wait(timeout)
    finally:
        connections[alias].close()


def test_a_connection_held_too_long_is_reported_with_its_stack(server, pooled_alias, caplog,
                                                               monkeypatch):
    alias = pooled_alias(pool={"pool_size": 1, "max_overflow": 0, "leak_warning_after": 0.5})
    caplog.set_level(logging.WARNING, logger="mysqlpool")
    release = threading.Event()
    thread = threading.Thread(target=hold_connection_too_long, args=(alias, release, 60))
    rounds = []  # the housekeeping rounds that looked at this alias's pool
    tend = maintenance.tend

    def counted_tend(pool) -> None:
        tend(pool)
        if pool.alias == alias:
            rounds.append(time.monotonic())

    monkeypatch.setattr(maintenance, "tend", counted_tend)

    def leak_warnings() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "checked out for" in r.getMessage()]

    thread.start()
    try:
        warnings = wait_for(leak_warnings, 30, "no leak warning")
        # The watch looks again, the connection still held: it must not repeat itself.
        seen = len(rounds)
        wait_for(lambda: len(rounds) >= seen + 3, 10, "no more housekeeping rounds")
    finally:
        release.set()
        thread.join(30)
    message = warnings[0].getMessage()
    assert warnings[0].levelno == logging.WARNING
    assert repr(alias) in message and "leak_warning_after=0.5" in message
    # The stack of the code that checked the connection out.
    assert "hold_connection_too_long" in message
    assert "test_abandoned.py" in message
    assert len(leak_warnings()) == 1, "reported once per checkout"


def test_leak_detection_is_off_by_default(server, pooled_alias, caplog):
    alias = pooled_alias(pool={"pool_size": 1, "max_overflow": 0})
    caplog.set_level(logging.DEBUG, logger="mysqlpool")
    release = threading.Event()
    threading.Timer(1.0, release.set).start()
    hold_connection_too_long(alias, release, 30)
    assert pools.pool_for(alias).config.leak_warning_after is None
    assert not [r for r in caplog.records if "checked out for" in r.getMessage()]
