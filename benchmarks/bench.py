"""Requests per second of Django on MySQL/MariaDB: stock, pooled by
django-db-connection-pool, and pooled by mysqlpool, side by side in one run.

    python -m benchmarks.bench --quick     # see it work: about a minute
    python -m benchmarks.bench             # the full run: about fifteen minutes
    python -m benchmarks.bench --profile   # where one request's time goes (cProfile)

Run it from the repository root. For each driver (mysqlclient, PyMySQL,
mysql-connector-python) it measures these cases, each in its own process
(``pymysql.install_as_MySQLdb()`` is process-wide):

- ``stock-0``: Django's own backend with ``CONN_MAX_AGE=0`` (a connection per
  request); for mysql-connector, its own backend ``mysql.connector.django``;
- ``never-closed``: the same with ``CONN_MAX_AGE=None``, the upper limit;
- ``dbcp``: django-db-connection-pool, where it supports the driver;
- ``mysqlpool``: this project.

With ``--drivers postgresql`` (see benchmarks/postgres.py) the same request
runs on PostgreSQL too, stock and in Django's own pool (``django-pool``), so
that mysqlpool's ratio to never-closed connections can be set beside that
pool's to its own.

A request is what Django's handler does around a view: ``request_started``,
one ORM query (a row by primary key), ``request_finished``. Each case runs at
1, 8 and 64 threads; the pooled cases with ``pool_size=10, max_overflow=0``.
Peak server connections are sampled from ``information_schema.PROCESSLIST``
for the benchmark's own database user, from this (parent) process.

The results go to the screen and, as JSON, to ``--output`` (default
``benchmark-results/bench-<time>.json``). The exit status is non-zero only
when a case failed to run or a request through mysqlpool failed; requests
failing in the other cases, and goals not reached, are reported.
Each case's figures come from its best of several rounds (full mode).
Absolute figures depend on the machine; compare the ratios, which come from
the same run.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlparse

from benchmarks import postgres

DRIVERS = ("mysqlclient", "pymysql", "mysql-connector")
#: DRIVERS, and PostgreSQL's on request (Django's own pool, for comparison).
ALL_DRIVERS = (*DRIVERS, postgres.DRIVER)
DRIVER_MODULES = {
    "mysqlclient": "MySQLdb",
    "pymysql": "pymysql",
    "mysql-connector": "mysql.connector",
    postgres.DRIVER: "psycopg",
}
DRIVER_DISTRIBUTIONS = {
    "mysqlclient": "mysqlclient",
    "pymysql": "PyMySQL",
    "mysql-connector": "mysql-connector-python",
    postgres.DRIVER: "psycopg",
}
CASES = {
    "stock-0": "stock, CONN_MAX_AGE=0",
    "never-closed": "stock, never closed",
    "dbcp": "django-db-connection-pool",
    "mysqlpool": "mysqlpool",
    "mysqlpool-otel": "mysqlpool, OpenTelemetry SDK on",
    "mysqlpool-prometheus": "mysqlpool, Prometheus on",
    "django-pool": "Django's own pool",
}
#: Run when --cases is not given; the metrics cases on request.
DEFAULT_CASES = ("stock-0", "never-closed", "dbcp", "mysqlpool")
POOL_SIZE = 10
MAX_OVERFLOW = 0
ROWS = 1000
BENCH_DATABASE = "mysqlpool_bench"
BENCH_USER = "mysqlpool_bench"
# A local account on the benchmark's own database, only so that its
# connections can be told apart from everyone else's on a shared server.
BENCH_PASSWORD = "mysqlpool-bench"

URL_VARIABLES = ("MYSQLPOOL_BENCH_URL", "MYSQLPOOL_TEST_URL")

MODES = {
    # rounds: each case runs this many times, interleaved with the other cases
    # of its driver so that a busy moment of a shared machine hits them all;
    # the best round of each case is reported.
    "quick": {"rounds": 1, "warmup": 0.3, "duration": 1.0, "warm_limit": 10.0},
    "full": {"rounds": 5, "warmup": 0.5, "duration": 2.0, "warm_limit": 60.0},
}


# ----- the server -------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_url(cls, url: str) -> Server:
        parts = urlparse(url)
        if parts.scheme not in ("mysql", "mariadb"):
            raise SystemExit(f"--url {url!r}: expected mysql://user:password@host:port/")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
        )


def open_server(url: str | None) -> Server:
    """The server at ``url``; without one, a throwaway mariadbd for this run only
    (the test suite's, from the local binaries; stopped and removed at exit)."""
    if url:
        return Server.from_url(url)
    from tests.server import ThrowawayServer

    throwaway = ThrowawayServer()
    throwaway.start()
    print(f"No --url, ${' or $'.join(URL_VARIABLES)}: started a throwaway mariadbd "
          f"on port {throwaway.port}", flush=True)
    return Server("127.0.0.1", throwaway.port, "root", "")


def admin_connection(server: Server) -> Any:
    """A plain DB-API connection as the admin user, through any installed driver."""
    problems = []
    for name in DRIVERS:
        try:
            module = importlib.import_module(DRIVER_MODULES[name])
        except ImportError as exc:
            problems.append(f"{name}: {exc}")
            continue
        return module.connect(
            host=server.host, port=server.port, user=server.user,
            password=server.password, autocommit=True,
        )
    raise SystemExit("No MySQL driver is installed: " + "; ".join(problems))


def query(connection: Any, sql: str, params: Any = None) -> list[tuple]:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []
    finally:
        cursor.close()


def prepare_server(server: Server) -> str:
    """Create the benchmark's database, table, rows and user; return the server version."""
    connection = admin_connection(server)
    try:
        version = query(connection, "SELECT VERSION()")[0][0]
        query(connection, f"CREATE DATABASE IF NOT EXISTS `{BENCH_DATABASE}`")
        query(
            connection,
            f"CREATE TABLE IF NOT EXISTS `{BENCH_DATABASE}`.mysqlpool_bench_row ("
            " id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, quantity INT NOT NULL"
            ") ENGINE=InnoDB",
        )
        count = query(connection, f"SELECT COUNT(*) FROM `{BENCH_DATABASE}`.mysqlpool_bench_row")
        if count[0][0] != ROWS:
            query(connection, f"DELETE FROM `{BENCH_DATABASE}`.mysqlpool_bench_row")
            values = ", ".join(f"({i}, 'row {i}', {i % 97})" for i in range(1, ROWS + 1))
            query(
                connection,
                f"INSERT INTO `{BENCH_DATABASE}`.mysqlpool_bench_row (id, name, quantity) "
                f"VALUES {values}",
            )
        query(
            connection,
            f"CREATE USER IF NOT EXISTS '{BENCH_USER}'@'%' IDENTIFIED BY '{BENCH_PASSWORD}'",
        )
        query(connection, f"GRANT ALL PRIVILEGES ON `{BENCH_DATABASE}`.* TO '{BENCH_USER}'@'%'")
        return str(version)
    finally:
        connection.close()


def remove_user(server: Server) -> None:
    """Drop the benchmark's account: a fixed password must not outlive the run."""
    connection = admin_connection(server)
    try:
        query(connection, f"DROP USER IF EXISTS '{BENCH_USER}'@'%'")
    finally:
        connection.close()


class ConnectionSampler:
    """Counts the benchmark user's server connections while a phase runs."""

    def __init__(self, server: Server, interval: float = 0.01) -> None:
        self.server = server
        self.connection = self._connect()
        self.interval = interval
        self.peak: int | None = None
        self._active = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="connection-sampler", daemon=True)
        self._thread.start()

    def wait_until_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while time.monotonic() < deadline:
                count = self._count()
                if count == 0:
                    return
                time.sleep(0.05)

    def begin(self) -> None:
        with self._lock:
            self.peak = self._count()
        self._active.set()

    def end(self) -> int | None:
        self._active.clear()
        with self._lock:
            count = self._count()
            if self.peak is not None and count is not None:
                self.peak = max(self.peak, count)
            return self.peak

    def close(self) -> None:
        self._stopped.set()
        self._active.set()
        self._thread.join()
        self.connection.close()

    def _connect(self) -> Any:
        return admin_connection(self.server)

    def _query_count(self) -> int:
        rows = query(self.connection,
                     "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s",
                     (BENCH_USER,))
        return int(rows[0][0])

    def _count(self) -> int | None:
        try:
            return self._query_count()
        except Exception as exc:  # noqa: BLE001 - reported, the benchmark goes on
            self.error = repr(exc)
            try:  # the server may have restarted: count again from the next sample
                self.connection.close()
            except Exception:  # noqa: BLE001
                pass
            try:
                self.connection = self._connect()
            except Exception:  # noqa: BLE001
                pass
            return None

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._active.wait()
            if self._stopped.is_set():
                return
            with self._lock:
                count = self._count()
                if count is not None and self._active.is_set():
                    self.peak = count if self.peak is None else max(self.peak, count)
            time.sleep(self.interval)


