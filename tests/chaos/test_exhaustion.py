"""A pool with every connection checked out: a clear, timely error, then recovery."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections
from django.db.utils import OperationalError

import mysqlpool
from tests.app.models import Item
from tests.chaos.conftest import connection_id, hold_concurrently, record, request

pytestmark = pytest.mark.chaos

TIMEOUT = 3.0


def test_a_third_checkout_from_a_pool_of_two_times_out(server, pooled_alias):
    alias = pooled_alias("tiny", pool={"pool_size": 2, "max_overflow": 0, "timeout": TIMEOUT})
    holding = threading.Barrier(3, timeout=30)
    release = threading.Event()
    held: list[int] = []

    def holder() -> None:
        try:
            held.append(connection_id(alias))
            holding.wait()
            release.wait(60)
        finally:
            connections[alias].close()

    holders = [threading.Thread(target=holder) for _ in range(2)]
    for thread in holders:
        thread.start()
    try:
        holding.wait()
        assert mysqlpool.stats()[alias]["checked_out"] == 2
        start = time.monotonic()
        with pytest.raises(mysqlpool.PoolTimeout) as raised:
            request(lambda: Item.objects.using(alias).count())
        waited = time.monotonic() - start
    finally:
        release.set()
        for thread in holders:
            thread.join(30)

    error = raised.value
    assert isinstance(error, OperationalError)  # Django's: code catching it keeps working
    assert TIMEOUT * 0.95 <= waited <= TIMEOUT * 1.1, waited
    message = str(error)
    assert repr(alias) in message
    assert "pool_size=2" in message and "max_overflow=0" in message
    assert "all 2 connections are checked out" in message
    assert f"within {TIMEOUT} s" in message

    figures = mysqlpool.stats()[alias]
    assert figures["timeouts"] == 1
    assert figures["waits"] >= 1
    assert figures["wait_time"] >= TIMEOUT * 0.95
    assert figures["checked_out"] == 0

    # Afterwards the pool works normally, at full size.
    assert sorted(hold_concurrently(alias, 2)) == sorted(held)
    assert request(lambda: Item.objects.using(alias).count()) == 0
    assert mysqlpool.stats()[alias]["timeouts"] == 1
    record(f"exhaustion: PoolTimeout after {waited:.2f} s (timeout={TIMEOUT} s); "
           f"stats timeouts={figures['timeouts']} waits={figures['waits']}")


def test_a_checkout_that_waits_is_counted(server, pooled_alias):
    alias = pooled_alias("tiny", pool={"pool_size": 1, "max_overflow": 0, "timeout": 30})
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            connection_id(alias)
            holding.set()
            release.wait(30)
        finally:
            connections[alias].close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert holding.wait(30)
        threading.Timer(0.3, release.set).start()
        assert connection_id(alias)
    finally:
        release.set()
        connections[alias].close()
        thread.join(30)
    figures = mysqlpool.stats()[alias]
    assert figures["waits"] == 1
    assert 0.25 <= figures["wait_time"] < 30
    assert figures["timeouts"] == 0


def test_waiting_threads_are_served_in_turn(server, pooled_alias):
    """More threads than connections, all busy: every thread gets its turn."""
    alias = pooled_alias("tiny", pool={"pool_size": 2, "max_overflow": 0, "timeout": 30})
    threads, seconds = 16, 5.0
    done = [0] * threads
    longest = [0.0] * threads
    errors: list[BaseException] = []
    stop = threading.Event()

    def worker(index: int) -> None:
        while not stop.is_set():
            start = time.monotonic()
            try:
                request(lambda: connection_id(alias))
            except Exception as exc:  # noqa: BLE001 - counted
                errors.append(exc)
                return
            longest[index] = max(longest[index], time.monotonic() - start)
            done[index] += 1

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    time.sleep(seconds)  # deliberate: the load runs this long, then every thread is counted
    stop.set()
    for thread in workers:
        thread.join(60)
    assert errors == []
    assert min(done) > 0, done
    assert max(longest) < seconds / 2, longest
    record(f"fairness: {threads} threads over 2 connections for {seconds:.0f} s: "
           f"{sum(done)} requests, fewest in a thread {min(done)}, longest request "
           f"{max(longest) * 1000:.0f} ms")
