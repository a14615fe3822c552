"""What the housekeeping thread does to each pool, without any traffic: close
connections idle longer than ``max_idle`` (down to ``min_size``), past their
lifetime, or left behind by a failover; open connections up to ``min_size``;
report connections held too long.

These reach into SQLAlchemy's QueuePool (its queue and overflow counter): it
has no public way to close one idle connection or to open one into the pool.
Every step holds the queue's own lock while it takes records out, so a
checkout never gets a record that is being closed.

A record housekeeping has out of the queue (being closed, or being opened
for ``min_size``) holds a slot of the pool's gate meanwhile, as a checkout
would: a checkout that finds the pool full then waits at the gate, which lets
it in the moment that slot is free again (the record back in the queue or its
overflow count given back). Waiting in SQLAlchemy's queue instead, it would
never learn that a slot freed up and would wait out the pool's whole timeout.
Housekeeping takes a slot only when one is free and nobody is waiting: it
never makes a request wait for a connection to be refilled or closed.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Protocol

from ..config import PoolConfig
from ..drivers import Driver
from ..metrics import Observer
from ..metrics.figures import Measured
from . import lag, leaks
from .checkout import PooledConnection
from .liveness import seen_closed, socket_problem
from .slot import Slot, slot_of

logger = logging.getLogger("mysqlpool")

#: Seconds between refill attempts after the first failure, doubling up to the last.
REFILL_RETRY_FIRST = 0.5
REFILL_RETRY_LONGEST = 10.0


class RefillSchedule:
    """When ``min_size`` refills may be tried again after a connect failed.

    Without it a dead server would be tried on every housekeeping round (20 a
    second with a small ``max_idle``), each attempt an INFO line. Any
    connection opened (by a refill or a checkout) ends the backoff.
    """

    __slots__ = ("failures", "not_before")

    def __init__(self) -> None:
        self.failures = 0
        self.not_before = 0.0

    def due(self, now: float) -> bool:
        return now >= self.not_before

    def failed(self, now: float) -> float:
        """Count a failed refill; return the seconds until the next one."""
        delay = min(REFILL_RETRY_FIRST * 2 ** self.failures, REFILL_RETRY_LONGEST)
        self.failures += 1
        self.not_before = now + delay
        return delay

    def succeeded(self) -> None:
        self.failures = 0
        self.not_before = 0.0


class Tended(Measured, Protocol):
    """What housekeeping needs of a pool (base.ConnectionPool), besides what
    the metrics read."""

    alias: str
    pid: int
    retired: bool
    config: PoolConfig
    driver: Driver
    sa_pool: Any
    stats: Any
    observer: Observer | None
    entries: list[PooledConnection]
    failed_over_at: float
    refills: RefillSchedule
    opener: Any

    def in_use(self) -> list[PooledConnection]: ...
    def idle_records(self) -> list[Any]: ...
    def try_take_slot(self) -> bool: ...
    def slot_freed(self) -> None: ...
    def check_in(self, entry: PooledConnection, used_until: float | None = None) -> None: ...
    def repark(self, entry: PooledConnection) -> None: ...
    def end(self, entry: PooledConnection, exc: BaseException | None = None,
            expected: str | None = None, failure: str | None = None,
            free_slot: bool = True) -> None: ...


_REASONS = {
    "behind_closed": "its replica lags past max_replication_lag",
    "lifetime_closed": "it reached its lifetime (recycle)",
    "failovers_closed": "it was opened before a failover",
    "dead_closed": "the server closed it",
    "idle_closed": "it was idle longer than max_idle",
}


def tend(pool: Tended) -> None:
    """One round of housekeeping for ``pool``."""
    if pool.retired or pool.pid != os.getpid():
        return
    if pool.config.leak_warning_after:
        leaks.report(pool.alias, pool.in_use(), pool.config.leak_warning_after)
    queue = _queue(pool)
    if queue is not None:  # a QueuePool: it keeps idle connections
        if pool.opener.replicas.max_lag is not None:
            lag.measure(pool, queue)
        close_idle(pool, queue, time.monotonic())
        fill(pool, queue)
    if pool.observer is not None:
        pool.observer.publish(pool)


def _queue(pool: Tended) -> Any:
    queue = getattr(pool.sa_pool, "_pool", None)
    return queue if hasattr(queue, "mutex") and hasattr(queue, "queue") else None


def close_idle(pool: Tended, queue: Any, now: float) -> int:
    """Close the idle connections that should go; return how many."""
    _unpark_leaving(pool, now)
    leaving: list[tuple[Any, str]] = []
    with queue.mutex:
        idle = [record for record in queue.queue if record.dbapi_connection is not None]
        kept = len(idle) + len(pool.entries)
        # Longest idle first.
        idle.sort(key=lambda record: slot_of(record).last_used or 0)
        for record in idle:
            counter = _why_close(pool, slot_of(record), record.dbapi_connection, now, kept)
            if counter is None:
                continue
            if not pool.try_take_slot():
                # Checkouts are waiting: they take the idle connections
                # themselves, and check each before using it.
                break
            queue.queue.remove(record)
            leaving.append((record, counter))
            kept -= 1
    for record, counter in leaving:
        try:
            record.close()
        except Exception:  # noqa: BLE001 - it is gone either way
            logger.debug("Closing an idle connection of %r failed", pool.alias,
                         exc_info=True)
        finally:
            pool.sa_pool._dec_overflow()  # its slot can open a connection again,
            pool.slot_freed()  # and the next in line may do so now
        # Closed for their age or idleness is normal churn; closed because the
        # server closed them, or a failover left them behind, they could not be
        # reused: counted as invalidations, as when found at checkout.
        pool.stats.add(counter if counter in ("idle_closed", "lifetime_closed", "behind_closed")
                       else "invalidations")
        if counter == "dead_closed":  # a failure, as when found at checkout: INFO
            logger.info("Replacing a connection of %r: %s (found while idle)", pool.alias,
                        _REASONS[counter])
        else:
            logger.debug("Closed an idle connection of %r: %s", pool.alias,
                         _REASONS[counter])
    return len(leaving)


def _unpark_leaving(pool: Tended, now: float) -> None:
    """Parked connections that should go (idle too long, past their lifetime,
    dead, left behind by a failover) go back into SQLAlchemy's pool, where the
    rest of the round closes them with the idle ones.

    A parked connection may be taken at any moment: it is first looked at
    without touching the driver's connection object (whose methods another
    thread may be calling), and only claimed, and looked at again, if it
    seems to have to go.
    """
    kept = len(pool.idle_records()) + len(pool.entries)
    for entry in tuple(pool.entries):
        if not entry.parked or entry.fairy is None:
            continue
        if _why_close(pool, entry.slot, None, now, kept) is None:
            continue
        if not entry.claimed():
            continue  # taken meanwhile
        if entry.fairy is not None and _why_close(
                pool, entry.slot, entry.connection, now, kept) is not None:
            pool.check_in(entry)
            kept -= 1
        else:
            pool.repark(entry)


def _why_close(pool: Tended, slot: Slot, connection: Any, now: float,
               kept: int) -> str | None:
    """The counter an idle connection is closed under, or None to keep it.
    Without ``connection``, only what needs no call on it (the socket from
    the poll object kept for it, if any)."""
    config = pool.config
    if connection is not None:
        dead = socket_problem(pool.driver, connection, slot) is not None
    else:
        dead = seen_closed(slot)
    if dead:
        return "dead_closed"
    if slot.expires <= now:
        return "lifetime_closed"
    if slot.opened_at < pool.failed_over_at:
        return "failovers_closed"
    if slot.host is not None and pool.opener.replicas.behind(slot.host):
        return "behind_closed"
    if (config.max_idle is not None and kept > config.min_size
            and now - (slot.last_used or now) > config.max_idle):
        return "idle_closed"
    return None


def fill(pool: Tended, queue: Any) -> int:
    """Open connections until ``min_size`` are open; return how many were opened."""
    schedule = pool.refills
    if not schedule.due(time.monotonic()):
        return 0
    # Out of SQLAlchemy's pool (in use, parked, or being opened by a checkout).
    missing = pool.config.min_size - len(pool.idle_records()) - pool.sa_pool.checkedout()
    opened = 0
    while opened < missing:
        if not pool.try_take_slot():
            return opened  # the pool is in use up to its limit, or checkouts wait
        try:
            record = _open_into_queue(pool, queue)
        except Exception as exc:  # noqa: BLE001 - tried again later
            retry_in = schedule.failed(time.monotonic())
            logger.info("Could not open a connection for %r (min_size=%s): %s; "
                        "trying again in %.1f s", pool.alias, pool.config.min_size, exc,
                        retry_in)
            return opened
        finally:
            pool.slot_freed()
        if record is None:
            return opened  # the pool is at its limit
        opened += 1
    return opened


def _open_into_queue(pool: Tended, queue: Any) -> Any:
    """Open one connection and put it in the queue, idle; None at the pool's limit.

    A slot whose connection was closed is reconnected first, else a new one is
    made. Whatever happens, the queue has the record back before this returns.
    """
    sa_pool = pool.sa_pool
    with queue.mutex:
        empty = next((r for r in queue.queue if r.dbapi_connection is None), None)
        if empty is not None:
            queue.queue.remove(empty)
    if empty is not None:
        record = empty
        try:
            record.get_connection()  # reconnects the empty slot
        except BaseException:
            sa_pool._do_return_conn(empty)
            raise
    elif sa_pool._inc_overflow():
        try:
            record = sa_pool._create_connection()
        except BaseException:
            sa_pool._dec_overflow()
            raise
    else:
        return None
    slot_of(record).last_used = time.monotonic()
    sa_pool._do_return_conn(record)
    return record
