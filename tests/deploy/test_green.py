"""Green threads: gevent's and eventlet's monkey-patching, the driver
detection under it, and ``manage.py check``'s warning (mysqlpool.W001)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from .conftest import POOL_SIZE, PROJECT, ConnectionSampler, project_env, record

pytestmark = pytest.mark.deploy

both_drivers = pytest.mark.skipif(
    importlib.util.find_spec("MySQLdb") is None or importlib.util.find_spec("pymysql") is None,
    reason="needs mysqlclient and PyMySQL installed (tox -e py312-deploy)",
)


def run(database, *args: str, timeout: float = 120, **env: str | None):
    result = subprocess.run([sys.executable, *args], cwd=PROJECT, capture_output=True,
                            text=True, timeout=timeout, env=project_env(database, **env))
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.mark.parametrize("library", ["gevent", "eventlet"])
def test_green_threads_share_the_pool_without_blocking_the_hub(database, library):
    """50 green threads × 5 requests of a 20 ms query on pool_size=10, PyMySQL:
    all 250 succeed (no PoolTimeout, no deadlock), at most pool_size server
    connections, and the queries overlap (counted as they run). The time they
    took and the longest hold-up of the hub (a ticker green thread) are
    recorded."""
    with ConnectionSampler(database) as sampler:
        result = run(database, "green_requests.py", library, DEPLOY_DRIVER="pymysql",
                     DEPLOY_POOL_TIMEOUT="10")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    record(f"{library}, 50 green threads × 5 requests: {summary['done']} done, "
           f"{len(summary['errors'])} errors in {summary['elapsed']:.2f} s "
           f"({summary['done'] / summary['elapsed']:.0f} req/s), longest hub stall "
           f"{summary['max_gap'] * 1000:.0f} ms, {summary['most_at_once']} queries at once, "
           f"peak {sampler.peak} server connections")
    assert summary["errors"] == [] and summary["done"] == 250
    assert summary["stats"]["timeouts"] == 0 and summary["stats"]["checked_out"] == 0
    assert summary["stats"]["connects"] <= POOL_SIZE
    assert sampler.peak <= POOL_SIZE
    # Queries overlapped: green threads ran while others waited for the server.
    assert summary["most_at_once"] >= 2, summary


@both_drivers
def test_detection_prefers_a_cooperative_driver_when_patched(database):
    """MYSQLPOOL_DRIVER unset, mysqlclient and PyMySQL installed: mysqlclient
    in a plain process, PyMySQL once gevent or eventlet has patched it."""
    chosen = {
        patch: run(database, "which_driver.py", *([patch] if patch else []),
                   DEPLOY_DRIVER=None).stdout.split()[-1]
        for patch in (None, "gevent", "eventlet")
    }
    assert chosen == {None: "mysqlclient", "gevent": "pymysql", "eventlet": "pymysql"}


@both_drivers
def test_check_warns_when_green_threads_would_be_blocked(database):
    """manage.py check: mysqlpool.W001 when MYSQLPOOL_DRIVER = "mysqlclient" and
    gevent/eventlet are installed, naming them and the fix; nothing when it is
    unset (green-thread processes would detect PyMySQL)."""
    manage = [str(PROJECT / "manage.py"), "check"]
    warned = run(database, *manage, DEPLOY_DRIVER="mysqlclient").stderr
    assert "mysqlpool.W001" in warned, warned
    assert "gevent and eventlet are installed" in warned
    assert 'MYSQLPOOL_DRIVER = "pymysql"' in warned
    quiet = run(database, *manage, DEPLOY_DRIVER=None)
    assert "mysqlpool.W001" not in quiet.stdout + quiet.stderr
