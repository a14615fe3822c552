"""Prometheus metrics with prometheus_client, multi-process mode included.

In multi-process mode (``PROMETHEUS_MULTIPROC_DIR``, gunicorn with several
workers) each process writes its values to files that the
``MultiProcessCollector`` adds up; custom collectors are not shared that way,
so the counts are *set* on every housekeeping round (at most a second old)
rather than read at scrape time, and the gauges add up the live processes'
values (``livesum``). Counters grow by what the pool counted since the last
round.

A process that exits normally sets its gauges to 0 on the way out (atexit),
so a short one (``manage.py migrate`` before gunicorn starts) does not leave
its connections in the sum. It sets them rather than removing them: in
multi-process mode a value lives in the process's file until that file is
deleted, which prometheus_client does per process (``mark_process_dead``,
other libraries' live gauges included), never per series. After a crash (kill
-9) the figures stay until something calls ``mark_process_dead`` for the pid
(gunicorn's ``child_exit`` hook) or the directory is emptied at deploy.
"""

from __future__ import annotations

import atexit
import logging
import weakref
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from .figures import COUNTERS, Measured, current_pools
from .locks import lock

logger = logging.getLogger("mysqlpool")

#: The lock publishing and the exit hook hold while they set the figures.
_LOCK = "prometheus"
#: Seconds the exit hook waits for a round in progress before it sets the gauges anyway.
EXIT_WAIT = 2.0

_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30)

_DESCRIPTIONS = {
    "connects": "Connections opened",
    "invalidations": "Connections closed because they could not be reused",
    "timeouts": "Checkouts that found no free connection within the pool's timeout",
    "waits": "Checkouts that had to wait for a free connection",
    "checkouts": "Connections handed out",
    "idle_closed": "Connections closed after max_idle seconds idle",
    "lifetime_closed": "Connections closed at the end of their lifetime (recycle)",
    "behind_closed": "Connections closed because their replica lagged past max_replication_lag",
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
        # Per host, with several in HOST: connections, and per replica its
        # lag (the largest of the processes') and the new connections that
        # skipped it for lagging.
        self.host_connections = Gauge(
            "mysqlpool_host_connections", "Open connections to each host of HOST",
            ["alias", "host"], multiprocess_mode="livesum")
        self.replication_lag = Gauge(
            "mysqlpool_replication_lag_seconds",
            "A replica's lag as last measured (NaN: unknown, a replication thread stopped)",
            ["alias", "host"], multiprocess_mode="livemax")
        self.behind_skips = Counter(
            "mysqlpool_behind_skips",
            "New connections that skipped a replica lagging past max_replication_lag",
            ["alias", "host"])
        self.counters = {
            name: Counter(f"mysqlpool_{name}", _DESCRIPTIONS[name], ["alias"])
            for name in COUNTERS
        }
        self._wait_children: dict[str, Any] = {}
        self._published: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        #: The aliases whose gauges this process has set, to zero at exit.
        self._aliases: set[str] = set()
        self._exited = False
        atexit.register(self.withdraw)

    def connected(self, pool: Measured, seconds: float) -> None:
        pass

    def waited(self, pool: Measured, seconds: float) -> None:
        # Once per checkout: the alias's child kept, not looked up by
        # labels() each time (which takes the metric's lock).
        child = self._wait_children.get(pool.alias)
        if child is None:
            child = self._wait_children[pool.alias] = self.wait.labels(pool.alias)
        child.observe(seconds)

    def used(self, pool: Measured, seconds: float) -> None:
        pass

    def publish(self, pool: Measured) -> None:
        """Set this process's figures for the pool's alias (0 once it is gone)."""
        alias = pool.alias
        current = next((other for other in current_pools() if other.alias == alias), None)
        with lock(_LOCK):
            if self._exited:
                return  # a daemon thread's late round: the gauges stay at 0
            self._aliases.add(alias)
            if pool.retired:
                if current is None or current.retired:
                    self._zero_gauges(alias)
            else:
                figures = pool.snapshot()
                self.connections.labels(alias, "idle").set(figures["idle"] or 0)
                self.connections.labels(alias, "used").set(figures["checked_out"] or 0)
                self.max_connections.labels(alias).set(pool.metric_figures()["max"] or 0)
                self.pending.labels(alias).set(figures["waiting"])
                for host, count in (figures.get("hosts") or {}).items():
                    self.host_connections.labels(alias, host).set(count)
                for host, replica in (figures.get("replication") or {}).items():
                    lag = replica["lag"]
                    self.replication_lag.labels(alias, host).set(
                        float("nan") if lag is None else lag)
            last = self._published.get(pool, {})
            figures = pool.snapshot()
            for name, counter in self.counters.items():
                child = counter.labels(alias)  # shown from the start, at 0
                delta = figures[name] - last.get(name, 0)
                if delta > 0:
                    child.inc(delta)
            published = {name: figures[name] for name in self.counters}
            for host, replica in (figures.get("replication") or {}).items():
                key = f"skips {host}"
                delta = replica["skipped_behind"] - last.get(key, 0)
                if delta > 0:
                    self.behind_skips.labels(alias, host).inc(delta)
                published[key] = replica["skipped_behind"]
            self._published[pool] = published

    def withdraw(self) -> None:
        """At exit: this process's gauges to 0 for every alias it published, as
        its connections close with it. Later rounds leave them so."""
        guard = lock(_LOCK)
        # Bounded: a thread stuck while holding the lock must not hang the exit.
        acquired = guard.acquire(timeout=EXIT_WAIT)
        try:
            self._exited = True
            for alias in sorted(self._aliases):
                self._zero_gauges(alias)
        except Exception:  # noqa: BLE001 - metrics never make an exit noisy
            logger.debug("Setting the Prometheus gauges to 0 at exit failed", exc_info=True)
        finally:
            if acquired:
                guard.release()

    def _zero_gauges(self, alias: str) -> None:
        for state in ("idle", "used"):
            self.connections.labels(alias, state).set(0)
        self.max_connections.labels(alias).set(0)
        self.pending.labels(alias).set(0)
