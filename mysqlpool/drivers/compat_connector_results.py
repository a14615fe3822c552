"""What a statement returns over mysql-connector's pure-Python connection, as
mysqlclient gives it: its values (the converter), its column descriptions
(the protocol), the connection's status after it, and the buffered cursor
that holds its rows (see compat_connector for the connection)."""

from __future__ import annotations

import importlib
import struct
import types
from typing import Any

from django.db.backends.utils import typecast_time

from .compat_cursor import NUM_FLAG, NUMERIC_TYPES, MySQLdbCursor
from .compat_errors import server_gone

DRIVER = "mysql-connector"


def converter_class(dbapi: types.ModuleType) -> type:
    """The connector's converter for Django, giving mysqlclient's values."""
    django_base: Any = importlib.import_module("mysql.connector.django.base")

    class MySQLdbLikeConverter(django_base.DjangoMySQLConverter):
        def _uuid_to_mysql(self, value: Any) -> bytes:
            # As mysqlclient sends a UUID (str()); MariaDB 10.7+ has a UUID
            # column type, for which Django passes uuid.UUID values as they are.
            return str(value).encode()

        @staticmethod
        def _time_to_python(value: bytes, dsc: Any = None) -> Any:
            # The converter Django gives mysqlclient (typecast_time), not the
            # connector's (dateparse.parse_time: None for what it cannot read).
            return typecast_time(value.decode())

        @staticmethod
        def _bit_to_python(value: bytes, dsc: Any = None) -> bytes:
            return bytes(value)  # mysqlclient has no converter for BIT: the bytes

        def _set_to_python(self, value: bytes, dsc: Any = None) -> str:
            return value.decode(self.charset)  # mysqlclient: the text, "a,b"

    return MySQLdbLikeConverter


def protocol() -> Any:
    """The connector's protocol, keeping each column's length and decimals
    (mysqlclient's cursor.description has them; the connector drops them)."""
    base: Any = importlib.import_module("mysql.connector.protocol").MySQLProtocol

    class Protocol(base):
        @staticmethod
        def parse_column(packet: bytes, encoding: str = "utf-8") -> tuple:
            # The connector's, keeping length and decimals for description.
            read = importlib.import_module("mysql.connector.utils").read_lc_string
            packet, _ = read(packet[4:])
            packet, _ = read(packet)
            packet, _ = read(packet)
            packet, _ = read(packet)
            packet, name = read(packet)
            packet, _ = read(packet)
            charset, length, column_type, flags, decimals = struct.unpack("<xHIBHBxx", packet)
            null_ok = 0 if flags & 1 else 1  # NOT_NULL_FLAG
            if column_type in NUMERIC_TYPES:
                flags |= NUM_FLAG  # as the C client library adds it
            return (name.decode(encoding), column_type, None, length, length, decimals,
                    null_ok, flags, charset)

    return Protocol()


def read_result(db: Any, result: dict) -> tuple[tuple, tuple, tuple] | None:
    """The connector's ``result`` of a statement on ``db``, as mysqlclient
    reports it: the connection's status set (affected rows, insert id,
    warnings, ...), and (rows, column descriptions, column flags), None for a
    statement without a result set."""
    columns = result.get("columns")
    if columns is None:
        db._mp_status = (
            result["affected_rows"], result["insert_id"], result["warning_count"],
            result.get("info_msg"), 0, db._have_next_result,
        )
        return None
    rows, eof = db.get_rows()
    warnings = eof.get("warning_count", 0) if eof else 0
    # A result set leaves the last insert id as it was (as libmysqlclient).
    db._mp_status = (len(rows), db._mp_status[1], warnings, None, len(columns),
                     db._have_next_result)
    return (tuple(rows), tuple(column[:7] for column in columns),
            tuple(column[7] for column in columns))


def cursor_class(dbapi: types.ModuleType) -> type[Any]:
    """The connector's buffered cursor with mysqlclient's API (compat_cursor)."""
    cursor_base: Any = importlib.import_module("mysql.connector.cursor").MySQLCursorBuffered

    def fail(db: Any, exc: BaseException) -> BaseException:
        return db._mp_fail(exc)

    class Cursor(MySQLdbCursor, cursor_base):
        _mp_dbapi = dbapi
        _mp_driver = DRIVER

        def __init__(self, connection: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(connection, *args, **kwargs)

        def _mp_run(self, db: Any, query: bytes) -> None:
            if db._mp_closed:
                raise server_gone(dbapi)
            if db._have_next_result or db._unread_result:
                db._mp_drain()
            try:
                self._mp_take(db, db.cmd_query(query))
            except dbapi.Error as exc:
                raise fail(db, exc) from None

        def _mp_next(self, db: Any) -> bool:
            if not db._have_next_result:
                return False
            try:
                self._mp_take(db, db._handle_result(db._socket.recv(db._read_timeout)))
            except dbapi.Error as exc:
                raise fail(db, exc) from None
            return True

        def _mp_take(self, db: Any, result: dict) -> None:
            rows, description, flags = read_result(db, result) or ((), None, None)
            self._mp_store(rows, description, flags, *db._mp_status[:3])

    Cursor.__name__ = Cursor.__qualname__ = "Cursor"
    return Cursor
