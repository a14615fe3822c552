"""Prometheus metrics with prometheus_client, multi-process mode included.

In multi-process mode (``PROMETHEUS_MULTIPROC_DIR``, gunicorn with several
workers) each process writes its values to files that the
``MultiProcessCollector`` adds up; custom collectors are not shared that way,
so the counts are *set* on every housekeeping round (at most a second old)
rather than read at scrape time, and the gauges add up the live processes'
values (``livesum``). Counters grow by what the pool counted since the last
round.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

from ..pool.stats import COUNTERS
from .locks import lock

if TYPE_CHECKING:
    from ..pool.base import ConnectionPool

#: The lock publishing holds while it sets the figures.
_LOCK = "prometheus"

_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30)

_DESCRIPTIONS = {
    "connects": "Connections opened",
    "invalidations": "Connections closed because they could not be reused",
    "timeouts": "Checkouts that found no free connection within the pool's timeout",
    "waits": "Checkouts that had to wait for a free connection",
    "checkouts": "Connections handed out",
    "idle_closed": "Connections closed after max_idle seconds idle",
    "lifetime_closed": "Connections closed at the end of their lifetime (recycle)",
    "ping_timeouts": "Liveness pings that got no answer within ping_timeout",
    "failovers": "Read-only or not-ready server errors that replaced every connection",
    "password_retries": "Logins tried again with a fresh password from password_provider",
}


class PrometheusObserver:
    """The metrics, registered once per process in prometheus_client's registry."""

    _instance: PrometheusObserver | None = None

    @classmethod
    def instance(cls) -> PrometheusObserver:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def __init__(self) -> None:
        self.connections = Gauge(
            "mysqlpool_connections", "Open connections, by state (idle or used)",
            ["alias", "state"], multiprocess_mode="livesum")
        self.max_connections = Gauge(
            "mysqlpool_max_connections",
            "The most connections the pools may hold (pool_size + max_overflow)",
            ["alias"], multiprocess_mode="livesum")
        self.pending = Gauge(
            "mysqlpool_pending_requests", "Checkouts waiting for a free connection",
            ["alias"], multiprocess_mode="livesum")
        self.wait = Histogram(
            "mysqlpool_wait_seconds", "Time to get a connection from the pool, waiting included",
            ["alias"], buckets=_BUCKETS)
        self.counters = {
            name: Counter(f"mysqlpool_{name}", _DESCRIPTIONS[name], ["alias"])
            for name in COUNTERS
        }
        self._published: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def connected(self, pool: ConnectionPool, seconds: float) -> None:
        pass

    def waited(self, pool: ConnectionPool, seconds: float) -> None:
        self.wait.labels(pool.alias).observe(seconds)

    def used(self, pool: ConnectionPool, seconds: float) -> None:
        pass

    def publish(self, pool: ConnectionPool) -> None:
        """Set this process's figures for the pool's alias (0 once it is gone)."""
        from ..pool.registry import pool_for

        alias = pool.alias
        current = pool_for(alias)
        with lock(_LOCK):
            if pool.retired:
                if current is None or current.retired:
                    for state in ("idle", "used"):
                        self.connections.labels(alias, state).set(0)
                    self.max_connections.labels(alias).set(0)
                    self.pending.labels(alias).set(0)
            else:
                figures = pool.snapshot()
                self.connections.labels(alias, "idle").set(figures["idle"] or 0)
                self.connections.labels(alias, "used").set(figures["checked_out"] or 0)
                self.max_connections.labels(alias).set(pool.metric_figures()["max"] or 0)
                self.pending.labels(alias).set(figures["waiting"])
            last = self._published.get(pool, {})
            figures = pool.snapshot()
            for name, counter in self.counters.items():
                child = counter.labels(alias)  # shown from the start, at 0
                delta = figures[name] - last.get(name, 0)
                if delta > 0:
                    child.inc(delta)
            self._published[pool] = {name: figures[name] for name in self.counters}
