"""Housekeeping (max_idle, lifetime, failover, min_size) never makes a checkout
wait while the pool holds fewer connections than its limit, and never turns an
outage into waits for the pool's timeout."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator

import pytest
from django.db import Error, OperationalError
from sqlalchemy import event

import mysqlpool
from mysqlpool import pool as pools
from tests.aliases import temporary_alias
from tests.chaos.conftest import APP, DATABASE, connection_id, record, request
from tests.support.net import closed_port, silent_host

pytestmark = pytest.mark.chaos

DRIVER = os.environ.get("MYSQLPOOL_DRIVER") or "detected driver"


@contextlib.contextmanager
def slow_closes(alias: str, seconds: float) -> Iterator[None]:
    """Every connection of ``alias``'s pool takes ``seconds`` to close (a slow
    network), which holds open the moment between a connection leaving the
    pool's queue and its slot being free again."""
    pool = pools.pool_for(alias)
    assert pool is not None

    def close(dbapi_connection, record) -> None:
        time.sleep(seconds)  # deliberate: the slow close this test is about

    event.listen(pool.sa_pool, "close", close)
    try:
        yield
    finally:
        event.remove(pool.sa_pool, "close", close)


def timed(work: Callable[[], object]) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        request(work)
    except Error as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def test_no_checkout_waits_while_an_idle_connection_is_closed(server, pooled_alias):
    # One slot; housekeeping closes the connection once it passed max_idle,
    # slowly, while the next checkout comes. That checkout used to find the
    # slot taken by the record being closed, wait in SQLAlchemy's queue, and
    # never be told the slot was free: it waited out the whole timeout.
    alias = pooled_alias(pool={"pool_size": 1, "max_overflow": 0, "timeout": 3,
                               "max_idle": 0.1})
    request(lambda: connection_id(alias))
    closed_before = mysqlpool.stats()[alias]["idle_closed"]
    outcomes = []
    with slow_closes(alias, 0.3):
        for _ in range(12):
            outcomes.append(timed(lambda: connection_id(alias)))
            # Idle past max_idle (0.1 s): housekeeping is closing it, slowly,
            # when the next checkout comes.
            time.sleep(0.15)  # deliberate: idle past max_idle
    closes = mysqlpool.stats()[alias]["idle_closed"] - closed_before
    slowest = max(seconds for seconds, _ in outcomes)
    record(f"max_idle=0.1 s, one slot, 0.3 s closes ({DRIVER}): {closes} closed while "
           f"idle, slowest of {len(outcomes)} checkouts {slowest * 1000:.0f} ms")
    assert closes >= 6, "housekeeping did not close the idle connection as it should"
    assert [exc for _, exc in outcomes if exc is not None] == []
    # At most the close itself: the slot is not free until it is done.
    assert slowest < 1.5


def test_min_size_refills_do_not_turn_an_outage_into_pool_timeouts(server):
    # A refill holds the pool's one slot while it waits for a host that never
    # answers; a request that came meanwhile used to wait out the pool's
    # timeout (8 s) before trying its own connect (2 s more).
    connect_timeout, timeout = 2, 8
    with silent_host() as port, temporary_alias(
        "silent", HOST="127.0.0.1", PORT=str(port), NAME=DATABASE, USER=APP.user,
        PASSWORD=APP.password,
        OPTIONS={"connect_timeout": connect_timeout,
                 "pool": {"pool_size": 1, "max_overflow": 0, "min_size": 1,
                          "timeout": timeout, "max_idle": 0.2}},
    ):
        outcomes = []
        for _ in range(3):
            time.sleep(0.3)  # deliberate: a refill is under way when the request comes
            outcomes.append(timed(lambda: connection_id("silent")))
    failures = [exc for _, exc in outcomes]
    slowest = max(seconds for seconds, _ in outcomes)
    record(f"min_size=1 against a silent host, connect_timeout={connect_timeout} s, "
           f"timeout={timeout} s ({DRIVER}): requests failed after "
           f"{', '.join(f'{seconds:.1f}' for seconds, _ in outcomes)} s")
    assert all(isinstance(exc, OperationalError) for exc in failures), failures
    assert not any(isinstance(exc, mysqlpool.PoolTimeout) for exc in failures), failures
    # Its own connect, plus at most what was left of a refill under way.
    assert slowest < 2 * connect_timeout + 1.5


def test_refills_against_a_dead_server_back_off(server, caplog):
    # A small max_idle makes housekeeping run every 0.05 s; a refill used to
    # be tried (and logged at INFO) on every one of those rounds.
    with temporary_alias(
        "refused", HOST="127.0.0.1", PORT=str(closed_port()), NAME=DATABASE,
        USER=APP.user, PASSWORD=APP.password,
        OPTIONS={"connect_timeout": 2,
                 "pool": {"pool_size": 2, "max_overflow": 0, "min_size": 1,
                          "max_idle": 0.1}},
    ), caplog.at_level(logging.INFO, logger="mysqlpool"):
        with pytest.raises(OperationalError):
            request(lambda: connection_id("refused"))
        watched_from = time.monotonic()
        time.sleep(4)  # deliberate: the time over which refill attempts are counted
        attempts = [entry for entry in caplog.records
                    if entry.getMessage().startswith("Could not open a connection")]
        watched = time.monotonic() - watched_from
    record(f"min_size=1 against a refused port, max_idle=0.1 s ({DRIVER}): "
           f"{len(attempts)} refill attempts in {watched:.1f} s")
    # 0.5 s, then 1 s, 2 s, ... between attempts: 4 in 4 s (one more for a slow round).
    assert 1 <= len(attempts) <= 5
