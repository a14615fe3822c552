"""What the server behind a connection is now: whether it takes writes.

Asked once per new connection with ``target_session_attrs = "read-write"``,
and after an error that a demoted primary gives but that an application can
also cause itself on a server that takes writes (see checkout.py).
"""

from __future__ import annotations

from typing import Any

from ..drivers import Driver

#: Both exist on MariaDB (10.0 and newer) and MySQL (5.6 and newer); MySQL's
#: super_read_only sets read_only too.
READ_ONLY_QUERY = "SELECT @@global.read_only, @@global.innodb_read_only"

#: Values a server gives for a switch that is off (MariaDB 11 reports
#: read_only as a word rather than a number).
_OFF = {0, "0", "OFF", "off", b"0", b"OFF", None}


def read_only(driver: Driver, connection: Any) -> bool:
    """Whether the server behind ``connection`` refuses writes (read_only or
    innodb_read_only). Raises the driver's error when the query fails."""
    cursor = driver.cursor(connection)
    try:
        cursor.execute(READ_ONLY_QUERY)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return any(value not in _OFF for value in row)
