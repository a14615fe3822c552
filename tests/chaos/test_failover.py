"""Failover and host choice: a failover is concluded only when the server really
refuses writes, once per event; a host whose read-write check fails is skipped;
a password is asked for once per connection, and a refused login marks no host
down."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator

import pytest
from django.db import DatabaseError, OperationalError, connections

import mysqlpool
from mysqlpool.pool.server_state import READ_ONLY_QUERY
from tests.chaos.conftest import (
    APP,
    connection_id,
    hold_concurrently,
    record,
    request,
    wait_for,
)
from tests.chaos.proxies import QueryRefusingRelay
from tests.support.net import closed_port

pytestmark = pytest.mark.chaos

DRIVER = os.environ.get("MYSQLPOOL_DRIVER") or "detected driver"


def error_code(exc: BaseException) -> int | None:
    cause = exc.__cause__ or exc
    return cause.args[0] if cause.args and isinstance(cause.args[0], int) else None


def write_in_a_read_only_transaction(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("START TRANSACTION READ ONLY")
        try:
            cursor.execute("INSERT INTO app_item (name, quantity, created) "
                           "VALUES ('ro', 1, NOW())")
        finally:
            cursor.execute("ROLLBACK")


def export_outside_the_allowed_directory(alias: str) -> None:
    # --secure-file-priv names one directory; any other path is refused (1290).
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1 INTO OUTFILE '/mysqlpool-not-allowed/out.txt'")


@pytest.mark.parametrize(("statement", "code"), [
    (write_in_a_read_only_transaction, 1792),
    (export_outside_the_allowed_directory, 1290),
], ids=["1792-read-only-transaction", "1290-secure-file-priv"])
def test_an_applications_own_read_only_error_is_not_a_failover(
        server, pooled_alias, caplog, statement, code):
    alias = pooled_alias(pool={"pool_size": 4, "max_overflow": 0})
    held = set(hold_concurrently(alias, 4))
    before = mysqlpool.stats()[alias]
    with caplog.at_level(logging.WARNING, logger="mysqlpool"), \
            pytest.raises(DatabaseError) as raised:
        request(lambda: statement(alias))
    assert error_code(raised.value) == code, raised.value
    after = mysqlpool.stats()[alias]
    assert (after["failovers"], after["invalidations"]) == (0, before["invalidations"])
    assert after["idle"] == 4
    assert [entry.getMessage() for entry in caplog.records] == []
    # The same connections go on serving.
    assert set(hold_concurrently(alias, 4)) == held


def set_transactions_read_only(server, on: bool) -> None:
    """The server's default transaction mode (MySQL 8 and MariaDB 11.1 spell it
    transaction_read_only, older MariaDB tx_read_only)."""
    try:
        server.query(f"SET GLOBAL transaction_read_only = {int(on)}")
    except Exception:  # noqa: BLE001 - the older name
        server.query(f"SET GLOBAL tx_read_only = {int(on)}")


def test_a_server_whose_transactions_are_read_only_fails_over_on_1792(server, pooled_alias):
    alias = pooled_alias(pool={"pool_size": 2, "max_overflow": 0})
    set_transactions_read_only(server, True)
    try:
        with pytest.raises(DatabaseError) as raised:
            request(lambda: write(connections[alias]))
    finally:
        set_transactions_read_only(server, False)
    assert error_code(raised.value) == 1792, raised.value
    assert mysqlpool.stats()[alias]["failovers"] == 1


def test_errors_on_connections_from_before_a_failover_do_not_repeat_it(server, pooled_alias):
    # Two requests still on the old primary when it became read-only both get
    # 1290; the second must not move the failover on and so drop the
    # connections opened meanwhile (to the new primary, in a real switch).
    alias = pooled_alias(pool={"pool_size": 3, "max_overflow": 0})
    first, second = connections.create_connection(alias), connections.create_connection(alias)
    try:
        first.ensure_connection()
        second.ensure_connection()
        server.query("SET GLOBAL read_only = 1")
        try:
            with pytest.raises(DatabaseError):
                request(lambda: write(first))
            opened_since = request(lambda: connection_id(alias))
            with pytest.raises(DatabaseError):
                request(lambda: write(second))
        finally:
            server.query("SET GLOBAL read_only = 0")
    finally:
        first.close()
        second.close()
    stats = mysqlpool.stats()[alias]
    assert stats["failovers"] == 1
    assert opened_since in set(hold_concurrently(alias, 3)), \
        "a connection opened after the failover was replaced"


def write(wrapper) -> None:
    with wrapper.cursor() as cursor:
        cursor.execute("INSERT INTO app_item (name, quantity, created) VALUES ('w', 1, NOW())")


@contextlib.contextmanager
def refusing_relay(server, refuse_with,
                   marker: str = READ_ONLY_QUERY) -> Iterator[QueryRefusingRelay]:
    """A relay in front of ``server`` answering the queries that contain
    ``marker`` (by default the pool's read-only check) with ``refuse_with``."""
    relay = QueryRefusingRelay(("127.0.0.1", server.port), marker.encode(), refuse_with)
    try:
        yield relay
    finally:
        relay.close()


#: In the one statement a relay answers with an error of its own.
REFUSED_WRITE = "failover-probe"


def write_the_relay_refuses(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("INSERT INTO app_item (name, quantity, created) "
                       f"VALUES ('{REFUSED_WRITE}', 1, NOW())")


@pytest.mark.parametrize(("code", "message", "server_read_only"), [
    (1836, "Running in read-only mode", True),
    (1053, "Server shutdown in progress", False),
], ids=["1836-read-only-mode", "1053-shutdown-in-progress"])
def test_a_failover_error_replaces_every_connection_opened_before(
        server, pooled_alias, caplog, code, message, server_read_only):
    """A statement failing with 1836 (read-only mode) or 1053 (shutdown in
    progress) closes its connection and replaces every connection the pool
    opened before: none of them serves again, and there is one failover.

    The error is a relay's answer to the statement: MariaDB 10.11 raises 1836
    only as a warning (with --innodb-read-only a write fails with 1036), and at
    shutdown closes its clients' connections without sending 1053 (a
    statement under way gets 2013). On 1836 the pool asks the server whether
    it is read-only before concluding a failover: it is, meanwhile."""
    with refusing_relay(server, (code, message), marker=REFUSED_WRITE) as relay:
        alias = pooled_alias(host=f"127.0.0.1:{relay.port}",
                             pool={"pool_size": 4, "max_overflow": 0})
        before = set(hold_concurrently(alias, 4))
        if server_read_only:
            server.query("SET GLOBAL read_only = 1")
        try:
            with caplog.at_level(logging.WARNING, logger="mysqlpool"), \
                    pytest.raises(DatabaseError) as raised:
                request(lambda: write_the_relay_refuses(alias))
        finally:
            if server_read_only:
                server.query("SET GLOBAL read_only = 0")
        assert error_code(raised.value) == code, raised.value
        assert relay.refused == 1
        assert mysqlpool.stats()[alias]["failovers"] == 1
        assert [entry.getMessage() for entry in caplog.records
                if f"answered {code}" in entry.getMessage()], "the failover was not logged"
        after: list[int] = []
        for _ in range(3):
            after += hold_concurrently(alias, 4)
        assert before & set(after) == set(), "a connection opened before the failover served again"
        request(lambda: write(connections[alias]))
        assert mysqlpool.stats()[alias]["failovers"] == 1
    record(f"failover on {code} ({DRIVER}): {len(set(after))} new connections, none of the "
           f"{len(before)} from before reused")


def test_a_1836_from_a_server_that_takes_writes_is_not_a_failover(server, pooled_alias, caplog):
    """1836 from a server that says it takes writes (here a relay's answer to
    one statement, the server behind it writable) is that statement's error:
    no failover, and the pool's connections go on serving."""
    with refusing_relay(server, (1836, "Running in read-only mode"),
                        marker=REFUSED_WRITE) as relay:
        alias = pooled_alias(host=f"127.0.0.1:{relay.port}",
                             pool={"pool_size": 4, "max_overflow": 0})
        held = set(hold_concurrently(alias, 4))
        before = mysqlpool.stats()[alias]
        with caplog.at_level(logging.WARNING, logger="mysqlpool"), \
                pytest.raises(DatabaseError) as raised:
            request(lambda: write_the_relay_refuses(alias))
        assert error_code(raised.value) == 1836, raised.value
        assert relay.refused == 1
        after = mysqlpool.stats()[alias]
        assert (after["failovers"], after["invalidations"]) == (0, before["invalidations"])
        assert after["idle"] == 4
        assert [entry.getMessage() for entry in caplog.records] == []
        assert set(hold_concurrently(alias, 4)) == held


@pytest.mark.parametrize("refuse_with", [
    (9001, "Max connect timeout reached while reaching hostgroup 0 after 10000ms"),
    None,
], ids=["proxy-error-9001", "lost-connection"])
def test_a_failed_read_write_check_skips_to_the_next_host(server, pooled_alias, refuse_with):
    # A proxy whose backend is gone accepts the login, then fails the check
    # query. The check's failure used to leave the connect: the healthy host
    # after it was never tried, and every request failed.
    with refusing_relay(server, refuse_with) as relay:
        proxy, healthy = f"127.0.0.1:{relay.port}", f"127.0.0.1:{server.port}"
        alias = pooled_alias(
            host=f"{proxy},{healthy}",
            pool={"pool_size": 2, "max_overflow": 0, "target_session_attrs": "read-write",
                  "host_retry_after": 60})
        request(lambda: connection_id(alias))
        assert relay.refused == 1
        ids = hold_concurrently(alias, 2)  # one more connection: the proxy is skipped
        assert len(set(ids)) == 2
        assert relay.refused == 1, "a host whose check failed was not marked down"
        wait_for(lambda: relay.open_clients == 0, 10,
                 "the connection to the proxy was left open")
        assert mysqlpool.stats()[alias]["hosts"] == {proxy: 0, healthy: 2}
    record(f"read-write check refused by a proxy ({refuse_with and refuse_with[0]}, "
           f"{DRIVER}): next host used, proxy skipped")


class CountingProvider:
    """A password_provider that counts its calls."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, settings_dict) -> str:
        with self._lock:
            self.calls += 1
        return self.password


def test_a_password_is_asked_for_once_per_connection(server, pooled_alias):
    provider = CountingProvider(APP.password)
    alias = pooled_alias(host=f"127.0.0.1:{closed_port()},127.0.0.1:{server.port}",
                         pool={"pool_size": 1, "max_overflow": 0,
                               "password_provider": provider})
    request(lambda: connection_id(alias))
    assert provider.calls == 1, "asked again for each host tried"


def test_a_refused_login_marks_no_host_down(server, pooled_alias):
    provider = CountingProvider("not-the-password")
    with refusing_relay(server, None) as second:
        alias = pooled_alias(host=f"127.0.0.1:{server.port},127.0.0.1:{second.port}",
                             pool={"pool_size": 1, "max_overflow": 0,
                                   "password_provider": provider, "host_retry_after": 60})
        with pytest.raises(OperationalError) as raised:
            request(lambda: connection_id(alias))
        assert error_code(raised.value) == 1045, raised.value
        # Once, and once more in case it was rotated just then; not per host.
        assert provider.calls == 2
        assert second.accepted == 0, "the same credentials were tried on every host"
        provider.password = APP.password
        request(lambda: connection_id(alias))
        assert second.accepted == 0, "the first host was marked down for a refused login"
        assert mysqlpool.stats()[alias]["password_retries"] == 1
