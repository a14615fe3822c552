"""uvicorn (ASGI) with an async view: the ORM's aget() and acount()."""

from __future__ import annotations

import sys

import pytest

from tests.support.net import free_port

from .conftest import (
    MAX_OVERFLOW,
    POOL_SIZE,
    assert_quiet,
    bin_path,
    get,
    project_env,
    record,
)

pytestmark = pytest.mark.deploy


def test_uvicorn_async_views(services, database, wrk):
    """Two uvicorn workers serving an async view (aget, acount) under wrk: 0
    errors, at most workers × (pool_size + max_overflow) server connections,
    and a clean exit."""
    workers = 2
    port = free_port()
    server = services(
        "uvicorn",
        [sys.executable, bin_path("uvicorn"), "deploysite.asgi:application", "--host",
         "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         "--timeout-graceful-shutdown", "10"],
        project_env(database, DEPLOY_DRIVER="pymysql"), port=port,
    )
    server.wait_until_serving("/async/")
    assert get(server.url + "/async/") == (200, b"one 1")
    load = wrk(database, server.url + "/async/", seconds=3, connections=100)
    record(f"uvicorn --workers {workers}, async view (aget, acount): {load.rps:.0f} req/s, "
           f"{load.errors} errors, peak {load.peak_connections} server connections")
    assert load.requests > 0 and load.errors == 0, load.output
    assert 1 <= load.peak_connections <= workers * (POOL_SIZE + MAX_OVERFLOW)
    server.stop()
    assert_quiet(server)
