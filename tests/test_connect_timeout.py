"""OPTIONS["connect_timeout"] bounds every wait of the connect, on every driver;
the user's read_timeout applies to what comes after.

A frozen server's kernel still accepts TCP connections, and then nothing comes.
PyMySQL used to wait for ever for the greeting (it read it with read_timeout,
None by default), and a request waiting on a pool slot hung with it.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError, connections

import mysqlpool
from mysqlpool.backends.mysqlpool.base import DatabaseWrapper
from tests.wire import StalledServer, read_greeting, with_tls_offered

CONNECT_TIMEOUT = 2
#: The connect must have failed by then (the timeout, plus room for a busy machine).
BOUND = 4
#: How long the test waits for a connect that may never end, before it fails.
GIVE_UP = 15


pytestmark = pytest.mark.usefixtures("database_access")


def pooled_entry(host: str, port: int, **options: Any) -> dict:
    return {
        **connections["default"].settings_dict,
        "HOST": host,
        "PORT": str(port),
        "OPTIONS": {**options, "pool": {"pool_size": 1, "max_overflow": 0, "timeout": 10}},
    }


def connect_in_a_thread(settings_dict: dict, end_the_wait: Any) -> dict:
    """Connect a new pool's alias in a thread of its own; return ``error`` and
    ``elapsed``. A connect still waiting after GIVE_UP seconds fails the test,
    once ``end_the_wait()`` has ended it."""
    alias = f"stalled_{uuid.uuid4().hex[:8]}"
    outcome: dict = {}

    def connect() -> None:
        wrapper = DatabaseWrapper(settings_dict, alias)
        start = time.monotonic()
        try:
            wrapper.ensure_connection()
        except BaseException as exc:  # looked at in the test's thread
            outcome["error"] = exc
        outcome["elapsed"] = time.monotonic() - start
        with contextlib.suppress(Exception):
            wrapper.close()

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(GIVE_UP)
    still_waiting = thread.is_alive()
    end_the_wait()
    thread.join(GIVE_UP)
    mysqlpool.close_pool(alias)
    assert not still_waiting, (
        f"{settings.MYSQLPOOL_DRIVER}: still connecting after {GIVE_UP} s with "
        f"connect_timeout={CONNECT_TIMEOUT}")
    return outcome


@contextlib.contextmanager
def stalled(where: str) -> Iterator[tuple[dict, Any]]:
    """An alias's settings whose connect stops getting answers at ``where``, and
    what ends the wait."""
    if where == "statements at connect":
        # The server answers the login, then takes longer over a statement the
        # connect sends than the timeout allows.
        server = settings.SERVER
        yield pooled_entry(server.host, server.port, connect_timeout=CONNECT_TIMEOUT,
                           init_command=f"DO SLEEP({CONNECT_TIMEOUT + 3})"), lambda: None
        return
    greeting = {
        "greeting": None,
        "authentication": read_greeting(settings.SERVER.host, settings.SERVER.port),
        "TLS handshake": with_tls_offered(
            read_greeting(settings.SERVER.host, settings.SERVER.port)),
    }[where]
    options: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT}
    if where == "TLS handshake":
        options["ssl_mode"] = "REQUIRED"
    server = StalledServer(greeting)
    try:
        yield pooled_entry("127.0.0.1", server.port, **options), server.close
    finally:
        server.close()


@pytest.mark.parametrize("where", [
    "greeting", "TLS handshake", "authentication", "statements at connect",
])
def test_connect_timeout_bounds_the_connect(where):
    with stalled(where) as (settings_dict, end_the_wait):
        outcome = connect_in_a_thread(settings_dict, end_the_wait)
    assert "error" in outcome, f"connected although the server stalled at the {where}"
    assert isinstance(outcome["error"], OperationalError), repr(outcome["error"])
    assert outcome["elapsed"] < BOUND, outcome


def test_the_users_read_timeout_applies_after_the_connect():
    # connect_timeout does not cut a query short once connected; read_timeout does.
    server = settings.SERVER
    read_timeout = CONNECT_TIMEOUT + 2
    alias = f"timeouts_{uuid.uuid4().hex[:8]}"
    wrapper = DatabaseWrapper(pooled_entry(
        server.host, server.port, connect_timeout=CONNECT_TIMEOUT,
        read_timeout=read_timeout), alias)
    try:
        with wrapper.cursor() as cursor:
            cursor.execute(f"SELECT SLEEP({CONNECT_TIMEOUT + 1})")
            assert cursor.fetchone() == (0,)
            start = time.monotonic()
            with pytest.raises(OperationalError):
                cursor.execute(f"SELECT SLEEP({read_timeout + 5})")
            assert time.monotonic() - start < read_timeout + 2
    finally:
        with contextlib.suppress(Exception):
            wrapper.close()
        mysqlpool.close_pool(alias)
