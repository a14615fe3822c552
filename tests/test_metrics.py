"""Pool metrics, read back as an exporter would: OpenTelemetry through the SDK's
in-memory reader, Prometheus from prometheus_client's registry."""

from __future__ import annotations

import os

import pytest
from django.conf import settings as django_settings
from django.db import connections

import mysqlpool
from tests.aliases import temporary_alias
from tests.conftest import connection_id, wait_for
from tests.support.holding import held
from tests.support.threads import run_threads
from tests.users import OTHER

pytestmark = pytest.mark.usefixtures("database_access")


def entry(**pool) -> dict:
    return django_settings.SERVER.django(USER=OTHER.user, PASSWORD=OTHER.password,
                                         OPTIONS={"pool": pool})


# ----- OpenTelemetry ----------------------------------------------------------------


@pytest.fixture(scope="module")
def otel_reader():
    pytest.importorskip("opentelemetry.sdk.metrics", reason="needs opentelemetry-sdk")
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    # Set after pools (and so mysqlpool's instruments) may already exist in
    # this process: they follow the provider whenever the application sets it.
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    if not isinstance(metrics.get_meter_provider(), MeterProvider):
        pytest.skip("another MeterProvider was set in this process")
    return reader


def otel_points(reader, alias: str) -> dict[str, list]:
    """{metric name: [(attributes, point), ...]} for one pool."""
    found: dict[str, list] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    if point.attributes.get("db.client.connection.pool.name") == alias:
                        found.setdefault(metric.name, []).append(
                            (dict(point.attributes), point))
    return found


def value(points: dict, name: str, **attributes) -> float:
    for point_attributes, point in points[name]:
        if all(point_attributes.get(f"db.client.connection.{k}") == v
               for k, v in attributes.items()):
            return point.value
    raise AssertionError(f"no {name} point with {attributes}")


def test_opentelemetry_connection_metrics(otel_reader):
    with temporary_alias("otel", **entry(pool_size=3, max_overflow=1, min_size=1,
                                         timeout=0.3)):
        for _ in range(5):
            connection_id("otel")
            connections["otel"].close()
        with held("otel", 2):
            points = otel_points(otel_reader, "otel")
            stats = mysqlpool.stats()["otel"]
            assert value(points, "db.client.connection.count", state="used") == 2
            assert value(points, "db.client.connection.count", state="idle") == stats["idle"]
            assert value(points, "db.client.connection.max") == 4
            assert value(points, "db.client.connection.idle.min") == 1
            assert value(points, "db.client.connection.pending_requests") == 0
        # Exhaust the pool (4 slots) and time out once.
        with held("otel", 4):

            def wait_in_line() -> None:
                with pytest.raises(mysqlpool.PoolTimeout):
                    connection_id("otel")

            def pending_while_waiting() -> float:
                wait_for(lambda: mysqlpool.stats()["otel"]["waiting"] == 1, 5,
                         "the checkout never waited")
                return value(otel_points(otel_reader, "otel"),
                             "db.client.connection.pending_requests")

            _, pending = run_threads([wait_in_line, pending_while_waiting])
            assert pending == 1
            points = otel_points(otel_reader, "otel")
            assert value(points, "db.client.connection.timeouts") == 1
            assert value(points, "db.client.connection.count", state="used") == 4
        connections["otel"].close()
        stats = mysqlpool.stats()["otel"]
        points = otel_points(otel_reader, "otel")
        (_, created), = points["db.client.connection.create_time"]
        (_, waited), = points["db.client.connection.wait_time"]
        (_, used), = points["db.client.connection.use_time"]
        assert created.count == stats["connects"] and created.sum > 0
        assert waited.count == stats["checkouts"]
        assert used.count == stats["checkouts"]


def wait_time_point(reader, alias: str):
    (_, point), = otel_points(reader, alias)["db.client.connection.wait_time"]
    return point


def sampled_span(trace_id: int):
    from opentelemetry import trace

    return trace.use_span(trace.NonRecordingSpan(trace.SpanContext(
        trace_id=trace_id, span_id=7, is_remote=False,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED))))


def test_opentelemetry_values_kept_for_a_batch_are_all_in_the_next_collection(otel_reader):
    from mysqlpool.metrics.opentelemetry import BATCH, OpenTelemetryObserver

    pending = OpenTelemetryObserver.instance().pending
    with temporary_alias("otel_batch", **entry(pool_size=1, max_overflow=0)):
        # Fewer uses than a batch: still kept when the reader collects.
        for _ in range(3):
            connection_id("otel_batch")
            connections["otel_batch"].close()
        assert len(pending) >= 6, "the values were not kept for a batch"
        assert wait_time_point(otel_reader, "otel_batch").count == 3
        assert not pending
        # More than a batch: the one that fills it gives them to the SDK.
        for _ in range(BATCH):
            connection_id("otel_batch")
            connections["otel_batch"].close()
        assert len(pending) < BATCH
        point = wait_time_point(otel_reader, "otel_batch")
        assert point.count == 3 + BATCH == mysqlpool.stats()["otel_batch"]["checkouts"]


