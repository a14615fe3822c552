"""PyMySQL's connection and cursor, with mysqlclient's API (see compat_connection
and compat_cursor): the classes mysqlpool's PyMySQL connections are made from."""

from __future__ import annotations

import importlib
import types
from typing import TYPE_CHECKING, Any

from .base import mysqlclient_shaped
from .compat_connection import MySQLdbConnection, exception_attributes
from .compat_cursor import NUM_FLAG, NUMERIC_TYPES, MySQLdbCursor
from .compat_errors import server_gone
from .compat_result import Result

DRIVER = "PyMySQL"


def submodule(dbapi: types.ModuleType, name: str) -> types.ModuleType:
    """PyMySQL's own submodule ``name``, imported by its name.

    Not an attribute of the package: after ``pymysql.install_as_MySQLdb()``,
    Django's ``from MySQLdb.constants import ...`` loads second copies of
    submodules under MySQLdb's name, and Python binds them to the package
    (``pymysql.constants`` then lacks COMMAND).
    """
    return importlib.import_module(f"{dbapi.__name__}.{name}")


def connection_class(dbapi: types.ModuleType) -> type[Any]:
    """A subclass of ``pymysql.connections.Connection`` with mysqlclient's API."""
    base: Any = submodule(dbapi, "connections").Connection
    command = submodule(dbapi, "constants.COMMAND")
    converters = submodule(dbapi, "converters")
    cursor_base: Any = submodule(dbapi, "cursors").Cursor

    class Cursor(MySQLdbCursor, cursor_base):
        _mp_dbapi = dbapi
        _mp_driver = DRIVER

        def _mp_run(self, db: Any, query: bytes) -> None:
            try:
                db._execute_command(command.COM_QUERY, query)
            except dbapi.Error as exc:
                raise db._mp_fail(exc) from None
            self._mp_read(db)

        def _mp_next(self, db: Any) -> bool:
            result = db._result
            if result is None or not result.has_next:
                return False
            self._mp_read(db)
            return True

        def _mp_read(self, db: Any) -> None:
            """Read the next result from the server and keep it as mysqlclient would."""
            try:
                db._affected_rows = db._read_query_result()
            except dbapi.Error as exc:
                raise db._mp_fail(exc) from None
            result = db._result
            insert_id = result.insert_id
            if insert_id is None:  # a result set: the last insert id stays
                insert_id = db._mp_insert_id
            else:
                db._mp_insert_id = insert_id
            self._mp_store(result.rows or (), result.description, result,
                           result.affected_rows, insert_id, result.warning_count)

        @property
        def description_flags(self):
            result = self._mp_flags
            if result is None or not result.fields:
                return None
            return tuple(
                field.flags | NUM_FLAG if field.type_code in NUMERIC_TYPES else field.flags
                for field in result.fields
            )

        @description_flags.setter
        def description_flags(self, value):
            self._mp_flags = value

    class Connection(MySQLdbConnection, base):
        _mp_dbapi = dbapi
        _mp_driver = DRIVER
        locals().update(exception_attributes(dbapi))
        default_cursor = Cursor
        _mp_insert_id = 0

        if TYPE_CHECKING:
            # PyMySQL's (set in its __init__).
            _read_timeout: float | None
            _write_timeout: float | None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("cursorclass", Cursor)
            super().__init__(*args, **kwargs)
            self.messages: list = []

        def connect(self, sock: Any = None) -> None:
            # PyMySQL uses connect_timeout for the TCP connect only, then reads
            # the greeting and everything after with read_timeout (None by
            # default): against a frozen server, whose kernel still accepts
            # connections, it waited for ever. Here every wait of the connect
            # (greeting, TLS handshake, authentication, the statements it sends)
            # is bounded by connect_timeout, as mysqlclient's are. The user's
            # timeouts apply again afterwards: PyMySQL's next read or write sees
            # its timeout differ from the socket's and sets it, once.
            read_timeout, write_timeout = self._read_timeout, self._write_timeout
            self._read_timeout = self._write_timeout = self.connect_timeout
            try:
                super().connect(sock)
            finally:
                self._read_timeout, self._write_timeout = read_timeout, write_timeout

        @property
        def database(self):
            return self.db.decode() if isinstance(self.db, bytes) else self.db

        def _send_autocommit_mode(self) -> None:
            # PyMySQL's, which escapes with self.escape(): mysqlclient's here.
            mode = b"1" if self.autocommit_mode else b"0"
            self._execute_command(command.COM_QUERY, b"SET AUTOCOMMIT = " + mode)
            self._read_ok_packet()

        def _execute_command(self, command_: int, sql: Any) -> None:
            if self._sock is None:
                raise server_gone(dbapi)
            return super()._execute_command(command_, sql)

        def _mp_escape_string(self, s: bytes) -> bytes:
            return converters.escape_string(s.decode("latin-1")).encode("latin-1")

        def _mp_escape(self, obj: Any) -> str | bytes:
            # mysqlclient's forms: numbers as str, other literals as bytes.
            return mysqlclient_shaped(obj, base.escape(self, obj, self.encoders))

        def _mp_send(self, query: bytes) -> None:
            self._execute_command(command.COM_QUERY, query)

        def _mp_read(self) -> None:
            self._affected_rows = self._read_query_result()
            result = self._result
            insert_id = result.insert_id
            if insert_id is not None:
                self._mp_insert_id = insert_id
            if result.description:
                flags = tuple(
                    field.flags | NUM_FLAG if field.type_code in NUMERIC_TYPES else field.flags
                    for field in result.fields
                )
                self._mp_pending = Result(result.rows, result.description, flags)

        # PyMySQL keeps the last statement's outcome itself (its _result),
        # also for its own cursor and internal queries: read it from there.

        def next_result(self, unbuffered: bool = False) -> int:
            result = self._result
            if result is None or not result.has_next:
                return -1
            self.read_query_result()
            return 0

        def more_results(self) -> bool:
            result = self._result
            return bool(result is not None and result.has_next)

        def affected_rows(self) -> int:
            return self._affected_rows

        def insert_id(self) -> int:
            return self._mp_insert_id

        def warning_count(self) -> int:
            result = self._result
            return result.warning_count if result is not None else 0

        def info(self) -> str | None:
            result = self._result
            message = result.message if result is not None else None
            if isinstance(message, bytes):
                if message and message[0] == len(message) - 1:
                    message = message[1:]  # a length-prefixed string (session tracking)
                message = message.decode(self.encoding, "replace")
            return message or None

        def field_count(self) -> int:
            result = self._result
            return result.field_count if result is not None else 0

        def _mp_stat(self) -> str:
            self._execute_command(command.COM_STATISTICS, b"")
            return self._read_packet().read_all().decode()

        def _mp_get_autocommit(self) -> bool:
            return base.get_autocommit(self)

        def close(self) -> None:
            if self._closed:
                raise server_gone(dbapi)
            super().close()

        def ping(self, reconnect: bool = False) -> None:
            if self._sock is None:
                raise server_gone(dbapi)
            try:
                super().ping(reconnect)
            except dbapi.Error as exc:
                raise self._mp_fail(exc) from None

        def select_db(self, db: str) -> None:
            try:
                super().select_db(db)
            except dbapi.Error as exc:
                raise self._mp_fail(exc) from None
            self.db = db

        def kill(self, pid: int) -> None:
            try:
                super().kill(pid)
            except dbapi.Error as exc:
                raise self._mp_fail(exc) from None

        def show_warnings(self) -> tuple:
            return tuple(base.show_warnings(self) or ())

        @property
        def converter(self) -> dict:
            return self.decoders

        def get_host_info(self) -> str:
            if self.unix_socket:
                return "Localhost via UNIX socket"
            return f"{self.host} via TCP/IP"

        def fileno(self) -> int:
            if self._sock is None:
                raise server_gone(dbapi)
            return self._sock.fileno()

        def set_character_set(self, charset: str, collation: str | None = None) -> None:
            base.set_character_set(self, charset, collation)

    Connection.__name__ = Connection.__qualname__ = "Connection"
    Cursor.__name__ = Cursor.__qualname__ = "Cursor"
    return Connection
