"""Looking at a server as its admin user, on connections outside any pool."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from tests.support.waiting import wait_for

if TYPE_CHECKING:
    from tests.server import ServerAddress


def rows_of(connection: Any, sql: str, params: Any = None) -> list[tuple]:
    """Run ``sql`` on a DB-API ``connection``; its rows (none for a statement
    without a result set)."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        # The connector refuses fetchall() after a statement without rows (KILL).
        return list(cursor.fetchall()) if cursor.description else []
    finally:
        cursor.close()


class AdminQueries:
    """SQL as a server's admin user, on DB-API connections (in autocommit)
    from ``connect()``.

    By default one connection, opened at the first query and kept until
    :meth:`close`; ``per_query=True`` opens a connection for each query and
    closes it after (for a server that may be down or restarted in between).
    """

    def __init__(self, connect: Callable[[], Any], *, per_query: bool = False) -> None:
        self._connect = connect
        self._per_query = per_query
        self._connection: Any = None
        # One statement at a time on the kept connection (reentrant: a
        # subclass may hold it around several queries).
        self._lock = threading.RLock()

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        """Run ``sql`` (with ``params``, as the driver's execute() takes
        them); its rows, none for a statement without a result set."""
        if self._per_query:
            connection = self._connect()
            try:
                return rows_of(connection, sql, params)
            finally:
                connection.close()
        with self._lock:
            if self._connection is None:
                self._connection = self._connect()
            return rows_of(self._connection, sql, params)

    def connection_ids(self, user: str, database: str | None = None) -> set[int]:
        """The ids of ``user``'s connections on the server now (only those
        using ``database``, when given)."""
        sql = "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s"
        params: list[Any] = [user]
        if database is not None:
            sql += " AND DB = %s"
            params.append(database)
        return {row[0] for row in self.query(sql, params)}

    def all_connection_ids(self) -> set[int]:
        """The ids of every connection on the server now, the admin's own too."""
        return {row[0] for row in self.query("SELECT ID FROM information_schema.PROCESSLIST")}

    def kill(self, ids: Iterable[int]) -> None:
        """KILL each of ``ids``; one that has ended meanwhile is no error."""
        for number in ids:
            with contextlib.suppress(Exception):
                self.query(f"KILL {int(number)}")

    def wait_until_gone(self, ids: set[int], timeout: float = 10) -> None:
        """Poll PROCESSLIST until none of ``ids`` is left (the server closed them)."""
        wait_for(lambda: not (self.all_connection_ids() & ids), timeout,
                 f"connections {sorted(ids)} still on the server")

    def close(self) -> None:
        """Close the kept connection, if any; the next query opens another."""
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


def admin_queries(address: ServerAddress, *, per_query: bool = False,
                  **params: Any) -> AdminQueries:
    """AdminQueries as the admin user of the server at ``address``, in
    autocommit; ``params`` as tests.users.admin_connection() takes them."""
    from tests.users import admin_connection

    return AdminQueries(lambda: admin_connection(address, autocommit=True, **params),
                        per_query=per_query)
