"""OpenTelemetry's database client connection metrics (semantic conventions):
every pool under ``db.client.connection.pool.name`` = its alias."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry import metrics

from .figures import Measured, current_pools

POOL_NAME = "db.client.connection.pool.name"
STATE = "db.client.connection.state"
#: mysqlpool's own attribute: one host of several in HOST.
HOST = "mysqlpool.host"
# Bucket boundaries (seconds) for the three durations: a checkout takes
# microseconds, a connect a millisecond to seconds, a use up to minutes.
_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60)


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
        meter.create_observable_up_down_counter(
            "db.client.connection.count", [_counts], unit="{connection}",
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
        self.wait_time.record(seconds, pool.metric_attributes)

    def used(self, pool: Measured, seconds: float) -> None:
        self.use_time.record(seconds, pool.metric_attributes)

    def publish(self, pool: Measured) -> None:
        """Nothing: the exporter reads the counts when it collects."""


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
