"""Housekeeping's measure of the replicas' lag (``max_replication_lag``): once
a second at most per replica, on one of the idle connections the pool holds
to it, parked or in SQLAlchemy's queue; a replica without idle connections
needs none (each new connection is checked as it opens). What is found goes
to the pool's ReplicaWatch (replication.py); the idle connections of a
replica found behind are then closed with the rest of the round
(maintenance.close_idle), and a connection of it in use when it is returned
and next checked out (base.ConnectionPool._problem).

An idle connection is taken as the rest of housekeeping takes one: a parked
one by its claim, one in the queue under the queue's lock with a slot of the
pool's gate, both only when free: a request never waits for a measure.
"""

from __future__ import annotations

import logging
from typing import Any

from .slot import slot_of

logger = logging.getLogger("mysqlpool")


def measure(pool: Any, queue: Any) -> None:
    """Measure the lag of each replica that is due, on an idle connection of it."""
    due = pool.opener.replicas.due()
    if not due:
        return
    for entry in tuple(pool.entries):
        host = entry.slot.host
        if host not in due or not entry.parked or not entry.claimed():
            continue
        if entry.fairy is None:
            continue  # gone meanwhile
        due.discard(host)
        try:
            _measure(pool, entry.connection, host)
        except Exception as exc:  # noqa: BLE001 - the connection is not reused
            pool.end(entry, failure=f"measuring its replica's lag failed: {exc}")
        else:
            pool.repark(entry)
    for host in due:
        _measure_queued(pool, queue, host)


def _measure_queued(pool: Any, queue: Any, host: str) -> None:
    with queue.mutex:
        record = next((record for record in queue.queue
                       if record.dbapi_connection is not None
                       and slot_of(record).host == host), None)
        if record is None or not pool.try_take_slot():
            return
        queue.queue.remove(record)
    try:
        _measure(pool, record.dbapi_connection, host)
    except Exception:  # noqa: BLE001 - closed: not known to be usable
        logger.debug("Measuring the lag of %s for %r failed", host, pool.alias, exc_info=True)
        try:
            record.close()
        finally:
            pool.sa_pool._dec_overflow()
            pool.slot_freed()
        pool.stats.add("invalidations")
        return
    pool.sa_pool._do_return_conn(record)
    pool.slot_freed()


def _measure(pool: Any, connection: Any, host: str) -> None:
    behind = pool.opener.measure(connection)
    if behind is not None:
        logger.info("Database alias %r: replica %s is behind (%s); its idle connections "
                    "are closed and new ones go elsewhere until it catches up",
                    pool.alias, host, behind)
