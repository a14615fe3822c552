"""Microseconds per request that the pool spends reporting metrics: what a
checkout and its return hand to the exporters (the time waited for the
connection, the time it was held), per way of exporting them.

    python -m benchmarks.metrics

Run it from the repository root; no server is needed. Each way runs in a
process of its own, as an application would (prometheus_client picks its
multi-process mode at import). Two figures per way: the calls alone, in a
tight loop (the exporter's code and data stay in the CPU's caches and its
branch predictors), and the calls between other code, as in a request, where
they do not: Django's ORM builds the benchmark's query and its SQL (on SQLite
in memory) before each request's calls, and the figure is the median, over
blocks of 512 requests, of the time of work and calls less that of the same
work just before without them. The request benchmark (``benchmarks.bench
--cases mysqlpool,mysqlpool-otel,mysqlpool-prometheus``) shows the same costs
in req/s, where a machine's noise can hide them.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WAYS = {
    "off": "MYSQLPOOL_OPENTELEMETRY = False, MYSQLPOOL_PROMETHEUS = False: no observer",
    "otel-api": "opentelemetry-api installed, no MeterProvider set (the default)",
    "otel-sdk": "OpenTelemetry SDK MeterProvider with a reader",
    "prometheus": "MYSQLPOOL_PROMETHEUS = True, one process",
    "prometheus-multiprocess": "MYSQLPOOL_PROMETHEUS = True, PROMETHEUS_MULTIPROC_DIR set",
}
REQUESTS = 100_000
#: Blocks of requests, and requests per block, of the measurement between
#: other code.
BETWEEN_BLOCKS = 60
BLOCK = 512


def observer_for(way: str):
    if way == "off":
        return None
    if way.startswith("otel"):
        if way == "otel-sdk":
            from opentelemetry import metrics
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import InMemoryMetricReader

            metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
        from mysqlpool.metrics.opentelemetry import OpenTelemetryObserver

        return OpenTelemetryObserver.instance()
    from mysqlpool.metrics.prometheus import PrometheusObserver

    return PrometheusObserver.instance()


def django_query():
    """Django's ORM building the benchmark's query (a row by primary key) and
    its SQL, on SQLite in memory: a request's kind of code, no server."""
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        INSTALLED_APPS=["benchmarks"], USE_TZ=True)
    django.setup()
    from benchmarks.models import Row

    def other_code() -> None:
        Row.objects.filter(pk=1).query.sql_with_params()

    return other_code


def measure(way: str) -> tuple[float, float]:
    """Microseconds per request, alone (best of five) and between other code
    (medians): the pool's own calls, as in ConnectionPool.checkout and
    PooledConnection.release."""
    observer = observer_for(way)
    pool = types.SimpleNamespace(
        alias="default", metric_attributes={"db.client.connection.pool.name": "default"})

    def report() -> None:
        if observer is not None:
            observer.waited(pool, 0.00002)
        if observer is not None:
            observer.used(pool, 0.0004)

    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(REQUESTS):
            report()
        best = min(best, (time.perf_counter() - start) / REQUESTS)

    other_code = django_query()

    # Blocks of requests, each timed twice in a row, without and with the
    # calls: neighbours see the same machine, and the median of the
    # differences leaves out the blocks an interrupt or another process
    # slowed. A block is long enough to hold whatever an exporter does only
    # now and then (OpenTelemetry's batches).
    clock = time.perf_counter
    differences = []
    for _ in range(BETWEEN_BLOCKS):
        start = clock()
        for _ in range(BLOCK):
            other_code()
        middle = clock()
        for _ in range(BLOCK):
            other_code()
            report()
        differences.append(((clock() - middle) - (middle - start)) / BLOCK)
    between = statistics.median(differences)
    return best * 1e6, between * 1e6


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--way":
        print(json.dumps(measure(sys.argv[2])))
        return
    print(f"{'way':<25} {'µs alone':>10} {'µs between':>11}  what")
    for way, what in WAYS.items():
        env = dict(os.environ)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        with tempfile.TemporaryDirectory() as directory:
            if way == "prometheus-multiprocess":
                env["PROMETHEUS_MULTIPROC_DIR"] = directory
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.metrics", "--way", way], cwd=ROOT,
                env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{way:<25} {'—':>10} {'—':>11}  {what} (not measured: "
                  f"{done.stderr.strip()[-200:]})")
            continue
        alone, between = json.loads(done.stdout)
        print(f"{way:<25} {alone:10.2f} {between:11.2f}  {what}")


if __name__ == "__main__":
    main()
