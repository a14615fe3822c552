"""Prometheus in multi-process mode: a two-worker gunicorn, scraped through the
usual MultiProcessCollector view, reports every worker's pools, and the
connections it reports add up to what the server counts for that user."""

from __future__ import annotations

import os
import re
import signal
import sys
import time

import pytest

from tests.support.net import free_port

from .conftest import (
    POOL_SIZE,
    bin_path,
    get,
    get_json,
    project_env,
    record,
    wait_for,
)

pytestmark = pytest.mark.deploy

#: The pools publish their counts on each housekeeping round (every second).
PUBLISHED_WITHIN = 1.5


def scrape(url: str) -> dict[tuple[str, str], float]:
    """{(metric, labels): value} for the mysqlpool_* samples of one scrape."""
    status, body = get(url + "/metrics/")
    assert status == 200, body[-2000:]
    samples = {}
    for line in body.decode().splitlines():
        match = re.match(r"(mysqlpool_\w+)(\{[^}]*\})? ([0-9.e+-]+)$", line)
        if match:
            samples[(match[1], match[2] or "")] = float(match[3])
    return samples


def connections_reported(samples) -> int:
    return int(sum(value for (name, labels), value in samples.items()
                   if name == "mysqlpool_connections" and 'alias="default"' in labels))


def test_multiprocess_metrics_add_up_to_the_servers_count(services, database, tmp_path, wrk):
    pytest.importorskip("prometheus_client", reason="needs prometheus_client")
    directory = tmp_path / "prometheus"
    directory.mkdir()
    port = free_port()
    server = services(
        "gunicorn-prometheus",
        [sys.executable, bin_path("gunicorn"), "deploysite.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "-k", "gthread", "--threads", "16", "-w", "2",
         "-c", "gunicorn_prometheus.py", "--graceful-timeout", "10"],
        project_env(database, DEPLOY_DRIVER="pymysql", DEPLOY_PROMETHEUS="1",
                    PROMETHEUS_MULTIPROC_DIR=str(directory)),
        port=port,
    )
    server.wait_until_serving()
    load = wrk(database, server.url + "/sleep/", seconds=3, connections=64)
    assert load.errors == 0, load.output
    pids = {get_json(server.url + "/whoami/")["pid"] for _ in range(40)}
    assert len(pids) == 2, "both workers served requests"

    def adds_up() -> tuple[int, int] | None:
        on_server = len(database.connection_ids())
        reported = connections_reported(scrape(server.url))
        return (reported, on_server) if reported == on_server else None

    time.sleep(PUBLISHED_WITHIN)  # deliberate: a round has published since the load ended
    reported, on_server = wait_for(adds_up, 10, "reported connections = PROCESSLIST")
    samples = scrape(server.url)
    assert on_server >= 2  # each worker holds at least one
    assert samples[("mysqlpool_max_connections", '{alias="default"}')] == 2 * POOL_SIZE
    assert samples[("mysqlpool_checkouts_total", '{alias="default"}')] >= load.requests
    assert samples[("mysqlpool_timeouts_total", '{alias="default"}')] == 0
    assert samples[("mysqlpool_wait_seconds_count", '{alias="default"}')] >= load.requests

    # A worker that exits is cleaned up: its connections leave the server and
    # the scrape alike, and its replacement reports its own.
    victim = pids.pop()
    os.kill(victim, signal.SIGTERM)
    wait_for(lambda: len(database.connection_ids()) < on_server, 30,
             "the exited worker's connections still on the server")
    time.sleep(PUBLISHED_WITHIN)  # deliberate: a round has published since the exit
    after, on_server_after = wait_for(adds_up, 10,
                                      "reported connections = PROCESSLIST after an exit")
    assert after < reported
    record(f"prometheus multiprocess, gunicorn -w 2: scrape reports {reported} connections, "
           f"PROCESSLIST {on_server}; after a worker exited {after} and {on_server_after}")
