"""A return interrupted by a BaseException (KeyboardInterrupt, gevent.Timeout)
frees its pool slot once; the leak watch survives checkouts under load."""

from __future__ import annotations

import gc
import signal
import sys
import threading
import time

import pytest
from django.db import connections

from mysqlpool import pool as pools
from mysqlpool.pool import housekeeping
from tests.chaos.conftest import connection_id, hold_concurrently, record, wait_for

pytestmark = pytest.mark.chaos


class Interrupted(BaseException):
    """What a KeyboardInterrupt or a gevent.Timeout is to the pool: not an Exception."""


def test_a_return_interrupted_mid_rollback_frees_its_slot_once(server, pooled_alias):
    alias = pooled_alias(pool={"pool_size": 1, "max_overflow": 0, "timeout": 3})
    connection = connections[alias]
    connection.set_autocommit(False)  # a transaction left open: the return rolls back
    interrupted_id = connection_id(alias)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO app_item (name, quantity, created) "
                       "VALUES ('interrupted', 1, NOW())")

    def interrupt(signum, frame):
        raise Interrupted()

    previous = signal.signal(signal.SIGALRM, interrupt)
    # The server stops answering, so the ROLLBACK waits; the alarm interrupts
    # it (with mysqlclient, whose C call does not return to Python until the
    # server answers again, just after it). The server resumes a second later.
    server.freeze()
    resume = threading.Timer(1.5, server.thaw)
    resume.start()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(Interrupted):
            connection.close()
            time.sleep(5)  # deliberate: the alarm (0.3 s) interrupts it, at the latest
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resume.join()
        server.thaw()
    assert connection.connection is None  # Django's close() dropped it anyway
    gc.collect()  # finds the interrupted checkout, if anything still holds it

    pool = pools.pool_for(alias)
    assert pool.gate.free == 1, "the interrupted return freed its slot twice"
    # Capacity is still one connection: a second holder waits and times out.
    ids = hold_concurrently(alias, 1)
    assert ids and ids[0] != interrupted_id, "a connection in an unknown state came back"
    assert server.query("SELECT COUNT(*) FROM chaos.app_item")[0][0] == 0
    record(f"interrupted return: gate free slots {pool.gate.free} of 1")


def test_the_leak_watch_survives_checkouts_under_load(server, pooled_alias, caplog):
    alias = pooled_alias(pool={"pool_size": 8, "max_overflow": 8,
                               "leak_warning_after": 0.02})
    stop = time.monotonic() + 3
    errors = []
    # Threads switch far more often than by default: the watch reads the set of
    # checkouts while the others change it.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)

    def churn():
        try:
            while time.monotonic() < stop:
                connection_id(alias)
                connections[alias].close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections[alias].close()

    threads = [threading.Thread(target=churn) for _ in range(16)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        sys.setswitchinterval(switch_interval)
    assert errors == []
    assert housekeeping.running(), "the housekeeping thread (which reports leaks) died"
    # And it still reports: one connection held past the threshold.
    connection_id(alias)
    try:
        wait_for(lambda: "has been checked out" in caplog.text, 10,
                 "no leak warning for a connection held past the threshold")
    finally:
        connections[alias].close()
