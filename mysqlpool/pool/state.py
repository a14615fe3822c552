"""What a pool holds now and has done: the counts and figures of
:func:`mysqlpool.stats`, the metrics and the log (a part of ConnectionPool)."""

from __future__ import annotations

import threading
from typing import Any, cast

from ..config import PoolConfig
from ..drivers import Driver
from ..metrics.figures import COUNTERS
from .checkout import PooledConnection
from .connecting import Opener
from .gate import FairGate
from .stats import PoolStats


class PoolState:
    """The figures part of ConnectionPool (pool/base.py)."""

    alias: str
    driver: Driver
    config: PoolConfig
    sa_pool: Any
    stats: PoolStats
    opener: Opener
    gate: FairGate | None
    entries: list[PooledConnection]
    _entries_lock: threading.Lock
    _ended_checkouts: int
    _capacity: int | None

    def checked_out(self) -> int:
        """Connections in use now (not parked)."""
        return sum(1 for entry in tuple(self.entries) if not entry.parked)

    def parked(self) -> int:
        """Connections parked now: idle, waiting for their wrapper."""
        return sum(1 for entry in tuple(self.entries) if entry.parked)

    def in_use(self) -> list[PooledConnection]:
        """The connections in use now, safe to call from any thread."""
        return [entry for entry in tuple(self.entries) if not entry.parked]

    def waiting(self) -> int:
        """Checkouts waiting for a connection now."""
        return self.gate.waiting if self.gate is not None else 0

    def idle_records(self) -> list[Any]:
        """The idle connections in SQLAlchemy's pool (QueuePool), parked ones apart."""
        queue = getattr(getattr(self.sa_pool, "_pool", None), "queue", None)
        if queue is None:
            return []
        # A slot whose connection was closed (invalidated) stays in the queue,
        # empty, until the next checkout reconnects it: not an idle connection.
        return [record for record in list(queue) if record.dbapi_connection is not None]

    def describe(self) -> str:
        return (f"{self.checked_out()} checked out, {self.parked()} parked, "
                f"{self.sa_pool.status()}")

    def snapshot(self) -> dict[str, Any]:
        """This pool's settings, state and counters, for :func:`mysqlself.stats`."""
        sa_pool = self.sa_pool
        config = self.config
        stats = self.stats
        # Parked connections are idle: free for anyone, kept near the wrapper
        # that used them last.
        idle = (len(self.idle_records()) + self.parked()) if hasattr(sa_pool, "checkedin") else None
        figures: dict[str, Any] = {
            "alias": self.alias,
            "driver": self.driver.name,
            "pool_class": config.pool_class.__name__,
            "pool_size": config.pool_size,
            "max_overflow": config.max_overflow,
            "min_size": config.min_size,
            "max_idle": config.max_idle,
            "recycle": config.lifetime,
            "checked_out": self.checked_out(),
            "idle": idle,
            # Connections open beyond pool_size (SQLAlchemy's own overflow counts
            # slots whose connection was closed, and unopened ones as negative).
            # (A pool with overflow is a QueuePool, whose pool_size is set.)
            "overflow": (max(0, len(self.entries) + len(self.idle_records())
                             - cast(int, config.pool_size))
                         if hasattr(sa_pool, "overflow") else None),
            "waiting": self.waiting(),
        }
        hosts = self.connections_per_host()
        if hosts is not None:
            figures["hosts"] = hosts
            # Per replica: lag last measured, whether behind, skips for it.
            figures["replication"] = self.opener.replicas.figures()
        with stats.lock:
            figures.update({name: getattr(stats, name) for name in COUNTERS})
            figures["wait_time"] = round(stats.wait_time, 6)
        figures["checkouts"] = self.checkouts()
        return figures

    def metric_figures(self) -> dict[str, Any]:
        """The limits and counts the metrics report besides the connections."""
        return {"max": self._capacity, "min_size": self.config.min_size,
                "waiting": self.waiting(), "timeouts": self.stats.timeouts}

    def connections_per_host(self) -> dict[str, int] | None:
        """Open connections per host, with several hosts in HOST."""
        open_now = [record.dbapi_connection for record in self.idle_records()]
        open_now += [entry.connection for entry in tuple(self.entries)]
        return self.opener.per_host(open_now)

    def checkouts(self) -> int:
        """Checkouts so far (each connection counts its own: no lock per checkout)."""
        with self._entries_lock:
            return self._ended_checkouts + sum(entry.checkouts for entry in self.entries)

