"""Microseconds per request that the pool spends reporting metrics: what a
checkout and its return hand to the exporters (the time waited for the
connection, the time it was held), per way of exporting them.

    python -m benchmarks.metrics

Run it from the repository root; no server is needed. Each way runs in a
process of its own, as an application would (prometheus_client picks its
multi-process mode at import). The request benchmark (``benchmarks.bench
--cases mysqlpool,mysqlpool-otel,mysqlpool-prometheus``) shows the same costs
in req/s, where a machine's noise can hide them.
"""

from __future__ import annotations

import json
import os
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


def measure(way: str) -> float:
    """Best-of-five microseconds per request: the pool's own calls, as in
    ConnectionPool.checkout and PooledConnection.release."""
    observer = observer_for(way)
    pool = types.SimpleNamespace(
        alias="default", metric_attributes={"db.client.connection.pool.name": "default"})
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(REQUESTS):
            if observer is not None:
                observer.waited(pool, 0.00002)
            if observer is not None:
                observer.used(pool, 0.0004)
        best = min(best, (time.perf_counter() - start) / REQUESTS)
    return best * 1e6


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--way":
        print(json.dumps(measure(sys.argv[2])))
        return
    print(f"{'way':<25} {'µs/request':>10}  what")
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
            print(f"{way:<25} {'—':>10}  {what} (not measured: {done.stderr.strip()[-200:]})")
            continue
        print(f"{way:<25} {json.loads(done.stdout):10.2f}  {what}")


if __name__ == "__main__":
    main()