@pytest.mark.parametrize("flushed_in_span", [False, True])
def test_opentelemetry_exemplars_point_to_the_span_a_value_was_measured_in(
        otel_reader, flushed_in_span):
    """Recorded at once inside a span (its exemplar names the span); kept and
    flushed later outside one, never with the span of whoever flushes them."""
    alias = f"otel_exemplar_{int(flushed_in_span)}"
    traced = 0x1234567890ABCDEF1234567890ABCDEF
    with temporary_alias(alias, **entry(pool_size=1, max_overflow=0)):
        connection_id(alias)
        connections[alias].close()  # outside any span: kept
        with sampled_span(traced):
            connection_id(alias)
            connections[alias].close()  # inside: recorded at once
            if flushed_in_span:
                from mysqlpool.metrics.opentelemetry import OpenTelemetryObserver

                OpenTelemetryObserver.instance().flush()
        point = wait_time_point(otel_reader, alias)
        assert point.count == 2
        exemplars = getattr(point, "exemplars", None)
        if exemplars is None:
            pytest.skip("this opentelemetry-sdk keeps no exemplars")
        assert [e.trace_id for e in exemplars if e.trace_id] == [traced]


def test_opentelemetry_values_kept_by_the_parent_are_not_reported_by_a_forked_child(
        otel_reader):
    from mysqlpool.metrics.opentelemetry import OpenTelemetryObserver

    pending = OpenTelemetryObserver.instance().pending
    with temporary_alias("otel_fork", **entry(pool_size=1, max_overflow=0)):
        connection_id("otel_fork")
        connections["otel_fork"].close()
        assert pending
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through the pipe
            os.write(write, str(len(pending)).encode())
            os._exit(0)
        os.close(write)
        try:
            assert os.read(read, 32) == b"0"
        finally:
            os.close(read)
            os.waitpid(child, 0)
        assert pending, "the parent's values are the parent's to report"
        assert wait_time_point(otel_reader, "otel_fork").count == 1


# ----- Prometheus (one process; multi-process mode in tests/deploy) -----------------


def prometheus_samples(alias: str) -> dict[tuple, float]:
    from prometheus_client import REGISTRY

    samples = {}
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.labels.get("alias") == alias:
                key = (sample.name, sample.labels.get("state"))
                samples[key] = sample.value
    return samples


def published(key: tuple, expected: float) -> dict[tuple, float] | None:
    """The alias "prom"'s samples once ``key`` shows ``expected``, else None."""
    samples = prometheus_samples("prom")
    return samples if samples.get(key) == expected else None


def test_prometheus_metrics(settings):
    pytest.importorskip("prometheus_client", reason="needs prometheus_client")
    settings.MYSQLPOOL_PROMETHEUS = True
    with temporary_alias("prom", **entry(pool_size=2, max_overflow=0, timeout=0.2)):
        for _ in range(3):
            connection_id("prom")
            connections["prom"].close()
        with held("prom", 2):
            with pytest.raises(mysqlpool.PoolTimeout):
                connection_id("prom")
            # A housekeeping round publishes the counts (every second at most).
            samples = wait_for(lambda: published(("mysqlpool_timeouts_total", None), 1), 10,
                               "no housekeeping round published the timeout")
        connections["prom"].close()
        stats = mysqlpool.stats()["prom"]
    assert samples[("mysqlpool_connections", "used")] == 2
    assert samples[("mysqlpool_connections", "idle")] == 0
    assert samples[("mysqlpool_max_connections", None)] == 2
    assert samples[("mysqlpool_timeouts_total", None)] == 1
    assert samples[("mysqlpool_connects_total", None)] == stats["connects"]
    assert samples[("mysqlpool_checkouts_total", None)] == 5
    assert samples[("mysqlpool_wait_seconds_count", None)] == 5
    # Gone with its pool: this process reports no connection for the alias.
    after = wait_for(lambda: published(("mysqlpool_max_connections", None), 0), 10,
                     "the alias's figures stayed after its pool was closed")
    assert after[("mysqlpool_connections", "used")] == 0


def test_metrics_settings_are_checked(settings):
    from django.core.exceptions import ImproperlyConfigured

    from mysqlpool import metrics

    settings.MYSQLPOOL_PROMETHEUS = "yes"
    with pytest.raises(ImproperlyConfigured, match="MYSQLPOOL_PROMETHEUS = 'yes': must be"):
        metrics.observer()
    settings.MYSQLPOOL_PROMETHEUS = False
    settings.MYSQLPOOL_OPENTELEMETRY = 1
    with pytest.raises(ImproperlyConfigured, match="MYSQLPOOL_OPENTELEMETRY = 1: must be"):
        metrics.observer()
    settings.MYSQLPOOL_OPENTELEMETRY = False
    assert metrics.observer() is None
