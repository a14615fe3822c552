"""What the housekeeping thread does to each pool, without any traffic: close
connections idle longer than ``max_idle`` (down to ``min_size``), past their
lifetime, or left behind by a failover; open connections up to ``min_size``;
report connections held too long.

These reach into SQLAlchemy's QueuePool (its queue and overflow counter): it
has no public way to close one idle connection or to open one into the pool.
Every step holds the queue's own lock while it takes records out, so a
checkout never gets a record that is being closed.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from . import leaks
from .checkout import LAST_USED
from .liveness import EXPIRES, socket_problem

if TYPE_CHECKING:
    from .base import ConnectionPool

logger = logging.getLogger("mysqlpool")


_REASONS = {
    "lifetime_closed": "it reached its lifetime (recycle)",
    "failovers_closed": "it was opened before a failover",
    "dead_closed": "the server closed it",
    "idle_closed": "it was idle longer than max_idle",
}


def tend(pool: ConnectionPool) -> None:
    """One round of housekeeping for ``pool``."""
    if pool.retired or pool.pid != os.getpid():
        return
    if pool.config.leak_warning_after:
        leaks.report(pool, pool.config.leak_warning_after)
    queue = _queue(pool)
    if queue is not None:  # a QueuePool: it keeps idle connections
        close_idle(pool, queue, time.monotonic())
        fill(pool, queue)
    if pool.observer is not None:
        pool.observer.publish(pool)


def _queue(pool: ConnectionPool) -> Any:
    queue = getattr(pool.sa_pool, "_pool", None)
    return queue if hasattr(queue, "mutex") and hasattr(queue, "queue") else None


def close_idle(pool: ConnectionPool, queue: Any, now: float) -> int:
    """Close the idle connections that should go; return how many."""
    config = pool.config
    failed_over_at = getattr(pool.sa_pool, "_invalidate_time", 0)
    leaving: list[tuple[Any, str]] = []
    with queue.mutex:
        idle = [record for record in queue.queue if record.dbapi_connection is not None]
        kept = len(idle) + pool.checked_out()
        idle.sort(key=lambda record: record.info.get(LAST_USED, 0))  # longest idle first
        for record in idle:
            info = record.info
            if socket_problem(pool.driver, record.dbapi_connection, info) is not None:
                leaving.append((record, "dead_closed"))
                kept -= 1
            elif info.get(EXPIRES, float("inf")) <= now:
                leaving.append((record, "lifetime_closed"))
                kept -= 1
            elif record.starttime < failed_over_at:
                leaving.append((record, "failovers_closed"))
                kept -= 1
            elif (config.max_idle is not None and kept > config.min_size
                  and now - info.get(LAST_USED, now) > config.max_idle):
                leaving.append((record, "idle_closed"))
                kept -= 1
        for record, _ in leaving:
            queue.queue.remove(record)
    for record, counter in leaving:
        try:
            record.close()
        except Exception:  # noqa: BLE001 - it is gone either way
            logger.debug("Closing an idle connection of %r failed", pool.alias,
                         exc_info=True)
        finally:
            pool.sa_pool._dec_overflow()  # its slot can open a connection again
        # Closed for their age or idleness is normal churn; closed because the
        # server closed them, or a failover left them behind, they could not be
        # reused: counted as invalidations, as when found at checkout.
        pool.stats.add(counter if counter in ("idle_closed", "lifetime_closed")
                       else "invalidations")
        if counter == "dead_closed":  # a failure, as when found at checkout: INFO
            logger.info("Replacing a connection of %r: %s (found while idle)", pool.alias,
                        _REASONS[counter])
        else:
            logger.debug("Closed an idle connection of %r: %s", pool.alias,
                         _REASONS[counter])
    return len(leaving)


def fill(pool: ConnectionPool, queue: Any) -> int:
    """Open connections until ``min_size`` are open; return how many were opened."""
    missing = pool.config.min_size - len(pool.idle_records()) - pool.checked_out()
    opened = 0
    sa_pool = pool.sa_pool
    while opened < missing:
        with queue.mutex:
            # A slot whose connection was closed first, else a new slot.
            empty = next((r for r in queue.queue if r.dbapi_connection is None), None)
            if empty is not None:
                queue.queue.remove(empty)
        try:
            if empty is not None:
                record = empty
                record.get_connection()  # reconnects the empty slot
            elif sa_pool._inc_overflow():
                try:
                    record = sa_pool._create_connection()
                except BaseException:
                    sa_pool._dec_overflow()
                    raise
            else:
                return opened  # the pool is at its limit
        except Exception as exc:  # noqa: BLE001 - tried again next round
            if empty is not None:
                sa_pool._do_return_conn(empty)
            logger.info("Could not open a connection for %r (min_size=%s): %s",
                        pool.alias, pool.config.min_size, exc)
            return opened
        record.info[LAST_USED] = time.monotonic()
        sa_pool._do_return_conn(record)
        opened += 1
    return opened