class PostgresConnectionSampler(ConnectionSampler):
    """The same, for the benchmark's database on PostgreSQL."""

    def _connect(self) -> Any:
        return postgres.admin_connection(self.server)

    def _query_count(self) -> int:
        return postgres.count_connections(self.connection, BENCH_DATABASE)


# ----- one case, in its own process ----------------------------------------------


def database_settings(driver: str, case: str, server: Server) -> dict[str, Any]:
    if driver == postgres.DRIVER:
        return postgres.database_settings(case, server, BENCH_DATABASE, POOL_SIZE)
    common = {
        "HOST": server.host,
        "PORT": str(server.port),
        "NAME": BENCH_DATABASE,
        "USER": BENCH_USER,
        "PASSWORD": BENCH_PASSWORD,
    }
    if case in ("stock-0", "never-closed"):
        engine = "mysql.connector.django" if driver == "mysql-connector" else (
            "django.db.backends.mysql"
        )
        return {**common, "ENGINE": engine, "CONN_MAX_AGE": 0 if case == "stock-0" else None}
    if case == "dbcp":
        return {
            **common,
            "ENGINE": "dj_db_conn_pool.backends.mysql",
            "POOL_OPTIONS": {"POOL_SIZE": POOL_SIZE, "MAX_OVERFLOW": MAX_OVERFLOW},
        }
    return {
        **common,
        "ENGINE": "mysqlpool.backends.mysqlpool",
        "OPTIONS": {"pool": {"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW}},
    }


def unsupported(driver: str, case: str) -> str | None:
    """Why a (driver, case) pair cannot run here, or None."""
    if driver == postgres.DRIVER:
        return postgres.unsupported(case)
    if case == "django-pool":
        return "Django's own pool is PostgreSQL's (--drivers postgresql)"
    try:
        importlib.import_module(DRIVER_MODULES[driver])
    except ImportError as exc:
        return f"{DRIVER_DISTRIBUTIONS[driver]} is not installed ({exc})"
    if case == "dbcp":
        if driver == "mysql-connector":
            return "django-db-connection-pool's MySQL backend needs MySQLdb"
        try:
            importlib.import_module("dj_db_conn_pool")
        except ImportError:
            return "django-db-connection-pool is not installed"
    needs = {"mysqlpool": "mysqlpool", "mysqlpool-otel": "opentelemetry.sdk.metrics",
             "mysqlpool-prometheus": "prometheus_client"}
    if case in needs:
        try:
            importlib.import_module("mysqlpool")
            importlib.import_module(needs[case])
        except ImportError as exc:
            return f"{needs[case]} cannot be imported ({exc})"
    return None


def emit(kind: str, payload: Any) -> None:
    sys.stdout.write(f"{kind} {json.dumps(payload)}\n")
    sys.stdout.flush()


def run_case(spec: dict[str, Any]) -> None:
    """Worker process: set Django up for one (driver, case), run every thread count."""
    driver, case = spec["driver"], spec["case"]
    server = Server(**spec["server"])
    if driver == "pymysql" and not case.startswith("mysqlpool"):
        # Stock Django (and django-db-connection-pool on it) imports MySQLdb.
        import pymysql

        pymysql.install_as_MySQLdb()

    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        TIME_ZONE="UTC",
        INSTALLED_APPS=["benchmarks"],
        DATABASES={"default": database_settings(driver, case, server)},
        MYSQLPOOL_DRIVER=driver,
        # Metrics off unless the case is about them (the API may be installed).
        MYSQLPOOL_OPENTELEMETRY=case == "mysqlpool-otel",
        MYSQLPOOL_PROMETHEUS=case == "mysqlpool-prometheus",
        LOGGING_CONFIG=None,
    )
    if case == "mysqlpool-otel":
        # What an application does: an SDK provider with a reader.
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    django.setup()

    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_finished, request_started
    from django.db import connections

    from benchmarks.models import Row

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/row/"}

    def request(pk: int) -> None:
        # What Django's handler does around a view; the signals open and
        # close (or return) the connection as in production.
        request_started.send(sender=WSGIHandler, environ=environ)
        try:
            Row.objects.get(pk=pk)
        finally:
            request_finished.send(sender=WSGIHandler)

    # Load everything once (imports, server facts) before anything is timed.
    request(1)
    connections.close_all()

    if spec.get("profile"):
        profile_requests(request, spec["duration"], spec["profile"])
        return
    if spec.get("requests"):
        # A fixed number of requests and nothing else (benchmarks.instructions).
        run_requests(request, connections, spec["requests"], spec["threads"][0])
        return
    for threads in spec["threads"]:
        result = run_phase(request, connections, threads, spec["warmup"], spec["duration"],
                           spec["warm_limit"])
        emit("RESULT", result)
    connections.close_all()


def run_requests(request, connections, total: int, threads: int) -> None:
    """``total`` requests shared by ``threads`` threads, as fast as they go."""
    def share(first: int) -> None:
        try:
            for number in range(first, total, threads):
                request(number % ROWS + 1)
        finally:
            connections.close_all()

    if threads == 1:
        share(0)
        return
    workers = [threading.Thread(target=share, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def profile_requests(request, duration: float, path: str) -> None:
    """One thread's requests under cProfile; statistics to ``path``, the top to stdout."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    count, pk = 0, 1
    deadline = time.perf_counter() + duration
    profiler.enable()
    while time.perf_counter() < deadline:
        request(pk)
        count += 1
        pk = pk % ROWS + 1
    profiler.disable()
    profiler.dump_stats(path)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(30)
    emit("PROFILE", {"requests": count, "path": path, "top": text.getvalue()})


def run_phase(request, connections, threads: int, warmup: float, duration: float,
              warm_limit: float) -> dict:
    state = SimpleNamespace(measuring=False)
    stop = threading.Event()
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    started = threading.Barrier(threads + 1)
    warm = threading.Semaphore(0)  # one release per thread, after its first request
    clock = time.perf_counter

    def loop(index: int) -> None:
        record = latencies[index].append
        pk = (index * 37) % ROWS + 1
        first = True
        started.wait()
        try:
            while not stop.is_set():
                begin = clock()
                try:
                    request(pk)
                except Exception as exc:  # noqa: BLE001 - counted, then reported
                    errors.append(repr(exc))
                    if len(errors) > 100:
                        return
                    continue
                finally:
                    if first:
                        first = False
                        warm.release()
                end = clock()
                if state.measuring:
                    record(end - begin)
                pk = pk % ROWS + 1
        finally:
            connections.close_all()

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    started.wait()
    # Measure only once every thread has been served (and, where connections
    # persist, has connected): opening 64 connections can take seconds. A case
    # that starves some threads is measured anyway after warm_limit.
    deadline = time.monotonic() + warm_limit
    for _ in range(threads):
        warm.acquire(timeout=max(0.0, deadline - time.monotonic()))
    time.sleep(warmup)
    emit("PHASE", {"threads": threads, "event": "start"})
    state.measuring = True
    begin = clock()
    time.sleep(duration)
    state.measuring = False
    elapsed = clock() - begin
    emit("PHASE", {"threads": threads, "event": "end"})
    stop.set()
    for worker in workers:
        worker.join()

    merged = sorted(value for values in latencies for value in values)
    return {
        "threads": threads,
        "requests": len(merged),
        "seconds": elapsed,
        "rps": len(merged) / elapsed,
        "p50_ms": percentile(merged, 0.50) * 1000 if merged else None,
        "p99_ms": percentile(merged, 0.99) * 1000 if merged else None,
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
    }


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# ----- the parent: run the cases, sample connections, report ----------------------


@dataclass
class Measurement:
    driver: str
    case: str
    threads: int
    rounds: list[dict] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        # The best round stands for the case: on a shared machine, other work
        # only ever slows a round down, so the fastest one is the least
        # disturbed. Every round's figure is kept in the JSON.
        rps = [r["rps"] for r in self.rounds]
        best = max(self.rounds, key=lambda r: r["rps"])
        return {
            "driver": self.driver,
            "case": self.case,
            "threads": self.threads,
            "rps": best["rps"],
            "rps_rounds": [round(value, 1) for value in rps],
            "rps_median": statistics.median(rps),
            "p50_ms": best["p50_ms"],
            "p99_ms": best["p99_ms"],
            "peak_connections": max(self.peaks) if self.peaks else None,
            "requests": sum(r["requests"] for r in self.rounds),
            "errors": sum(r["errors"] for r in self.rounds),
            "error_samples": sorted({e for r in self.rounds for e in r["error_samples"]})[:5],
        }


def run_worker_process(spec: dict, sampler: ConnectionSampler, timeout: float,
                       measurements: dict) -> str | None:
    """Run one case in a child process; return an error message, or None."""
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "benchmarks.bench", "--worker", json.dumps(spec)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.extend(process.stderr), daemon=True)
    reader.start()
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    results = 0
    try:
        for line in process.stdout:
            kind, _, payload = line.partition(" ")
            if kind == "PHASE":
                event = json.loads(payload)
                if event["event"] == "start":
                    sampler.begin()
                elif event["event"] == "end":
                    peak = sampler.end()
                    key = (spec["driver"], spec["case"], event["threads"])
                    if peak is not None:
                        measurements[key].peaks.append(peak)
            elif kind == "RESULT":
                result = json.loads(payload)
                result["round"] = spec["round"]
                key = (spec["driver"], spec["case"], result["threads"])
                measurements[key].rounds.append(result)
                results += 1
        process.wait()
    finally:
        timer.cancel()
        reader.join(5)
    if process.returncode != 0 or results != len(spec["threads"]):
        # The exception, not the whole traceback.
        lines = [line.rstrip() for line in stderr if line.strip()]
        tail = lines[-1] if lines else "no output"
        if process.returncode < 0:
            return f"killed after {timeout:.0f} s: {tail}"
        return f"exit status {process.returncode}: {tail}"
    return None


def paired_ratios(measured: Measurement, base: Measurement | None) -> list[float]:
    """Each round's req/s over the never-closed case's in the same round.

    A round runs a driver's cases one after the other, so a slower stretch of
    a shared machine (other work, another VM) weighs on both sides of each
    ratio: their median moves less from run to run than the ratio of the
    best rounds, which may come from different stretches."""
    if base is None:
        return []
    base_rps = {r["round"]: r["rps"] for r in base.rounds}
    return [round(r["rps"] / base_rps[r["round"]], 3) for r in measured.rounds
            if base_rps.get(r["round"])]


def ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return value / base


#: mysqlpool's throughput over stock Django's never-closed connections (the
#: upper limit), each case at a thread count: what the project aims for.
GOALS = (
    ("mysqlpool", 1, 0.95),
    ("mysqlpool", 8, 0.97),
    ("mysqlpool", 64, 0.90),
    ("mysqlpool-otel", 1, 0.90),
    ("mysqlpool-prometheus", 1, 0.93),
)


def evaluate_targets(summaries: dict[tuple, dict]) -> list[dict]:
    """The project's goals (GOALS, and at most pool_size server connections
    at 64 threads), checked against this run's figures."""
    def rps(driver: str, case: str, threads: int) -> float | None:
        found = summaries.get((driver, case, threads))
        return found["rps"] if found else None

    targets = []

    def add(name: str, value: float | None, required: float, met: bool | None,
            median: float | None = None) -> None:
        targets.append({
            "target": name,
            "value": None if value is None else round(value, 3),
            "median_of_rounds": None if median is None else round(median, 3),
            "required": required,
            "met": met,
        })

    for driver in DRIVERS:
        for case, threads, required in GOALS:
            value = ratio(rps(driver, case, threads), rps(driver, "never-closed", threads))
            if value is None:
                continue
            found = summaries[(driver, case, threads)]
            add(f"{driver}: {CASES[case]} / never closed at {threads} thread"
                f"{'s' if threads > 1 else ''} >= {required}", value, required,
                value >= required, found.get("ratio_median"))
        for threads in sorted({key[2] for key in summaries}):
            # Ahead of Django's own pool on PostgreSQL, each against its own
            # server's never-closed connections (when both ran).
            value = ratio(rps(driver, "mysqlpool", threads),
                          rps(driver, "never-closed", threads))
            theirs = ratio(rps(postgres.DRIVER, "django-pool", threads),
                           rps(postgres.DRIVER, "never-closed", threads))
            if value is not None and theirs is not None:
                add(f"{driver}: mysqlpool / never closed at {threads} thread"
                    f"{'s' if threads > 1 else ''} >= Django's PostgreSQL pool's "
                    f"({theirs:.3f})", value, round(theirs, 3), value >= theirs,
                    summaries[(driver, "mysqlpool", threads)].get("ratio_median"))
        pooled = summaries.get((driver, "mysqlpool", 64))
        if pooled is not None:
            peak = pooled["peak_connections"]
            add(f"{driver}: mysqlpool's peak server connections at 64 threads <= {POOL_SIZE}",
                peak, POOL_SIZE, None if peak is None else peak <= POOL_SIZE)
    return targets


def format_table(summaries: dict[tuple, dict], drivers: list[str], cases: list[str],
                 threads: list[int]) -> str:
    header = (
        f"{'driver':<16}{'case':<28}{'threads':>7}{'req/s':>10}{'x never':>9}{'median':>8}"
        f"{'p50 ms':>10}{'p99 ms':>10}{'peak conns':>11}"
    )
    lines = [header, "-" * len(header)]

    def number(value: float | None, digits: int) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    for driver in drivers:
        for case in cases:
            for count in threads:
                found = summaries.get((driver, case, count))
                if found is None:
                    continue
                line = (
                    f"{driver:<16}{CASES[case]:<28}{count:>7}{number(found['rps'], 0):>10}"
                    f"{number(found['ratio_to_never_closed'], 2):>9}"
                    f"{number(found['ratio_median'], 2):>8}"
                    f"{number(found['p50_ms'], 3):>10}{number(found['p99_ms'], 3):>10}"
                    f"{number(found['peak_connections'], 0):>11}"
                )
                if found["errors"]:
                    line += f"  {found['errors']} errors"
                lines.append(line)
        lines.append("")
    return "\n".join(lines)


def versions(drivers: list[str]) -> dict[str, str]:
    found = {}
    for name in ["Django", "SQLAlchemy", "django-db-connection-pool",
                 *(DRIVER_DISTRIBUTIONS[d] for d in drivers),
                 *(["psycopg-pool"] if postgres.DRIVER in drivers else [])]:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true",
                        help="one short round per case (about a minute in all)")
    parser.add_argument("--url", default=next(
        (os.environ[v] for v in URL_VARIABLES if os.environ.get(v)), None),
        help="admin account of the server, mysql://user:password@host:port/ "
        f"(default: ${' or $'.join(URL_VARIABLES)}; without one, a throwaway "
        "mariadbd is started from the local binaries and removed afterwards)")
    parser.add_argument("--drivers", default=",".join(DRIVERS),
                        help="comma-separated; default: the three MySQL drivers; "
                        f"{postgres.DRIVER} adds Django's own PostgreSQL pool for comparison")
    parser.add_argument("--postgres-url", default=os.environ.get(postgres.URL_VARIABLE)
                        or postgres.DEFAULT_URL,
                        help=f"with --drivers {postgres.DRIVER}: a PostgreSQL account that can "
                        f"create a database (default ${postgres.URL_VARIABLE} or "
                        f"{postgres.DEFAULT_URL})")
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES),
                        help=f"comma-separated among {', '.join(CASES)} (default: "
                        f"{', '.join(DEFAULT_CASES)})")
    parser.add_argument("--threads", default="1,8,64", help="comma-separated thread counts")
    parser.add_argument("--rounds", type=int, help="runs of each case (the best one is reported)")
    parser.add_argument("--warmup", type=float, help="seconds before measuring each phase")
    parser.add_argument("--duration", type=float, help="measured seconds per phase")
    parser.add_argument("--output", help="JSON file (default benchmark-results/bench-<time>.json)")
    parser.add_argument("--profile", action="store_true",
                        help="instead: one thread's requests under cProfile, per driver and "
                        "case (default cases never-closed,mysqlpool); .pstats files to "
                        "benchmark-results/")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        run_case(json.loads(args.worker))
        return 0
    if args.profile:
        return profile(args)

    mode = dict(MODES["quick" if args.quick else "full"])
    for name in ("rounds", "warmup", "duration"):
        if getattr(args, name) is not None:
            mode[name] = getattr(args, name)
    drivers = [d for d in args.drivers.split(",") if d]
    cases = [c for c in args.cases.split(",") if c]
    threads = [int(t) for t in args.threads.split(",") if t]
    for name, chosen, valid in (("driver", drivers, ALL_DRIVERS), ("case", cases, CASES)):
        wrong = [value for value in chosen if value not in valid]
        if wrong:
            parser.error(f"unknown {name} {', '.join(wrong)}; choose among {', '.join(valid)}")

    postgres_server: tuple[Server, str] | None = None
    if postgres.DRIVER in drivers:
        on = Server(**postgres.server_fields(args.postgres_url))
        postgres_server = (on, postgres.prepare_server(on, BENCH_DATABASE, ROWS))
    server = open_server(args.url)
    server_version = prepare_server(server)
    try:
        return measure(args, mode, drivers, cases, threads, server, server_version,
                       postgres_server)
    finally:
        remove_user(server)


