"""The counters one pool keeps, and its figures for :func:`mysqlpool.stats`."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import ConnectionPool

COUNTERS = (
    "connects", "invalidations", "timeouts", "waits", "checkouts", "idle_closed",
    "lifetime_closed", "ping_timeouts", "failovers", "password_retries",
)


class PoolStats:
    """Counters kept by one pool (updated under its lock)."""

    __slots__ = (*COUNTERS, "wait_time", "lock")

    def __init__(self) -> None:
        for name in COUNTERS:
            setattr(self, name, 0)
        self.wait_time = 0.0
        self.lock = threading.Lock()

    def add(self, name: str, amount: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + amount)


def snapshot(pool: ConnectionPool) -> dict[str, Any]:
    """One pool's settings, state and counters."""
    sa_pool = pool.sa_pool
    config = pool.config
    stats = pool.stats
    # Parked connections are idle: free for anyone, kept near the wrapper
    # that used them last.
    idle = (len(pool.idle_records()) + pool.parked()) if hasattr(sa_pool, "checkedin") else None
    figures = {
        "alias": pool.alias,
        "driver": pool.driver.name,
        "pool_class": config.pool_class.__name__,
        "pool_size": config.pool_size,
        "max_overflow": config.max_overflow,
        "min_size": config.min_size,
        "max_idle": config.max_idle,
        "recycle": config.lifetime,
        "checked_out": pool.checked_out(),
        "idle": idle,
        # Connections open beyond pool_size (SQLAlchemy's own overflow counts
        # slots whose connection was closed, and unopened ones as negative).
        "overflow": (max(0, len(pool.entries) + len(pool.idle_records()) - config.pool_size)
                     if hasattr(sa_pool, "overflow") else None),
        "waiting": pool.waiting(),
    }
    hosts = pool.connections_per_host()
    if hosts is not None:
        figures["hosts"] = hosts
    with stats.lock:
        figures.update({name: getattr(stats, name) for name in COUNTERS})
        figures["wait_time"] = round(stats.wait_time, 6)
    figures["checkouts"] = pool.checkouts()
    return figures
