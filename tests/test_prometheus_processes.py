"""Prometheus metrics across processes: a child forked while the parent publishes
can still use and close its pools, and a process that exits normally leaves
nothing in the multi-process gauges."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections

import mysqlpool
from mysqlpool.pool.stats import COUNTERS
from tests.aliases import temporary_alias
from tests.conftest import connection_id, wait_for
from tests.users import OTHER

ROOT = Path(__file__).resolve().parent.parent
#: Seconds a forked child gets to open, return and close a connection.
CHILD_TIMEOUT = 20
#: Seconds into the parent's round at which the round finishes (a timer does it).
ROUND_ENDS_AFTER = 0.1


pytestmark = pytest.mark.usefixtures("database_access")


# ----- fork ---------------------------------------------------------------------


class PoolInMidRound:
    """A pool whose figures publish() is reading, under the observer's lock,
    until ``finish`` is set: the parent's housekeeping thread mid-round."""

    retired = False

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.reading = threading.Event()
        self.finish = threading.Event()

    def snapshot(self) -> dict[str, int]:
        self.reading.set()
        self.finish.wait(60)
        return {"idle": 0, "checked_out": 0, "waiting": 0, **dict.fromkeys(COUNTERS, 0)}

    def metric_figures(self) -> dict[str, int]:
        return {"max": 0}


def use_and_close_a_pool(alias: str, in_mid_round: PoolInMidRound) -> dict:
    """In the child: whether the parent's round was over when it forked, then a
    pool of its own, a connection returned, the pool closed (which publishes
    its figures, under the observer's lock)."""
    round_over_at_fork = in_mid_round.finish.is_set()  # no thread here sets it
    connection_id(alias)
    connections[alias].close()
    mysqlpool.close_pool(alias)
    return {"round_over_at_fork": round_over_at_fork}


def run_in_forked_child(work: Callable[[], dict], timeout: float) -> dict:
    """os.fork() a child that runs ``work()``; return what it returned. A child
    still running after ``timeout`` seconds is killed and the test fails."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            os.close(read_end)
            result = work()
            code = 0
        except BaseException:  # noqa: BLE001 - reported to the parent
            result = {"error": traceback.format_exc()}
        finally:
            with os.fdopen(write_end, "w") as pipe:
                pipe.write(json.dumps(result))
            os._exit(code)
    os.close(write_end)
    exit_status: list[int] = []

    def exited() -> bool:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            exit_status.append(status)
        return bool(exit_status)

    try:
        wait_for(exited, timeout, "the forked child is still running")
    except AssertionError:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
        raise AssertionError(
            f"the forked child hung: it did not open, return and close a pooled "
            f"connection within {timeout} s (killed)") from None
    with os.fdopen(read_end) as pipe:  # the child wrote it before exiting
        result = json.loads(pipe.read() or "{}")
    assert "error" not in result, result["error"]
    assert os.waitstatus_to_exitcode(exit_status[0]) == 0
    return result


def test_a_child_forked_during_a_publish_can_close_its_pools(settings):
    pytest.importorskip("prometheus_client", reason="needs prometheus_client")
    from mysqlpool.metrics.prometheus import PrometheusObserver

    settings.MYSQLPOOL_PROMETHEUS = True
    entry = django_settings.SERVER.django(USER=OTHER.user, PASSWORD=OTHER.password,
                                          OPTIONS={"pool": {"pool_size": 2}})
    with temporary_alias("forked", **entry):
        in_mid_round = PoolInMidRound("forked-mid-round")
        round_thread = threading.Thread(target=PrometheusObserver.instance().publish,
                                        args=(in_mid_round,))
        round_thread.start()
        ends_round = threading.Timer(ROUND_ENDS_AFTER, in_mid_round.finish.set)
        try:
            assert in_mid_round.reading.wait(30), "the round did not start"
            ends_round.start()
            result = run_in_forked_child(
                lambda: use_and_close_a_pool("forked", in_mid_round), CHILD_TIMEOUT)
        finally:
            in_mid_round.finish.set()
            ends_round.cancel()
            round_thread.join(30)
    # The fork waited for the round to end: no exporter lock taken under the
    # observer's was held at the fork either.
    assert result == {"round_over_at_fork": True}


# ----- exit ---------------------------------------------------------------------

#: A short command: one query on the "default" alias, then a normal exit once
#: a housekeeping round has published its connection (as any command lasting
#: over a second would have).
SHORT_COMMAND = textwrap.dedent("""
    import sys

    import django
    django.setup()
    from django.conf import settings
    from django.db import connections
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    from tests.support.waiting import wait_for

    settings.MYSQLPOOL_PROMETHEUS = True
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
    connections["default"].close()  # back in the pool: one idle connection

    def reported():
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=sys.argv[1])
        return sum(sample.value for family in registry.collect()
                   for sample in family.samples
                   if sample.name == "mysqlpool_connections"
                   and sample.labels.get("alias") == "default")

    wait_for(lambda: reported() == 1, 30, "no round published the idle connection")
""")


def gauge_sums(directory: Path, alias: str) -> dict[str, float]:
    """{gauge name: sum over processes} for ``alias``, as a multi-process scrape shows."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    sums: dict[str, float] = {}
    for family in registry.collect():
        if family.type != "gauge" or not family.name.startswith("mysqlpool_"):
            continue
        for sample in family.samples:
            if sample.labels.get("alias") == alias:
                sums[sample.name] = sums.get(sample.name, 0) + sample.value
    return sums


def test_a_normal_exit_takes_the_processes_gauges_out(tmp_path):
    pytest.importorskip("prometheus_client", reason="needs prometheus_client")
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run(  # killed if it outlasts the timeout
        [sys.executable, "-c", SHORT_COMMAND, str(directory)], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    sums = gauge_sums(directory, "default")
    assert sums == {"mysqlpool_connections": 0, "mysqlpool_max_connections": 0,
                    "mysqlpool_pending_requests": 0}
