"""What the server behind a connection is now: whether it takes writes.

Asked once per new connection with ``target_session_attrs = "read-write"``,
and after an error that a demoted primary gives but that an application can
also cause itself on a server that takes writes (see checkout.py).
"""

from __future__ import annotations

from typing import Any

from ..drivers import Driver

#: The switches that make a server refuse writes, and Galera's. SHOW rather
#: than SELECT @@global...: the transaction default is tx_read_only on MariaDB
#: before 11.1 and transaction_read_only on MySQL 8, and SHOW lists whichever
#: exist without failing on the others (MySQL's super_read_only sets
#: read_only too). A Galera node that is not ready still answers SHOW.
READ_ONLY_QUERY = (
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN "
    "('read_only', 'innodb_read_only', 'tx_read_only', 'transaction_read_only', "
    "'wsrep_on', 'wsrep_reject_queries')"
)
#: Whether a Galera node has joined and synced (a status, not a variable).
GALERA_READY_QUERY = "SHOW GLOBAL STATUS WHERE Variable_name = 'wsrep_ready'"

_READ_ONLY_SWITCHES = ("read_only", "innodb_read_only", "tx_read_only",
                       "transaction_read_only")
#: Values a server gives for a switch that is off (MariaDB 11 reports
#: read_only as a word from a list: OFF, ON, NO_LOCK, NO_LOCK_NO_ADMIN).
_OFF = {"OFF", "0", ""}


def read_only(driver: Driver, connection: Any) -> bool:
    """Whether the server behind ``connection`` refuses writes: read_only,
    innodb_read_only, or transactions read-only by default. Raises the
    driver's error when the query fails."""
    return _read_only(_show(driver, connection, READ_ONLY_QUERY))


def not_writable(driver: Driver, connection: Any) -> str | None:
    """Why the server behind ``connection`` cannot take writes now (read-only,
    or a Galera node that is not ready or rejects queries), or None."""
    variables = _show(driver, connection, READ_ONLY_QUERY)
    if _read_only(variables):
        return "read-only"
    if variables.get("wsrep_on", "OFF").upper() == "ON":
        if variables.get("wsrep_reject_queries", "NONE").upper() != "NONE":
            return "a Galera node that rejects queries (wsrep_reject_queries)"
        ready = _show(driver, connection, GALERA_READY_QUERY).get("wsrep_ready", "")
        if ready.upper() != "ON":
            return "a Galera node that is not ready"
    return None


def _read_only(variables: dict[str, str]) -> bool:
    switches = [variables[name] for name in _READ_ONLY_SWITCHES if name in variables]
    if not switches:
        raise ValueError("the server answered SHOW GLOBAL VARIABLES with no read-only switch")
    return any(value.upper() not in _OFF for value in switches)


def _show(driver: Driver, connection: Any, query: str) -> dict[str, str]:
    cursor = driver.cursor(connection)
    try:
        cursor.execute(query)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return {_text(name).lower(): _text(value) for name, value in rows}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)
