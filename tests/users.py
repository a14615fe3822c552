"""Database users the tests use besides the server's admin user."""

from __future__ import annotations

from dataclasses import dataclass

from tests.server import ServerAddress


@dataclass(frozen=True)
class User:
    user: str
    password: str


OTHER = User("mysqlpool_other", "other-Secret-9f3b")
LIMITED = User("mysqlpool_limited", "limited-Secret-4c1d")


def admin_connection(server: ServerAddress, **params):
    """A plain DB-API connection as the admin user, through whichever driver is installed."""
    from mysqlpool.drivers import get_driver

    driver = get_driver(None)
    return driver.connect(driver.connect_params({
        "host": server.host, "port": server.port, "user": server.user,
        "password": server.password, "database": server.database, **params,
    }))


def create_users(server: ServerAddress) -> None:
    connection = admin_connection(server)
    try:
        cursor = connection.cursor()
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{server.database}`")
        for user in (OTHER, LIMITED):
            cursor.execute(
                f"CREATE USER IF NOT EXISTS '{user.user}'@'%' IDENTIFIED BY '{user.password}'"
            )
            cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{user.user}'@'%'")
        connection.commit()
    finally:
        connection.close()
