"""A process that used the pool and exits normally prints nothing about it, and
its connection, which Django never closes in the main thread, is rolled back
and closed: a transaction left open is not kept, its row locks are free once
the process is gone, and the server sees the connection closed, not dropped."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import Admin, wait_for
from tests.server import ThrowawayServer
from tests.support.admin import admin_queries
from tests.support.requirements import THROWAWAY_SERVER, require_binaries

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent("""
    import django
    django.setup()
    from django.db import connections

    # A query in the main thread, as a management command or a script runs one;
    # Django never closes that connection before the interpreter exits.
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
""")

#: A script that leaves a transaction open in the main thread: a row locked,
#: a row written, nothing committed. It says which server connection holds
#: them, and exits (normally) when told to.
OPEN_TRANSACTION = textwrap.dedent("""
    import sys
    import django
    django.setup()
    from django.db import connections, transaction

    transaction.set_autocommit(False)
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT id FROM {table} WHERE id = 1 FOR UPDATE")
        cursor.execute("INSERT INTO {table} (id, note) VALUES (2, 'uncommitted')")
        cursor.execute("SELECT CONNECTION_ID()")
        print(cursor.fetchone()[0], flush=True)
    sys.stdin.readline()
""")


def child_environment() -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}


def test_a_normal_exit_is_quiet():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=child_environment(),
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr


@pytest.fixture
def probe_table():
    """A table of this test's own in the child's database, with row 1 to lock.
    The admin's connection is to the URL's database, which the child uses
    (``DATABASES["default"]["NAME"]`` outside the test runner)."""
    table = f"exit_probe_{uuid.uuid4().hex[:12]}"
    admin = Admin()
    admin.query(f"CREATE TABLE {table} (id INT PRIMARY KEY, note VARCHAR(20)) ENGINE=InnoDB")
    admin.query(f"INSERT INTO {table} (id, note) VALUES (1, 'committed')")
    try:
        yield table, admin
    finally:
        admin.query(f"DROP TABLE IF EXISTS {table}")
        admin.close()


def open_transaction_of(admin: Admin, connection_id: int) -> tuple[int, int] | None:
    """(rows locked, rows modified) of the InnoDB transaction of ``connection_id``.

    INNODB_TRX is a cache InnoDB refreshes only when it was not read for 0.1 s:
    polled more often, it would never change."""
    rows = admin.query(
        "SELECT trx_rows_locked, trx_rows_modified FROM information_schema.INNODB_TRX "
        "WHERE trx_mysql_thread_id = %s", (connection_id,))
    return rows[0] if rows else None


def read_line(process: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        process.kill()
        raise AssertionError(f"the child printed nothing in {timeout} s: "
                             f"{process.communicate()[1]}")
    return process.stdout.readline()


def test_a_transaction_open_at_exit_is_rolled_back_quietly(probe_table):
    table, admin = probe_table
    process = subprocess.Popen(
        [sys.executable, "-c", OPEN_TRANSACTION.format(table=table)], cwd=ROOT,
        env=child_environment(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        line = read_line(process, 120)
        assert line.strip().isdigit(), (line, process.communicate(timeout=30)[1])
        connection_id = int(line)
        # The child really holds a lock and an uncommitted row right now.
        rows_locked, rows_modified = wait_for(
            lambda: open_transaction_of(admin, connection_id), 5,
            "the child's transaction is not in INNODB_TRX", interval=0.25)
        assert rows_locked >= 1 and rows_modified == 1
        _, stderr = process.communicate("exit\n", timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
    assert process.returncode == 0, stderr
    assert stderr == "", stderr

    # Another connection can lock the row (waiting at most 5 s for it), and
    # the uncommitted row is not there.
    checker = Admin()
    try:
        checker.query("SET SESSION innodb_lock_wait_timeout = 5")
        checker.query("START TRANSACTION")
        started = time.monotonic()
        assert checker.query(f"SELECT note FROM {table} WHERE id = 1 FOR UPDATE") == [
            ("committed",)]
        waited = time.monotonic() - started
        # A fresh read view (the first consistent read of this transaction,
        # taken after the lock): a committed row 2 would show.
        assert checker.query(f"SELECT id FROM {table} ORDER BY id") == [(1,)]
        checker.query("ROLLBACK")
    finally:
        checker.close()
    assert waited < 5
    wait_for(lambda: open_transaction_of(admin, connection_id) is None, 5,
             "the child's transaction is still listed in INNODB_TRX", interval=0.25)


# ----- the connection is closed, not dropped -----------------------------------------

#: Uses the connection, says which it is, and exits with it still checked out.
SAYS_ITS_CONNECTION = textwrap.dedent("""
    import django
    django.setup()
    from django.db import connections, transaction

    if {transaction_open}:
        transaction.set_autocommit(False)
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        print(cursor.fetchone()[0], flush=True)
""")


@pytest.fixture(scope="module")
def private_server():
    """A server only this module's child processes use: its count of aborted
    clients is theirs."""
    require_binaries(*THROWAWAY_SERVER)
    server = ThrowawayServer()
    server.start()
    admin_queries(server.address, per_query=True, use_database=False).query(
        f"CREATE DATABASE {server.address.database}")
    yield server
    server.destroy()


def server_status(server: ThrowawayServer, sql: str) -> list[tuple]:
    return admin_queries(server.address, per_query=True).query(sql)


def aborted_clients(server: ThrowawayServer) -> int:
    return int(server_status(server, "SHOW GLOBAL STATUS LIKE 'Aborted_clients'")[0][1])


@pytest.mark.parametrize("transaction_open", [False, True],
                         ids=["autocommit", "transaction-open"])
def test_a_connection_open_at_exit_is_closed_not_dropped(private_server, transaction_open):
    """The server counts no aborted client for it: a connection dropped
    without COM_QUIT is one (Aborted_clients, and an "Aborted connection"
    note in the server's error log)."""
    address = private_server.address
    before = aborted_clients(private_server)
    done = subprocess.run(
        [sys.executable, "-c", SAYS_ITS_CONNECTION.format(transaction_open=transaction_open)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**child_environment(), "MYSQLPOOL_TEST_URL":
             f"mysql://root@{address.host}:{address.port}/{address.database}"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    connection_id = int(done.stdout)
    # The server has finished with the connection (and counted it) once
    # PROCESSLIST no longer lists it.
    listed = f"SELECT ID FROM information_schema.PROCESSLIST WHERE ID = {connection_id}"
    wait_for(lambda: not server_status(private_server, listed), 10,
             "the child's connection is still on the server")
    assert aborted_clients(private_server) == before, "the connection was dropped, not closed"
