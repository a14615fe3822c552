"""Fault soak: the lifecycle at its most aggressive under load, with faults
injected on a schedule.

16 threads make requests for ``MYSQLPOOL_SOAK_SECONDS`` (default 60) through a
pool with max_idle 0.1 s, a 1 s lifetime (with its jitter) and min_size 2,
while the server is made read-only for a moment (a failover: writes refused
with 1290), connections are killed, and the server restarts. The workload
also makes the application's own read-only errors (1792 in its own READ ONLY
transactions), which must not be taken for a failover.

Asserted: no connection leaked (the server never holds more of the pool's
connections than its limit; a connection the pool has closed, which the
server may list a moment longer, is not the pool's), no request outside an
injected fault failed or took more than a second (a checkout never waits
while a slot is free), and every acknowledged write is stored.
"""

from __future__ import annotations

import os
import random
import threading
import time

import pytest
from django.db import DatabaseError, connections, transaction
from sqlalchemy import event

import mysqlpool
from mysqlpool import pool as pools
from tests.app.models import Item
from tests.chaos.conftest import APP, DATABASE, record, request, wait_for

pytestmark = pytest.mark.chaos

THREADS = 16
POOL_SIZE, MAX_OVERFLOW = 6, 2
LIMIT = POOL_SIZE + MAX_OVERFLOW
SECONDS = float(os.environ.get("MYSQLPOOL_SOAK_SECONDS", "60"))
#: After a fault ends, requests may still fail or be slow for this long
#: (reconnects after a restart, connections that were killed mid-request).
GRACE = 3.0
DRIVER = os.environ.get("MYSQLPOOL_DRIVER") or "detected driver"


class Faults:
    """The windows during which failures are expected: (start, end, kind)."""

    def __init__(self) -> None:
        self.windows: list[tuple[float, float, str]] = []
        self._lock = threading.Lock()

    def add(self, start: float, end: float, kind: str) -> None:
        with self._lock:
            self.windows.append((start, end + GRACE, kind))

    def covers(self, start: float, end: float, kinds: tuple[str, ...] = ()) -> bool:
        with self._lock:
            return any(start <= until and end >= since for since, until, kind in self.windows
                       if not kinds or kind in kinds)


class ClosedByPool:
    """The server's ids of the connections the pool has closed.

    The server removes a connection from PROCESSLIST only once its own
    thread has finished with it (read the client's goodbye, rolled back what
    a killed one had begun), a moment after the client closed it: meanwhile
    the pool may already have opened its replacement. Those ids are left out
    of the count of the pool's connections; a connection the pool lost
    without closing it stays in. A restarted server numbers its connections
    from the start again: only the ids of connections opened since the last
    restart are kept."""

    def __init__(self, sa_pool) -> None:
        self._lock = threading.Lock()
        #: id() of each open driver connection: (its server id, restarts then).
        self._opened: dict[int, tuple[int, int]] = {}
        self._closed: set[int] = set()
        self._restarts = 0
        event.listen(sa_pool, "connect", self._connected)
        event.listen(sa_pool, "close", self._closing)

    def _connected(self, dbapi_connection, record) -> None:
        server_id = dbapi_connection.thread_id()  # read at the handshake: no round trip
        with self._lock:
            self._opened[id(dbapi_connection)] = (server_id, self._restarts)

    def _closing(self, dbapi_connection, record) -> None:
        with self._lock:
            server_id, restarts = self._opened.pop(id(dbapi_connection), (None, None))
            if restarts == self._restarts:
                self._closed.add(server_id)

    def server_stopped(self) -> None:
        """The server is down: the ids it gave out so far may come again."""
        with self._lock:
            self._restarts += 1
            self._closed.clear()

    def ids(self) -> set[int]:
        with self._lock:
            return set(self._closed)


def read_only_transaction_write(alias: str) -> None:
    """The application's own error: 1792, on a server that takes writes."""
    with connections[alias].cursor() as cursor:
        cursor.execute("START TRANSACTION READ ONLY")
        try:
            cursor.execute("INSERT INTO app_item (name, quantity, created) "
                           "VALUES ('ro', 0, NOW())")
        finally:
            cursor.execute("ROLLBACK")


