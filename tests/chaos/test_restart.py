"""The server stops for ~2 s under load and comes back on the same port."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections
from django.db.utils import OperationalError

import mysqlpool
from tests.app.models import Item
from tests.chaos.conftest import (
    CONNECT_TIMEOUT,
    connection_id,
    hold_concurrently,
    record,
    request,
    wait_for,
)

pytestmark = pytest.mark.chaos

THREADS = 16
POOL_SIZE = 8


def test_restart_under_load(server, pooled_alias):
    alias = pooled_alias(pool={"pool_size": POOL_SIZE, "max_overflow": 0, "timeout": 30})
    phase = ["up"]  # "up", then "down", then "back"
    stop = threading.Event()
    results: list[tuple[str, str, float, BaseException | None]] = []
    lock = threading.Lock()

    def orm_request(number: int) -> None:
        Item.objects.using(alias).create(name=f"r{number}", quantity=number)
        assert Item.objects.using(alias).filter(quantity=number).exists()

    def cursor_request(number: int) -> None:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT %s", [number])
            assert cursor.fetchone()[0] == number

    def worker(index: int) -> None:
        work = orm_request if index % 2 else cursor_request
        number = index * 1_000_000
        while not stop.is_set():
            number += 1
            started_in, start = phase[0], time.monotonic()
            error = None
            try:
                request(lambda n=number: work(n))
            except Exception as exc:  # noqa: BLE001 - classified below
                error = exc
            with lock:
                results.append((started_in, phase[0], time.monotonic() - start, error))
            if error is not None:
                time.sleep(0.01)  # deliberate: a worker does not spin on a dead server

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(results) >= 10 * THREADS, 60, "no load before the restart")
        phase[0] = "down"
        server.stop()
        down_since = time.monotonic()
        time.sleep(2)  # deliberate: the outage, with the load running through it
        server.start()
        downtime = time.monotonic() - down_since
        phase[0] = "back"
        back_at = len(results)
        wait_for(lambda: len(results) >= back_at + 20 * THREADS, 60, "no load after the restart")
        time.sleep(1)  # deliberate: a second more of load, in which late failures would show
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    before = [r for r in results if r[0] == "up" and r[1] == "up"]
    during = [r for r in results if not (r[0] == r[1] == "up") and r[0] != "back"]
    after = [r for r in results if r[0] == "back"]
    failed_before = [r for r in before if r[3] is not None]
    failed_during = [r for r in during if r[3] is not None]
    failed_after = [r for r in after if r[3] is not None]

    assert failed_before == []
    # While the server is down requests fail fast with Django's OperationalError:
    # no hang past the connect timeout.
    assert failed_during, "no request ran while the server was down"
    assert all(isinstance(r[3], OperationalError) for r in failed_during), {
        type(r[3]).__name__ for r in failed_during
    }
    slowest_failure = max(r[2] for r in failed_during)
    assert slowest_failure < CONNECT_TIMEOUT + 1
    # Once it is back: every request succeeds.
    assert failed_after == [], failed_after[:3]
    assert len(after) >= 20 * THREADS

    # No slot leaked by the failed connects: the pool can again hold all its
    # connections at once, and none is counted as checked out.
    snapshot = mysqlpool.stats()[alias]
    assert snapshot["checked_out"] == 0
    ids = hold_concurrently(alias, POOL_SIZE)
    assert len(set(ids)) == POOL_SIZE
    assert mysqlpool.stats()[alias]["checked_out"] == 0
    assert mysqlpool.stats()[alias]["invalidations"] >= 1

    record(
        f"restart: {len(failed_after)} failed of {len(after)} requests after the restart; "
        f"{len(failed_during)} failed while down ({downtime:.1f} s), slowest failure "
        f"{slowest_failure * 1000:.0f} ms; capacity {len(set(ids))}/{POOL_SIZE}"
    )


def test_server_down_at_startup_then_up(server, pooled_alias):
    alias = pooled_alias(pool={"pool_size": 4, "max_overflow": 0, "timeout": 30})
    server.stop()
    failures = []
    for _ in range(3):
        start = time.monotonic()
        with pytest.raises(OperationalError) as raised:
            request(lambda: connection_id(alias))
        failures.append(time.monotonic() - start)
        assert type(raised.value) is OperationalError
    assert max(failures) < CONNECT_TIMEOUT
    server.start()
    # The pool made while the server was down works, at full size.
    assert len(set(hold_concurrently(alias, 4))) == 4
    figures = mysqlpool.stats()[alias]
    assert figures["checked_out"] == 0 and figures["connects"] == 4
    record(f"down at startup: 3 requests failed in <= {max(failures) * 1000:.0f} ms; "
           "after start capacity 4/4")
