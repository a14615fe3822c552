"""One case in its own process (``python -m benchmarks.bench --worker``):
Django set up for a driver and a case, the benchmark's request, and the
phases that time it, reported to the parent on stdout."""

from __future__ import annotations

import importlib
import json
import sys
import threading
import time
from types import SimpleNamespace
from typing import Any

from benchmarks import postgres
from benchmarks.cases import (
    BENCH_DATABASE,
    BENCH_PASSWORD,
    BENCH_USER,
    DRIVER_DISTRIBUTIONS,
    DRIVER_MODULES,
    MAX_OVERFLOW,
    NEVER_CLOSED_AGAIN,
    POOL_SIZE,
    ROWS,
)
from benchmarks.servers import Server


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
    if case in ("stock-0", "never-closed", NEVER_CLOSED_AGAIN):
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
    if spec.get("phases"):
        # Where each request's CPU time goes (benchmarks.phases).
        def connect() -> None:
            request_started.send(sender=WSGIHandler, environ=environ)
            connections["default"].ensure_connection()

        def finish() -> None:
            request_finished.send(sender=WSGIHandler)

        emit("PHASES", time_phases((connect, lambda pk: Row.objects.get(pk=pk), finish),
                                   connections, spec["threads"][0], spec["warmup"],
                                   spec["phases"]))
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


def time_phases(steps, connections, threads: int, warmup: float, duration: float) -> dict:
    """The benchmark's request in three steps (taking the connection:
    ``request_started`` and connecting; the query; giving it back:
    ``request_finished``), run by ``threads`` threads for ``duration`` seconds
    after ``warmup``: the thread CPU time each step took, summed over the
    threads' requests, and the number of requests."""
    connect, query, finish = steps
    clock = time.thread_time  # this thread's CPU time: not the GIL's waits
    totals: list[list[float]] = []
    measuring = threading.Event()
    stop = threading.Event()

    def loop(index: int) -> None:
        spent = [0.0, 0.0, 0.0, 0]
        totals.append(spent)
        pk = (index * 37) % ROWS + 1
        try:
            while not stop.is_set():
                counted = measuring.is_set()
                begin = clock()
                connect()
                connected = clock()
                try:
                    query(pk)
                finally:
                    queried = clock()
                    finish()
                    ended = clock()
                if counted:
                    spent[0] += connected - begin
                    spent[1] += queried - connected
                    spent[2] += ended - queried
                    spent[3] += 1
                pk = pk % ROWS + 1
        finally:
            connections.close_all()

    workers = started_threads(loop, threads)
    time.sleep(warmup)
    measuring.set()
    time.sleep(duration)
    stop.set()
    for worker in workers:
        worker.join()
    return {"connect": sum(t[0] for t in totals), "query": sum(t[1] for t in totals),
            "finish": sum(t[2] for t in totals), "requests": sum(t[3] for t in totals)}


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

    workers = started_threads(loop, threads)
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


def started_threads(target, count: int) -> list[threading.Thread]:
    """``count`` daemon threads running ``target(index)``, started."""
    workers = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for worker in workers:
        worker.start()
    return workers


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
