"""OpenTelemetry's database client connection metrics (semantic conventions):
every pool under ``db.client.connection.pool.name`` = its alias.

The SDK spends several microseconds on each histogram value (attribute
checks, a sorted key, the exemplar filter, a lock), and each use of a
connection makes two (its wait and its use). Outside a trace, those values
are kept in a queue and given to the SDK in batches: when the queue is full,
and before every collection (which runs the observable instruments'
callbacks before it reads the histograms), so each export holds every value,
as if recorded one by one. In a batch, the SDK's code and data stay in the
CPU's caches; one value at a time, between two requests' Django code, they
do not, and each value costs more. The request that fills a batch pays for
all of it (about 2 ms for 256 values). Inside a trace (a span in the
context), a value is recorded at once, so that its exemplar names the right
span.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics

from .figures import Measured, current_pools

POOL_NAME = "db.client.connection.pool.name"
STATE = "db.client.connection.state"
#: mysqlpool's own attribute: one host of several in HOST.
HOST = "mysqlpool.host"
# Bucket boundaries (seconds) for the three durations: a checkout takes
# microseconds, a connect a millisecond to seconds, a use up to minutes.
_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60)
#: Values kept before they go to the SDK in one batch (a few kilobytes).
BATCH = 256


class OpenTelemetryObserver:
    """The instruments, made once per process on the API's (proxy) meter."""

    _instance: OpenTelemetryObserver | None = None

    @classmethod
    def instance(cls) -> OpenTelemetryObserver:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def __init__(self) -> None:
        # The API's meter follows the provider the application sets, even
        # after this: measurements go nowhere (cheaply) until then.
        meter = metrics.get_meter("mysqlpool")
        #: (histogram, value, attributes) not yet given to the SDK. A deque:
        #: append() and popleft() need no lock between threads.
        self.pending: deque[tuple[Any, float, Any]] = deque()
        self.create_time = meter.create_histogram(
            "db.client.connection.create_time", unit="s",
            description="The time it took to create a new connection",
            explicit_bucket_boundaries_advisory=_BUCKETS)
        self.wait_time = meter.create_histogram(
            "db.client.connection.wait_time", unit="s",
            description="The time it took to obtain an open connection from the pool",
            explicit_bucket_boundaries_advisory=_BUCKETS)
        self.use_time = meter.create_histogram(
            "db.client.connection.use_time", unit="s",
            description="The time between borrowing a connection and returning it to the pool",
            explicit_bucket_boundaries_advisory=_BUCKETS)
        #: The API's proxy histogram while the meter is a proxy (no
        #: MeterProvider set when it was made): its real instrument stays
        #: None until the application sets one.
        self._proxy = self.wait_time if hasattr(self.wait_time, "_real_instrument") else None
        # A collection runs the callbacks before it reads the histograms:
        # this one gives the SDK the values kept so far.
        meter.create_observable_up_down_counter(
            "db.client.connection.count", [self._flush_then_count], unit="{connection}",
            description="The number of connections that are currently in state described "
            "by the state attribute")
        meter.create_observable_up_down_counter(
            "db.client.connection.max", [_figure("max")], unit="{connection}",
            description="The maximum number of open connections allowed")
        meter.create_observable_up_down_counter(
            "db.client.connection.idle.min", [_figure("min_size")], unit="{connection}",
            description="The minimum number of idle open connections allowed")
        meter.create_observable_up_down_counter(
            "db.client.connection.pending_requests", [_figure("waiting")],
            unit="{request}",
            description="The number of current pending requests for an open connection")
        meter.create_observable_counter(
            "db.client.connection.timeouts", [_figure("timeouts")], unit="{timeout}",
            description="The number of connection timeouts that have occurred trying to "
            "obtain a connection from the pool")
        # With several hosts in HOST (no semantic convention covers these).
        meter.create_observable_up_down_counter(
            "mysqlpool.host.connection.count", [_per_host("hosts", None)],
            unit="{connection}", description="Open connections to each host of HOST")
        meter.create_observable_gauge(
            "mysqlpool.replication.lag", [_per_host("replication", "lag")], unit="s",
            description="A replica's lag as last measured (none while unknown)")
        meter.create_observable_counter(
            "mysqlpool.replication.behind_skips", [_per_host("replication", "skipped_behind")],
            unit="{connection}",
            description="New connections that skipped a replica lagging past "
            "max_replication_lag")

    def connected(self, pool: Measured, seconds: float) -> None:
        self.create_time.record(seconds, pool.metric_attributes)

    def waited(self, pool: Measured, seconds: float) -> None:
        self._record(self.wait_time, seconds, pool.metric_attributes)

    def used(self, pool: Measured, seconds: float) -> None:
        self._record(self.use_time, seconds, pool.metric_attributes)

    def publish(self, pool: Measured) -> None:
        """Nothing: the exporter reads the counts when it collects."""

    def _record(self, histogram: Any, seconds: float, attributes: Any) -> None:
        proxy = self._proxy
        if proxy is not None and proxy._real_instrument is None:
            # No MeterProvider yet: the API drops every value (nothing to keep).
            return
        if otel_context.get_current():
            # A span (or baggage) in the context: at once, for the exemplar.
            histogram.record(seconds, attributes)
            return
        pending = self.pending
        pending.append((histogram, seconds, attributes))
        if len(pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Give the SDK the values kept so far."""
        pending = self.pending
        if not pending:
            return
        if self._proxy is not None and self._proxy._real_instrument is None:
            # No MeterProvider set yet: the API's proxy instruments would drop
            # every value (the API has no public way to tell).
            pending.clear()
            return
        # The values were measured outside any trace: recorded so, whatever
        # the context of the thread that happens to flush them.
        token = otel_context.attach(otel_context.Context())
        try:
            while True:
                try:
                    histogram, seconds, attributes = pending.popleft()
                except IndexError:
                    return
                histogram.record(seconds, attributes)
        finally:
            otel_context.detach(token)

    def _flush_then_count(self, options: Any) -> Iterable[metrics.Observation]:
        self.flush()
        return _counts(options)

    def forget_parents_values(self) -> None:
        """In a forked child: the values kept are the parent's to report."""
        self.pending.clear()


def _counts(options: Any) -> Iterable[metrics.Observation]:
    for pool in current_pools():
        figures = pool.snapshot()
        for state, key in (("idle", "idle"), ("used", "checked_out")):
            yield metrics.Observation(figures[key] or 0,
                                      {POOL_NAME: pool.alias, STATE: state})


def _per_host(key: str, field: str | None):
    def observe(options: Any) -> Iterable[metrics.Observation]:
        for pool in current_pools():
            for host, value in (pool.snapshot().get(key) or {}).items():
                if field is not None:
                    value = value[field]
                if value is not None:
                    yield metrics.Observation(value, {POOL_NAME: pool.alias, HOST: host})

    return observe


def _figure(name: str):
    def observe(options: Any) -> Iterable[metrics.Observation]:
        for pool in current_pools():
            value = pool.metric_figures()[name]
            if value is not None:
                yield metrics.Observation(value, {POOL_NAME: pool.alias})

    return observe


def _after_fork_in_child() -> None:
    if OpenTelemetryObserver._instance is not None:
        OpenTelemetryObserver._instance.forget_parents_values()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
