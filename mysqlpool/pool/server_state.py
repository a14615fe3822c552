"""What the server behind a connection is now: whether it takes writes,
whether it replicates and how far behind.

Asked once per new connection with a ``target_session_attrs`` other than
"any", by housekeeping for the lag of replicas it holds idle connections to
(with ``max_replication_lag``), and after an error that a demoted primary
gives but that an application can also cause itself on a server that takes
writes (failover_reason).
"""

from __future__ import annotations

from typing import Any

from ..drivers import Driver
from ..targets import LAG_PRIVILEGE, ServerState

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


#: Server errors that mean the server is no longer the one to write to: a
#: primary demoted or a proxy/DNS switch under way (go-sql-driver and
#: node-mysql2 drop connections on the same codes).
FAILOVER_ERRORS = {
    1290: "running with --read-only",
    1792: "read-only transaction",
    1836: "read-only mode",
    1047: "Galera node not ready",
    1053: "server shutdown in progress",
}

#: Of those, the ones an application also gets from a server that takes
#: writes: 1792 in its own START TRANSACTION READ ONLY, 1290 for
#: --secure-file-priv and other options. A failover is concluded on them only
#: once the server says it is read-only.
CONFIRMED_BY_READ_ONLY = frozenset({1290, 1792, 1836})


def failover_reason(driver: Driver, connection: Any, code: int | None) -> str | None:
    """Why error ``code``, just raised on ``connection``, means that its server
    is no longer the one to write to (a failover), or None: another error, or
    one of CONFIRMED_BY_READ_ONLY from a server that takes writes (the
    application's own). Raises what the driver raises when the server cannot
    say whether it is read-only."""
    if code not in FAILOVER_ERRORS:
        return None
    if code in CONFIRMED_BY_READ_ONLY and not read_only(driver, connection):
        return None
    return f"the server answered {code} ({FAILOVER_ERRORS[code]})"


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


#: SHOW REPLICA STATUS: MariaDB 10.5 and MySQL 8.0.22 on; SHOW SLAVE STATUS before.
REPLICA_STATUS_QUERIES = ("SHOW REPLICA STATUS", "SHOW SLAVE STATUS")
#: The lag column: MariaDB's (and MySQL's before 8.0.22), then MySQL 8.4's.
_LAG_COLUMNS = ("Seconds_Behind_Master", "Seconds_Behind_Source")
#: The server's "syntax error" and "access denied; you need ... privilege".
_SYNTAX_ERROR, _NO_PRIVILEGE = 1064, 1227


def describe(driver: Driver, connection: Any, replication: bool) -> ServerState:
    """What the server behind ``connection`` is; ``replication``: with its
    replication status (whether it replicates, its lag). Raises the driver's
    error when a query fails, but for a missing privilege to read the lag."""
    why = not_writable(driver, connection)
    if not replication:
        return ServerState(not_writable=why)
    try:
        replica, lag = replica_status(driver, connection)
    except driver.dbapi.Error as exc:
        if driver.error_code(exc) != _NO_PRIVILEGE:
            raise
        return ServerState(not_writable=why, lag_unreadable=(
            f"cannot read its replication lag: the user needs {LAG_PRIVILEGE}"))
    return ServerState(not_writable=why, replica=replica, lag=lag)


def replica_status(driver: Driver, connection: Any) -> tuple[bool, float | None]:
    """Whether the server replicates, and its lag in seconds as it reports it
    (None: unknown, a replication thread stopped). With several sources, the
    largest lag."""
    for query in REPLICA_STATUS_QUERIES:
        try:
            columns, rows = _query(driver, connection, query)
        except driver.dbapi.Error as exc:
            if driver.error_code(exc) == _SYNTAX_ERROR and query != REPLICA_STATUS_QUERIES[-1]:
                continue  # a server older than SHOW REPLICA STATUS
            raise
        break
    if not rows:
        return False, None
    column = next(index for index, name in enumerate(columns) if name in _LAG_COLUMNS)
    lags = [row[column] for row in rows]
    if any(lag is None for lag in lags):
        return True, None
    return True, float(max(int(_text(lag)) for lag in lags))


def _query(driver: Driver, connection: Any, query: str) -> tuple[list[str], list[tuple]]:
    cursor = driver.cursor(connection)
    try:
        cursor.execute(query)
        columns = [_text(column[0]) for column in cursor.description or ()]
        rows = list(cursor.fetchall())
    finally:
        cursor.close()
    return columns, rows


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
