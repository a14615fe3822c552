"""gunicorn's sync, gthread and gevent workers, with and without --preload.

The view holds its connection for ``SELECT SLEEP(0.02)``; ``wrk`` drives it
for a few seconds. Each process has pool_size=10, max_overflow=0.
"""

from __future__ import annotations

import importlib.util
import signal
import sys

import pytest

from tests.support.net import free_port

from .conftest import (
    MAX_OVERFLOW,
    POOL_SIZE,
    assert_quiet,
    bin_path,
    get,
    get_json,
    project_env,
    record,
    wait_for,
)

pytestmark = pytest.mark.deploy

PER_PROCESS = POOL_SIZE + MAX_OVERFLOW


def gunicorn(services, database, name: str, *args: str, statuses=(200,), **env: str | None):
    port = free_port()
    service = services(
        name,
        [sys.executable, bin_path("gunicorn"), "deploysite.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "10", "--timeout", "60", *args],
        project_env(database, **env), port=port,
    )
    service.wait_until_serving(statuses=statuses)
    return service


def test_sync_workers(services, database, wrk):
    """Several sync workers: 0 errors, at most workers × (pool_size + max_overflow)
    server connections (one each in practice: a sync worker serves one request
    at a time)."""
    workers = 3
    server = gunicorn(services, database, "gunicorn-sync", "-k", "sync", "-w", str(workers),
                      DEPLOY_DRIVER="pymysql")
    load = wrk(database, server.url + "/sleep/", seconds=3, connections=30)
    record(f"gunicorn sync -w {workers}: {load.rps:.0f} req/s, {load.errors} errors, "
           f"peak {load.peak_connections} server connections")
    assert load.requests > 0 and load.errors == 0, load.output
    assert 1 <= load.peak_connections <= workers * PER_PROCESS
    server.stop()
    assert server.process.returncode == 0
    assert_quiet(server)


def test_gthread_and_gevent(services, database, wrk):
    """gthread (32 threads) and gevent on PyMySQL, served side by side and
    measured in turns (the machine's load shifts): 0 errors, at most pool_size
    server connections each, and each worker running several queries at once.
    With mysqlclient also installed and MYSQLPOOL_DRIVER unset, a gevent worker
    detects PyMySQL and runs them concurrently too: a driver that blocks the
    hub would run one at a time. Their req/s are recorded (speed is the
    benchmark's to show)."""
    cases = {
        "gthread": (["-k", "gthread", "--threads", "32"], "pymysql"),
        "gevent": (["-k", "gevent", "--worker-connections", "100"], "pymysql"),
    }
    if importlib.util.find_spec("MySQLdb") is not None:
        cases["gevent, driver detected"] = (cases["gevent"][0], None)
    servers, users = {}, {}
    for index, (name, (args, driver)) in enumerate(cases.items()):
        users[name] = database.add_user(f"g{index}")
        servers[name] = gunicorn(services, database, f"gunicorn-{index}", "-w", "1", *args,
                                 DEPLOY_DRIVER=driver, DEPLOY_DB_USER=users[name])
        assert get_json(servers[name].url + "/whoami/")["driver"] == "pymysql"
    best = {}
    for _ in range(3):
        for name, server in servers.items():
            load = wrk(database, server.url + "/sleep/", seconds=2, connections=200,
                       user=users[name])
            assert load.requests > 0 and load.errors == 0, load.output
            assert 1 <= load.peak_connections <= PER_PROCESS, (name, load.peak_connections)
            if name not in best or load.rps > best[name].rps:
                best[name] = load
    for name, load in best.items():
        record(f"gunicorn {name} (pymysql): {load.rps:.0f} req/s (best of 3 × 2 s), "
               f"{load.errors} errors, peak {load.peak_connections} server connections")
    # One worker process each: queries overlapping in it mean it served
    # requests concurrently (a driver that blocked the hub could not).
    at_once = {name: get_json(server.url + "/whoami/")["most_queries_at_once"]
               for name, server in servers.items()}
    for server in servers.values():
        server.stop()
        assert_quiet(server)
    record(f"gunicorn, most queries at once in the one worker: {at_once}")
    assert all(count >= 2 for count in at_once.values()), at_once


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_preload_after_a_query_at_import(services, database, tmp_path, worker, wrk):
    """--preload, the app querying the database while it loads (in the master,
    which keeps that connection): the workers never use the master's
    connection, never close it (also when they are replaced, on SIGHUP), and
    exit without a warning."""
    marker = tmp_path / "import-connection"
    args = ["-k", worker, "-w", "2", "--preload"]
    if worker == "gthread":
        args += ["--threads", "8"]
    server = gunicorn(services, database, f"gunicorn-preload-{worker}", *args,
                      DEPLOY_DRIVER="pymysql", DEPLOY_QUERY_AT_IMPORT=str(marker))
    master_pid, master_connection = map(int, marker.read_text().split())
    assert master_pid == server.process.pid

    seen = [get_json(server.url + "/whoami/") for _ in range(20)]
    assert {answer["pid"] for answer in seen}.isdisjoint({master_pid})
    assert master_connection not in {answer["connection_id"] for answer in seen}
    load = wrk(database, server.url + "/sleep/", seconds=2, connections=20)
    assert load.errors == 0, load.output
    assert master_connection in database.connection_ids()
    # Replace the workers (they exit; new ones are forked from the master).
    old_pids = {answer["pid"] for answer in seen}
    server.signal(signal.SIGHUP)
    wait_for(lambda: get_json(server.url + "/whoami/")["pid"] not in old_pids, 30,
             "workers replaced after SIGHUP")
    again = [get_json(server.url + "/whoami/") for _ in range(10)]
    assert master_connection not in {answer["connection_id"] for answer in again}
    assert master_connection in database.connection_ids(), "a worker closed the master's"
    # The whole process count: the master's one plus at most pool_size per worker.
    assert len(database.connection_ids()) <= 1 + 2 * PER_PROCESS
    record(f"gunicorn --preload {worker} -w 2: master connection {master_connection} kept "
           f"across worker restarts; {load.rps:.0f} req/s, {load.errors} errors")
    server.stop()
    assert server.process.returncode == 0
    assert_quiet(server)


def test_preload_with_gevent_fails_with_a_clear_error(services, database):
    """--preload with gevent workers: the app (and Django's connections) load in
    the master before the worker monkey-patches, so every green thread shares
    one DatabaseWrapper, and Django refuses it on every request, with stock
    Django as with mysqlpool. mysqlpool's error says why and what to do."""
    for engine in ("pooled", "stock"):
        server = gunicorn(services, database, f"gunicorn-preload-gevent-{engine}",
                          "-k", "gevent", "-w", "1", "--preload", statuses=(500,),
                          DEPLOY_DRIVER="pymysql", DEPLOY_ENGINE=engine)
        statuses = [get(server.url + "/sleep/")[0] for _ in range(5)]
        assert statuses == [500] * 5
        server.stop()
        log = server.output()
        assert "DatabaseWrapper objects created in a thread" in log
        clear = "was created before gevent monkey-patched this process" in log
        assert clear == (engine == "pooled"), log[-3000:]
        if clear:
            assert "Run gevent workers without --preload" in log