def test_fault_soak(server, pooled_alias):
    alias = pooled_alias(pool={
        "pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW, "timeout": 30,
        "min_size": 2, "max_idle": 0.1, "recycle": 1,
    })
    # The pool exists from its first checkout on.
    request(lambda: Item.objects.using(alias).exists())
    closed = ClosedByPool(pools.pool_for(alias).sa_pool)
    over_limit: list[list[tuple]] = []
    listed_after_close = [0]
    faults = Faults()
    stop = threading.Event()
    lock = threading.Lock()
    acknowledged = [0]
    outcomes: list[tuple[float, float, BaseException | None]] = []
    app_errors = [0]
    samples: list[int] = []
    failovers: list[tuple[float, int]] = []
    monitor_errors: list[BaseException] = []

    def one_request(number: int) -> None:
        if number % 20 == 0:
            try:
                read_only_transaction_write(alias)
            except DatabaseError as exc:
                code = (exc.__cause__ or exc).args[0]
                if code == 1792:
                    with lock:
                        app_errors[0] += 1
                    return
                raise
            raise AssertionError("a write in a READ ONLY transaction was accepted")
        if number % 3 == 0:
            with transaction.atomic(using=alias):
                Item.objects.using(alias).create(name="soak", quantity=number)
            with lock:
                acknowledged[0] += 1
        else:
            Item.objects.using(alias).filter(quantity=number).exists()

    def worker(index: int) -> None:
        rng = random.Random(index)
        number = index * 10_000_000
        while not stop.is_set():
            number += 1
            start = time.monotonic()
            error = None
            try:
                request(lambda n=number: one_request(n))
            except Exception as exc:  # noqa: BLE001 - classified below
                error = exc
            with lock:
                outcomes.append((start, time.monotonic(), error))
            # Pauses long enough, now and then, for connections to go idle
            # past max_idle.
            stop.wait(rng.choice((0, 0, 0.002, 0.01, 0.05, 0.15)))

    def monitor() -> None:
        while not stop.is_set():
            figures = mysqlpool.stats().get(alias, {})
            failovers.append((time.monotonic(), figures.get("failovers", 0)))
            try:
                closed_before = closed.ids()  # before the server is asked
                listed = server.connection_ids(APP.user)
                held = listed - closed_before
                if held != listed:
                    listed_after_close[0] += 1
                samples.append(len(held))
                if len(held) > LIMIT:
                    over_limit.append(server.query(
                        "SELECT ID, COMMAND, TIME_MS, STATE FROM information_schema.PROCESSLIST"
                        " WHERE USER = %s", [APP.user]))
            except Exception as exc:  # noqa: BLE001 - the server may be down
                monitor_errors.append(exc)
            stop.wait(0.05)

    def inject() -> None:
        kinds = ["failover", "kill", "restart"]
        turn = 0
        while not stop.wait(SECONDS / 7):
            kind = kinds[turn % len(kinds)]
            turn += 1
            start = time.monotonic()
            try:
                if kind == "failover":
                    server.query("SET GLOBAL read_only = 1")
                    stop.wait(0.3)
                    server.query("SET GLOBAL read_only = 0")
                elif kind == "kill":
                    server.kill(set(random.sample(sorted(server.connection_ids(APP.user)),
                                                  k=2)))
                else:
                    server.stop()
                    closed.server_stopped()
                    stop.wait(1)
                    server.start()
            except Exception as exc:  # noqa: BLE001 - reported below
                monitor_errors.append(exc)
            faults.add(start, time.monotonic(), kind)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    threads += [threading.Thread(target=monitor), threading.Thread(target=inject)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        stop.wait(SECONDS)
    finally:
        stop.set()
        for thread in threads:
            thread.join(120)
        server.ensure_running()
        server.query("SET GLOBAL read_only = 0")
    elapsed = time.monotonic() - started

    unexpected = [(round(end - start, 2), error) for start, end, error in outcomes
                  if (error is not None or end - start > 1) and not faults.covers(start, end)]
    failed_in_faults = sum(1 for *_, error in outcomes if error is not None)
    rows = server.query(f"SELECT COUNT(*) FROM {DATABASE}.app_item WHERE name = 'soak'")[0][0]
    stats = mysqlpool.stats()[alias]
    kinds = sorted({kind for *_, kind in faults.windows})
    record(
        f"fault soak ({DRIVER}): {THREADS} threads x {elapsed:.0f} s, limit {LIMIT}, "
        f"faults {len(faults.windows)} ({', '.join(kinds)}): {len(outcomes)} requests, "
        f"{failed_in_faults} failed during faults, {len(unexpected)} failed or slow outside, "
        f"{app_errors[0]} application 1792s, max {max(samples)} server connections "
        f"(the pool's; {listed_after_close[0]} of {len(samples)} samples listed ones "
        "it had closed), "
        f"{stats['connects']} connects, {stats['failovers']} failovers, "
        f"{stats['idle_closed']} idle closed, {stats['lifetime_closed']} lifetime closed, "
        f"{acknowledged[0]} writes acknowledged, {rows} stored"
    )
    assert kinds == ["failover", "kill", "restart"], faults.windows
    assert unexpected == [], unexpected[:5]
    assert samples and max(samples) <= LIMIT, (max(samples), over_limit[:3])
    assert rows >= acknowledged[0], "an acknowledged write is missing"
    assert app_errors[0] > 0
    # Failovers come from the server being read-only (or shutting down), never
    # from the application's own 1792s.
    assert stats["failovers"] >= 1
    concluded_at = [at for (at, count), (_, before) in zip(failovers[1:], failovers,
                                                           strict=False) if count > before]
    assert all(faults.covers(at - 0.1, at, ("failover", "restart")) for at in concluded_at), \
        [round(at - started, 2) for at in concluded_at]
    # No connection left out of the pool. Housekeeping (max_idle 0.1 s) claims
    # a parked connection for a moment to close it, which the figures count as
    # in use while it does: nothing may stay in use once it is done.
    wait_for(lambda: mysqlpool.stats()[alias]["checked_out"] == 0, 5,
             f"connections still checked out: {mysqlpool.stats()[alias]}")
