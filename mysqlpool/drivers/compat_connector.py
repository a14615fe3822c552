"""mysql-connector's pure-Python connection with mysqlclient's API (see
compat_connection): the class mysqlpool's connector connections are made
from. What a statement returns through it (values, column descriptions, the
buffered cursor) is in compat_connector_results."""

from __future__ import annotations

import importlib
import types
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .base import TLS_ERROR_CODE, mysqlclient_shaped
from .compat_connection import MySQLdbConnection, escape_bytes, exception_attributes
from .compat_connector_results import DRIVER, cursor_class, protocol, read_result
from .compat_errors import server_gone
from .compat_result import Result

# mysqlclient's names for the session character sets (its _charset_to_encoding).
_ENCODINGS = {"utf8mb4": "utf8", "utf8mb3": "utf8", "utf8": "utf8", "latin1": "cp1252"}


def connection_class(dbapi: types.ModuleType, client_flag: Any) -> type[Any]:
    """mysql-connector's pure-Python connection with mysqlclient's API, taking
    the TLS arguments tls.py gives (``_tls_context``, ``_tls_required``)."""
    module = importlib.import_module("mysql.connector.connection")
    base: Any = module.MySQLConnection
    server_cmd = importlib.import_module("mysql.connector.constants").ServerCmd
    connector_protocol = protocol()
    buffered_cursor = cursor_class(dbapi)

    class Autocommit:
        """``connection.autocommit``: mysqlclient's method, and the connector's
        property (its value, for the connector's own code)."""

        __slots__ = ("connection",)

        def __init__(self, connection: Any) -> None:
            self.connection = connection

        def __call__(self, on: bool) -> None:
            on = bool(on)
            if self.connection._autocommit != on:
                self.connection.autocommit = on

        def __bool__(self) -> bool:
            return bool(self.connection._autocommit)

        def __eq__(self, other: object) -> bool:
            return bool(self) == other

        __hash__ = None  # type: ignore[assignment]

    class MySQLConnection(MySQLdbConnection, base):
        _mp_dbapi = dbapi
        _mp_driver = DRIVER
        locals().update(exception_attributes(dbapi))
        default_cursor = buffered_cursor
        cursorclass = buffered_cursor
        _mp_closed = False
        # The connector's own (it closes the socket; mysqlclient's stops the
        # server): the connector calls it itself.
        shutdown = base.shutdown

        if TYPE_CHECKING:
            # The connector's (properties of its connection).
            charset: str
            python_charset: str

        def __init__(self, *args: Any, _tls_context: Any = None, _tls_required: bool = False,
                     **kwargs: Any) -> None:
            # Set before the base class connects (in its __init__).
            self._mysqlpool_tls = (_tls_context, _tls_required)
            self.host = kwargs.get("host", "127.0.0.1")
            self.port = int(kwargs.get("port", 3306))
            self.db = kwargs.get("database", kwargs.get("db"))
            super().__init__(*args, **kwargs)
            self._protocol = connector_protocol
            self.messages: list = []
            self.encoders: dict = {}

        # ----- TLS (see tls.py) ------------------------------------------------------

        def _get_connection(self) -> Any:
            sock = super()._get_connection()
            context = self._mysqlpool_tls[0]
            if context is not None:
                # The connector builds its SSLContext from its own arguments,
                # which have no capath, key password or cipher, and verify a CA
                # given only with ssl_verify_cert: use tls.py's instead.
                sock.build_ssl_context = lambda *args, **kwargs: context
            return sock

        def _do_handshake(self) -> None:
            super()._do_handshake()
            # The connector goes on in plain text when the server offers no TLS
            # (it refuses only with ssl_verify_cert): refuse before the
            # credentials are sent.
            if self._mysqlpool_tls[1] and not self._handshake["capabilities"] & client_flag.SSL:
                raise dbapi.InterfaceError(
                    "SSL is required but the server doesn't support it", errno=TLS_ERROR_CODE)

        def _post_connection(self) -> None:
            # The connector bounds the handshake and the login by
            # connection_timeout, but sends the statements of its connect
            # (character set, autocommit, sql_mode, init_command) with
            # read_timeout, None by default: a server stalling there held the
            # connect for ever. They keep connection_timeout here, as with
            # mysqlclient and PyMySQL (the connector leaves the socket's timeout
            # alone while it has a connection timeout).
            timeout = self._connection_timeout
            if not timeout:
                return super()._post_connection()
            self._socket.set_connection_timeout(timeout)
            try:
                super()._post_connection()
            finally:
                self._socket.set_connection_timeout(None)

        # ----- mysqlclient's API ------------------------------------------------------

        @property
        def autocommit(self) -> Any:
            return Autocommit(self)

        @autocommit.setter
        def autocommit(self, value: bool) -> None:
            base.autocommit.fset(self, value)

        @property
        def open(self) -> int:
            sock = getattr(self._socket, "sock", None)
            return int(not self._mp_closed and sock is not None and sock.fileno() >= 0)

        @property
        def encoding(self) -> str:
            return _ENCODINGS.get(self.charset, self.python_charset)

        @property
        def client_flag(self) -> int:
            return self._client_flags

        @property
        def server_capabilities(self) -> int:
            return self._handshake["capabilities"]

        @property
        def converter_map(self) -> Any:
            return self.converter

        def cursor(self, cursorclass: Any = None, **kwargs: Any) -> Any:
            if kwargs or (cursorclass is not None and not isinstance(cursorclass, type)):
                # The connector's own options (buffered=, dictionary=, ...).
                args = () if cursorclass is None else (cursorclass,)
                return super().cursor(*args, **kwargs)
            self._mp_check()
            # Without the connector's ping (a round trip) on every cursor().
            return (cursorclass or self.cursorclass)(self)

        def _mp_check(self) -> None:
            if not self.open:
                raise server_gone(dbapi)

        def _mp_call(self, method: Any, *args: Any) -> Any:
            self._mp_check()
            try:
                result = method(self, *args)
            except dbapi.Error as exc:
                raise self._mp_fail(exc) from None
            self._mp_ok()
            return result

        def _mp_drain(self) -> None:
            self.handle_unread_result()
            while self._have_next_result:
                self._handle_result(self._socket.recv(self._read_timeout))
                self.handle_unread_result()

        def close(self) -> None:
            if self._mp_closed:
                raise server_gone(dbapi)
            self._mp_closed = True
            base.close(self)

        def commit(self) -> None:
            self._mp_call(base.commit)

        def rollback(self) -> None:
            self._mp_call(base.rollback)

        def ping(self, reconnect: bool = False) -> None:
            self._mp_call(base.cmd_ping)

        def select_db(self, db: str) -> None:
            self._mp_call(base.cmd_init_db, db)
            self.db = db

        def kill(self, pid: int) -> None:
            self.query(b"KILL %d" % int(pid))

        def thread_id(self) -> int:
            return self.connection_id

        def character_set_name(self) -> str:
            return self.charset

        def set_character_set(self, charset: str, collation: str | None = None) -> None:
            self._mp_call(base.set_charset_collation, charset, collation or None)

        def get_host_info(self) -> str:
            if self.unix_socket:
                return "Localhost via UNIX socket"
            return f"{self.host} via TCP/IP"

        def get_proto_info(self) -> int:
            return self._handshake["protocol"]

        def fileno(self) -> int:
            self._mp_check()
            return self._socket.sock.fileno()

        def change_user(self, user: str, passwd: str = "", db: str | None = None) -> None:
            self._mp_call(base.cmd_change_user, user, passwd, db or "")

        def dump_debug_info(self) -> None:
            self._mp_call(base.cmd_debug)

        def _mp_get_autocommit(self) -> bool:
            return bool(self._autocommit)

        def _mp_stat(self) -> str:
            self._mp_check()
            self._socket.send(self._protocol.make_command(server_cmd.STATISTICS), 0, 0,
                              self._write_timeout)
            return bytes(self._socket.recv(self._read_timeout)[4:]).decode()

        def _mp_escape_string(self, s: bytes) -> bytes:
            return escape_bytes(s, "NO_BACKSLASH_ESCAPES" in self.sql_mode)

        def _mp_escape(self, obj: Any) -> str | bytes:
            converter = self.converter
            escaped = converter.escape(converter.to_mysql(obj), self.sql_mode)
            if isinstance(obj, Decimal):
                return format(obj, "f")  # mysqlclient: a number, not a quoted string
            literal = converter.quote(escaped)
            if isinstance(literal, (bytes, bytearray)):
                literal = bytes(literal).decode(errors="surrogateescape")
            return mysqlclient_shaped(obj, literal)

        def _mp_send(self, query: bytes) -> None:
            self._mp_check()
            if self._have_next_result or self._unread_result:
                self._mp_drain()
            self._send_cmd(server_cmd.QUERY, query, expect_response=False)

        def _mp_read(self) -> None:
            result = self._handle_result(self._socket.recv(self._read_timeout))
            read = read_result(self, result)
            self._mp_pending = None if read is None else Result(*read)

    MySQLConnection.__name__ = MySQLConnection.__qualname__ = "MySQLConnection"
    return MySQLConnection
