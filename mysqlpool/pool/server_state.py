"""What the server behind a connection is now: whether it takes writes.

Asked once per new connection with ``target_session_attrs = "read-write"``,
and after an error that a demoted primary gives but that an application can
also cause itself on a server that takes writes (see checkout.py).
"""

from __future__ import annotations

from typing import Any

from ..drivers import Driver

#: The switches that make a server refuse writes. SHOW rather than SELECT
#: @@global...: the transaction default is tx_read_only on MariaDB before
#: 11.1 and transaction_read_only on MySQL 8, and SHOW lists whichever exist
#: without failing on the others (MySQL's super_read_only sets read_only too).
READ_ONLY_QUERY = (
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN "
    "('read_only', 'innodb_read_only', 'tx_read_only', 'transaction_read_only')"
)

#: Values a server gives for a switch that is off (MariaDB 11 reports
#: read_only as a word from a list: OFF, ON, NO_LOCK, NO_LOCK_NO_ADMIN).
_OFF = {"OFF", "0", ""}


def read_only(driver: Driver, connection: Any) -> bool:
    """Whether the server behind ``connection`` refuses writes: read_only,
    innodb_read_only, or transactions read-only by default. Raises the
    driver's error when the query fails."""
    cursor = driver.cursor(connection)
    try:
        cursor.execute(READ_ONLY_QUERY)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if not rows:
        raise driver.operational_error(
            2000, "the server answered SHOW GLOBAL VARIABLES with no read-only switch")
    return any(_text(value).upper() not in _OFF for _, value in rows)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)
