"""OpenTelemetry values before and after the application sets its MeterProvider
(no server): the API drops every value until then, so the pool keeps none."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# In a process of its own: the global MeterProvider can be set once per process.
SCRIPT = """
import json
from types import SimpleNamespace

from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from mysqlpool.metrics.opentelemetry import BATCH, OpenTelemetryObserver

pool = SimpleNamespace(alias="default",
                       metric_attributes={"db.client.connection.pool.name": "default"})
observer = OpenTelemetryObserver.instance()  # on the API's proxy meter
for _ in range(BATCH + 10):
    observer.waited(pool, 0.001)
    observer.used(pool, 0.002)
kept_before = len(observer.pending)

reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
for _ in range(3):
    observer.waited(pool, 0.001)
kept_after = len(observer.pending)
counts = {}
for resource in reader.get_metrics_data().resource_metrics:
    for scope in resource.scope_metrics:
        for metric in scope.metrics:
            if metric.name.endswith(("wait_time", "use_time")):
                counts[metric.name] = sum(point.count for point in metric.data.data_points)
print(json.dumps({"kept_before": kept_before, "kept_after": kept_after, "counts": counts}))
"""


def test_values_count_only_from_when_a_provider_is_set() -> None:
    pytest.importorskip("opentelemetry.sdk.metrics", reason="needs opentelemetry-sdk")
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    # Without a provider nothing is kept (the API would drop it anyway) ...
    assert result["kept_before"] == 0
    # ... and once one is set, each value waits for its batch, and the
    # collection gives it to the SDK: the three values measured since.
    assert result["kept_after"] == 3
    assert result["counts"] == {"db.client.connection.wait_time": 3}
