"""``OPTIONS["write_timeout"]`` bounds a statement's send to a server that has
stopped reading (a frozen host: its socket buffers fill up), on every driver,
and the connection it gave up on, with half a statement sent, is replaced."""

from __future__ import annotations

import os
import threading
import time

import pytest
from django.db import OperationalError, connections

import mysqlpool
from tests.chaos.conftest import connection_id, record, request

pytestmark = pytest.mark.chaos

DRIVER = os.environ.get("MYSQLPOOL_DRIVER") or "detected driver"
WRITE_TIMEOUT = 1
READ_TIMEOUT = 5
#: More than the socket buffers of both ends take on loopback (a few MB), less
#: than the drivers' max_allowed_packet (16 MB): the send blocks half-way.
STATEMENT_BYTES = 12 * 1024 * 1024


def send_a_large_statement(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT LENGTH('" + "x" * STATEMENT_BYTES + "')")


def test_write_timeout_fails_a_send_to_a_server_that_stopped_reading(server, pooled_alias):
    # read_timeout bounds, in this test, any wait for an answer that cannot
    # come (the server waits for the rest of the statement).
    alias = pooled_alias(pool={"pool_size": 1, "max_overflow": 0},
                         write_timeout=WRITE_TIMEOUT, read_timeout=READ_TIMEOUT)
    sent: dict[str, float] = {}

    def send_to_a_frozen_server() -> int:
        first = connection_id(alias)  # checked out (and used) before the freeze
        server.freeze()
        # A driver that ignored write_timeout would wait for ever on the
        # frozen server: thawed in 10 s whatever happens, it then answers.
        safety = threading.Timer(10, server.thaw)
        safety.start()
        try:
            sent["started"] = time.monotonic()
            with pytest.raises(OperationalError):
                send_a_large_statement(alias)
            sent["failed"] = time.monotonic()
        finally:
            safety.cancel()
            server.thaw()
        return first

    first = request(send_to_a_frozen_server)
    ended = time.monotonic()
    took = sent["failed"] - sent["started"]
    # Given up after the write timeout, not after the read timeout.
    assert WRITE_TIMEOUT - 0.1 <= took < WRITE_TIMEOUT + 2, took
    # The end of the request (Django's check of a connection that had an
    # error, then the return) does not wait on the half-sent statement.
    assert ended - sent["failed"] < 2, f"the request ended {ended - sent['failed']:.1f} s later"
    # That connection is not reused: a new one answers.
    assert request(lambda: connection_id(alias)) != first
    assert mysqlpool.stats()[alias]["invalidations"] == 1
    record(f"write_timeout={WRITE_TIMEOUT} ({DRIVER}): a 12 MB statement to a frozen "
           f"server failed after {took:.2f} s, the request ended "
           f"{ended - sent['failed']:.2f} s later")
