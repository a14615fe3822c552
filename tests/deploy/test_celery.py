"""Celery workers (prefork, threads, gevent) on the Redis broker: the pool
survives between tasks, whichever way it is configured.

Needs Redis on 127.0.0.1:6379 (.ci/run starts one); each test uses a queue of
its own on it. Celery's Django fixup calls ``close_pool()`` before and after
every task in prefork workers when ``OPTIONS["pool"]`` is set; mysqlpool keeps
its pool through those calls (see DatabaseWrapper.close_pool).
"""

from __future__ import annotations

import sys
import uuid

import pytest

from .conftest import (
    MAX_OVERFLOW,
    POOL_SIZE,
    assert_quiet,
    bin_path,
    project_env,
    record,
    wait_for,
)

pytestmark = pytest.mark.deploy

TASKS = 300
CONCURRENCY = 4


def start_worker(services, database, redis, queue: str, pool: str, pool_in: str,
                 concurrency: int = CONCURRENCY):
    env = project_env(database, DEPLOY_DRIVER="pymysql", DEPLOY_BROKER=redis,
                      DEPLOY_QUEUE=queue, DEPLOY_POOL_IN=pool_in)
    return services(
        f"celery-{pool}-{pool_in}",
        [sys.executable, bin_path("celery"), "-A", "deploysite.celery_app", "worker",
         "-P", pool, "-c", str(concurrency), "-Q", queue, "-l", "warning",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env,
    )


def send(redis: str, queue: str, task: str, count: int) -> None:
    from celery import Celery

    client = Celery("deploy-tests", broker=redis)
    try:
        for number in range(count):
            client.send_task(task, args=[number], queue=queue)
    finally:
        client.close()


def task_runs(database) -> list[tuple[int, int, int]]:
    return database.query(
        f"SELECT number, pid, connection_id FROM `{database.name}`.deploysite_taskrun")


@pytest.fixture
def queue(database):
    database.query(f"TRUNCATE `{database.name}`.deploysite_taskrun")
    return f"deploy-{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("pool, pool_in", [
    ("prefork", "options"),
    ("prefork", "arguments"),
    ("threads", "options"),
    ("gevent", "options"),
])
def test_worker_keeps_its_pool_between_tasks(services, database, redis, queue, pool, pool_in):
    """300 tasks, each noting its process and CONNECTION_ID(): 0 failures, and
    at most 2 × concurrency distinct server connections over the run (with
    OPTIONS["pool"] too, where Celery calls close_pool() around every task in
    prefork workers); at most processes × (pool_size + max_overflow) at once;
    no warning at the worker's exit."""
    worker = start_worker(services, database, redis, queue, pool, pool_in)
    send(redis, queue, "deploysite.record", TASKS)
    peak = 0

    def all_done():
        nonlocal peak
        peak = max(peak, len(database.connection_ids()))
        if not worker.alive():
            raise AssertionError(f"worker exited:\n{worker.output()[-4000:]}")
        return len(task_runs(database)) >= TASKS

    wait_for(all_done, 120, f"{TASKS} tasks run by the {pool} worker", interval=0.1)
    runs = task_runs(database)
    connection_ids = {run[2] for run in runs}
    processes = {run[1] for run in runs}
    record(f"celery -P {pool} -c {CONCURRENCY}, pool in "
           f"{'OPTIONS[pool]' if pool_in == 'options' else 'MYSQLPOOL_ARGUMENTS'}: "
           f"{len(runs)} tasks, {len(connection_ids)} connection ids, "
           f"{len(processes)} processes, peak {peak} server connections")
    assert sorted(run[0] for run in runs) == list(range(TASKS))
    assert len(connection_ids) <= 2 * CONCURRENCY, sorted(connection_ids)
    assert peak <= len(processes) * (POOL_SIZE + MAX_OVERFLOW)
    worker.stop()
    assert worker.process.returncode == 0, worker.output()[-4000:]
    assert_quiet(worker)


def test_deliberate_close_pool_in_a_task_disposes_of_it(services, database, redis, queue):
    """A task that calls connection.close_pool() itself gets what it asked for:
    the pool is disposed of, and the next task runs on a new connection (while
    Celery's own calls around each task keep the pool). One prefork process, so
    every task runs in it."""
    worker = start_worker(services, database, redis, queue, "prefork", "options",
                          concurrency=1)
    send(redis, queue, "deploysite.close_pool", 5)
    wait_for(lambda: len(task_runs(database)) >= 5, 60, "5 tasks run", interval=0.1)
    runs = sorted(task_runs(database))
    assert len({run[1] for run in runs}) == 1
    assert len({run[2] for run in runs}) == 5, runs  # a new connection each time
    worker.stop()
    assert_quiet(worker)
