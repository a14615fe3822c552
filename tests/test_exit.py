"""A process that used the pool and exits normally prints nothing about it, and
a transaction it left open at exit is rolled back: its write is not kept and
its row locks are free once the process is gone."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import wait_for
from tests.users import admin_connection

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


class Admin:
    """The admin's own connection to the database the child process uses
    (``DATABASES["default"]["NAME"]`` outside the test runner: the URL's)."""

    def __init__(self) -> None:
        self.connection = admin_connection(settings.SERVER, autocommit=True)

    def query(self, sql: str, params=None) -> list[tuple]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.close()


@pytest.fixture
def probe_table():
    """A table of this test's own in the child's database, with row 1 to lock."""
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