def measure(args: argparse.Namespace, mode: dict, drivers: list[str], cases: list[str],
            threads: list[int], server: Server, server_version: str,
            postgres_server_version: tuple[Server, str] | None = None) -> int:
    """Run every case, print the table and write the JSON report; the exit status."""
    samplers: dict[str, ConnectionSampler] = dict.fromkeys(DRIVERS, ConnectionSampler(server))
    servers = {"version": server_version, "host": server.host, "port": server.port}
    postgres_server = None
    if postgres_server_version is not None:
        postgres_server, version = postgres_server_version
        samplers[postgres.DRIVER] = PostgresConnectionSampler(postgres_server)
        servers[postgres.DRIVER] = {"version": version, "host": postgres_server.host,
                                    "port": postgres_server.port}
        print(f"PostgreSQL {version} at {postgres_server.host}:{postgres_server.port}")
    started = time.monotonic()
    print(
        f"Server {server_version} at {server.host}:{server.port}; "
        f"{mode['rounds']} round(s), {mode['warmup']} s warm-up + {mode['duration']} s "
        f"per phase, threads {threads}, pools of {POOL_SIZE} (max_overflow {MAX_OVERFLOW})",
        flush=True,
    )

    measurements = {
        (d, c, t): Measurement(d, c, t) for d in drivers for c in cases for t in threads
    }
    skipped, errors, findings = [], [], []
    runnable = []
    for driver in drivers:
        for case in cases:
            reason = unsupported(driver, case)
            if reason:
                skipped.append({"driver": driver, "case": case, "reason": reason})
            else:
                runnable.append((driver, case))
    # Only a guard against a hung worker.
    timeout = 120 + len(threads) * (mode["warm_limit"] + mode["warmup"] + mode["duration"] + 60)
    for round_number in range(1, mode["rounds"] + 1):
        for driver, case in runnable:
            print(f"round {round_number}/{mode['rounds']}: {driver:<16} {CASES[case]}",
                  flush=True)
            on = postgres_server if driver == postgres.DRIVER else server
            spec = {
                "driver": driver, "case": case, "threads": threads, "round": round_number,
                "warmup": mode["warmup"], "duration": mode["duration"],
                "warm_limit": mode["warm_limit"], "server": vars(on),
            }
            sampler = samplers[driver]
            # Connections of the previous case may linger on a busy server;
            # count this case's own.
            sampler.wait_until_idle(timeout=30)
            error = run_worker_process(spec, sampler, timeout, measurements)
            if error:
                errors.append({"driver": driver, "case": case, "round": round_number,
                               "error": error})
                print(f"  failed: {error}", file=sys.stderr, flush=True)
    distinct_samplers = list({id(s): s for s in samplers.values()}.values())
    for sampler in distinct_samplers:
        sampler.close()

    summaries = {key: m.summary() for key, m in measurements.items() if m.rounds}
    for (driver, _case, count), found in summaries.items():
        base = summaries.get((driver, "never-closed", count))
        found["ratio_to_never_closed"] = ratio(found["rps"], base["rps"] if base else None)
        found["ratio_rounds"] = paired_ratios(
            measurements[(driver, _case, count)], measurements.get((driver, "never-closed", count)))
        found["ratio_median"] = (statistics.median(found["ratio_rounds"])
                                 if found["ratio_rounds"] else None)
        if found["errors"]:
            failure = {"driver": driver, "case": found["case"], "threads": count,
                       "error": f"{found['errors']} failed requests",
                       "samples": found["error_samples"]}
            # Requests failing under load in mysqlpool are a bug; in the cases
            # it is compared with (django-db-connection-pool starves threads
            # into its 30 s timeout at 64 threads) they are a finding.
            (errors if found["case"].startswith("mysqlpool") else findings).append(failure)
    targets = evaluate_targets(summaries)
    elapsed = time.monotonic() - started

    print()
    print(format_table(summaries, drivers, cases, threads))
    print("Goals (ratios from this run):")
    for target in targets:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[target["met"]]
        median = target.get("median_of_rounds")
        print(f"  {verdict:<13}{target['target']}: {target['value']}"
              + (f" (median of the rounds' ratios {median})" if median is not None else ""))
    for skip in skipped:
        print(f"skipped {skip['driver']} / {CASES[skip['case']]}: {skip['reason']}")
    for sampler in distinct_samplers:
        if sampler.error:
            print(f"connection sampling failed at least once: {sampler.error}")

    output = Path(args.output) if args.output else Path("benchmark-results") / (
        "bench-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ".json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "elapsed_seconds": round(elapsed, 1),
        "mode": "quick" if args.quick else "full",
        "settings": {**mode, "threads": threads, "pool_size": POOL_SIZE,
                     "max_overflow": MAX_OVERFLOW, "rows": ROWS},
        "server": servers,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "versions": versions(drivers),
        "results": [summaries[key] for key in measurements if key in summaries],
        "targets": targets,
        "skipped": skipped,
        "errors": errors,
        "failed_requests_elsewhere": findings,
    }
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON: {output}  ({elapsed:.0f} s)")
    if findings:
        print("Failed requests in the cases mysqlpool is compared with (not an error here):")
        print_failures(findings, sys.stdout)
    if errors:
        print(f"{len(errors)} error(s):", file=sys.stderr)
        print_failures(errors, sys.stderr)
        return 1
    return 0


