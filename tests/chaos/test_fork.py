"""Forked children use pools of their own and never touch the parent's connections."""

from __future__ import annotations

import atexit
import gc
import json
import multiprocessing
import os
import traceback

import pytest
from django.db import connections

import mysqlpool
from tests.chaos.conftest import APP, connection_id, hold_concurrently, record, request

pytestmark = pytest.mark.chaos

POOL_SIZE = 4


def child_queries(alias: str, count: int = 3) -> list[int]:
    """What each child does: a few requests, returning the connection ids it saw."""
    return [request(lambda: connection_id(alias)) for _ in range(count)]


def exit_with_garbage_collection() -> None:
    """As a normally ending interpreter would: drop everything, collect, run atexit."""
    connections.close_all()
    mysqlpool.close_pool()
    gc.collect()
    atexit._run_exitfuncs()


def fork_child(alias: str, *, normal_exit: bool) -> list[int]:
    """os.fork() a child that queries and exits; return the ids it used."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            os.close(read_end)
            result = {"ids": child_queries(alias)}
            if normal_exit:
                exit_with_garbage_collection()
            code = 0
        except BaseException:  # noqa: BLE001 - reported to the parent
            result = {"error": traceback.format_exc()}
        finally:
            with os.fdopen(write_end, "w") as pipe:
                pipe.write(json.dumps(result))
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        result = json.loads(pipe.read() or "{}")
    _, status = os.waitpid(pid, 0)
    assert "error" not in result, result.get("error")
    assert os.waitstatus_to_exitcode(status) == 0
    return result["ids"]


def process_target(alias: str, queue) -> None:
    queue.put(child_queries(alias))
    gc.collect()


def pool_task(alias: str) -> list[int]:
    return child_queries(alias, count=2)


def test_forked_children_leave_the_parents_connections_alone(server, pooled_alias):
    alias = pooled_alias(pool={"pool_size": POOL_SIZE, "max_overflow": 0, "timeout": 30})
    # Warm pool: one connection held by this thread across the forks, three idle.
    held = connection_id(alias)
    idle = set(hold_concurrently(alias, POOL_SIZE - 1))
    parent = idle | {held}
    assert len(parent) == POOL_SIZE
    assert server.connection_ids(APP.user) == parent
    before = mysqlpool.stats()[alias]

    children: dict[str, list[int]] = {}
    children["os.fork + os._exit"] = fork_child(alias, normal_exit=False)
    children["os.fork + gc + atexit"] = fork_child(alias, normal_exit=True)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=process_target, args=(alias, queue))
    process.start()
    children["multiprocessing.Process"] = queue.get(timeout=60)
    process.join(60)
    assert process.exitcode == 0
    with context.Pool(2) as workers:
        children["multiprocessing.Pool"] = [
            i for ids in workers.map(pool_task, [alias] * 4) for i in ids
        ]
    for name, ids in children.items():
        assert ids, name
        assert not set(ids) & parent, f"{name} used a connection of the parent"

    # The parent's connections are all still open on the server, and work.
    assert parent <= server.connection_ids(APP.user)
    assert connection_id(alias) == held
    connections[alias].close()
    assert set(hold_concurrently(alias, POOL_SIZE)) == parent
    after = mysqlpool.stats()[alias]
    assert after["connects"] == before["connects"]
    assert after["invalidations"] == before["invalidations"] == 0
    record(f"fork: {len(children)} kinds of children ran "
           f"{sum(len(ids) for ids in children.values())} requests; parent's "
           f"{len(parent)} connections unchanged (same CONNECTION_ID()s, in PROCESSLIST)")
