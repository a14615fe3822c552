"""Database users the tests use besides the server's admin user.

Their names and passwords are made for each test run (a run's child processes
inherit them through ``MYSQLPOOL_TEST_RUN``), so that runs sharing a server
never share an account, and the run that created them drops them at its end:
no account with a known password is left on the server.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass

from tests.server import ServerAddress

RUN_VARIABLE = "MYSQLPOOL_TEST_RUN"
#: Whether this process started the run (and so drops the users at its end).
OWNS_RUN = RUN_VARIABLE not in os.environ
RUN = os.environ.setdefault(RUN_VARIABLE, secrets.token_hex(16))


@dataclass(frozen=True)
class User:
    user: str
    password: str


def _run_user(role: str) -> User:
    # The name under 32 characters (MySQL 8's limit); the password the same in
    # every process of the run, and nowhere else.
    digest = hashlib.sha256(f"{RUN}:{role}".encode()).hexdigest()[:20]
    return User(f"mysqlpool_{role}_{RUN[:8]}", f"{role}-Secret-{digest}")


OTHER = _run_user("other")
LIMITED = _run_user("limited")
USERS = (OTHER, LIMITED)


def admin_connection(server: ServerAddress, *, use_database: bool = True, **params):
    """A plain DB-API connection as the admin user, through whichever driver is installed.

    ``use_database=False`` connects without selecting the URL's database, which
    may not exist yet.
    """
    from mysqlpool.drivers import get_driver

    driver = get_driver(None)
    if use_database:
        params.setdefault("database", server.database)
    return driver.connect(driver.connect_params({
        "host": server.host, "port": server.port, "user": server.user,
        "password": server.password, **params,
    }))


def _run(server: ServerAddress, statements: list[str]) -> None:
    connection = admin_connection(server, use_database=False)
    try:
        cursor = connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        connection.commit()
    finally:
        connection.close()


def create_users(server: ServerAddress) -> None:
    """The URL's database (a fresh server may not have it) and this run's users."""
    statements = [f"CREATE DATABASE IF NOT EXISTS `{server.database}`"]
    for user in USERS:
        statements += [
            f"CREATE USER IF NOT EXISTS '{user.user}'@'%' IDENTIFIED BY '{user.password}'",
            f"GRANT ALL PRIVILEGES ON *.* TO '{user.user}'@'%'",
        ]
    _run(server, statements)


def drop_users(server: ServerAddress) -> None:
    """Remove this run's users (called once, by the process that started the run)."""
    _run(server, [f"DROP USER IF EXISTS '{user.user}'@'%'" for user in USERS])