def print_failures(failures: list[dict], stream: Any) -> None:
    for failure in failures:
        where = " / ".join(str(failure[k]) for k in ("driver", "case", "round", "threads")
                           if k in failure)
        samples = "; ".join(failure.get("samples", []))[:300]
        print(f"  {where}: {failure['error'][:300]} {samples}", file=stream)


def profile(args: argparse.Namespace) -> int:
    """Where a request's time goes, per driver and case: cProfile, one thread."""
    server = open_server(args.url)
    prepare_server(server)
    try:
        return profile_cases(args, server)
    finally:
        remove_user(server)


def profile_cases(args: argparse.Namespace, server: Server) -> int:
    drivers = [d for d in args.drivers.split(",") if d]
    cases = [c for c in args.cases.split(",") if c]
    if args.cases == ",".join(DEFAULT_CASES):
        cases = ["never-closed", "mysqlpool"]
    directory = Path("benchmark-results")
    directory.mkdir(exist_ok=True)
    root = Path(__file__).resolve().parent.parent
    failed = False
    for driver in drivers:
        for case in cases:
            reason = unsupported(driver, case)
            if reason:
                print(f"skipped {driver} / {CASES[case]}: {reason}")
                continue
            path = directory / f"profile-{driver}-{case}.pstats"
            spec = {"driver": driver, "case": case, "threads": [1], "warmup": 0,
                    "duration": args.duration or 5.0, "server": vars(server),
                    "profile": str(path.resolve())}
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench", "--worker", json.dumps(spec)],
                cwd=root, capture_output=True, text=True,
            )
            for line in done.stdout.splitlines():
                kind, _, payload = line.partition(" ")
                if kind == "PROFILE":
                    found = json.loads(payload)
                    print(f"== {driver} / {CASES[case]}: {found['requests']} requests, "
                          f"{path}\n{found['top']}")
            if done.returncode != 0:
                failed = True
                print(f"{driver} / {CASES[case]} failed:\n{done.stderr[-2000:]}",
                      file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
