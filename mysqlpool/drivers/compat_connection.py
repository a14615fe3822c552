"""The connection as mysqlclient's ``MySQLdb.connections.Connection``, over
another driver.

:class:`MySQLdbConnection` is mixed into a subclass of the driver's own
connection class. It is written against a few primitives the driver's subclass
supplies (``_mp_send``, ``_mp_read``, ``_mp_escape_string``), and gives
mysqlclient's API with its return types: literals are bytes, ``query()``
returns None and leaves the result for ``store_result()``, ``next_result()``
returns 0 or -1, ``errno()``/``error()``/``sqlstate()`` describe the last
failed call. What a driver cannot do raises ``NotSupportedError`` naming the
method and the driver.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any

from .compat_errors import class_name, make
from .compat_result import Result

#: The PEP 249 classes mysqlclient's Connection carries as attributes.
EXCEPTIONS = (
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
)


def exception_attributes(dbapi: types.ModuleType) -> dict[str, type]:
    return {name: getattr(dbapi, name) for name in EXCEPTIONS}


_ESCAPES = {0: b"\\0", 10: b"\\n", 13: b"\\r", 26: b"\\Z", 34: b'\\"', 39: b"\\'",
            92: b"\\\\"}


def escape_bytes(s: bytes, no_backslash_escapes: bool = False) -> bytes:
    """mysql_real_escape_string()."""
    if no_backslash_escapes:
        return s.replace(b"'", b"''")
    if not any(byte in _ESCAPES for byte in s):
        return s
    return b"".join(_ESCAPES.get(byte, bytes((byte,))) for byte in s)


class MySQLdbConnection:
    """mysqlclient's connection API; see the module docstring."""

    _mp_dbapi: Any = None
    _mp_driver = ""
    executemany_fallback = "loop"
    #: The last statement's outcome: affected rows, insert id, warnings, info,
    #: field count, more results; and the pending result and the last error.
    _mp_status: tuple = (0, 0, 0, None, 0, False)
    _mp_pending: Result | None = None
    _mp_error: tuple = (0, "", "00000")

    if TYPE_CHECKING:
        # Supplied by the driver's connection class or by its subclass (see
        # the module docstring).
        @property
        def encoding(self) -> str: ...

        @property
        def server_info(self) -> str: ...

        def _mp_escape_string(self, s: bytes) -> bytes: ...

        def _mp_escape(self, obj: Any) -> str | bytes: ...

        def _mp_send(self, query: bytes) -> None: ...

        def _mp_read(self) -> None: ...

        def _mp_stat(self) -> str: ...

        def _mp_get_autocommit(self) -> bool: ...

        def character_set_name(self) -> str: ...

        def close(self) -> None: ...

    # ----- helpers ------------------------------------------------------------------

    def _mp_unsupported(self, name: str) -> BaseException:
        return make(
            self._mp_dbapi, "NotSupportedError",
            f"{name}() is not supported by mysqlpool on {self._mp_driver}",
        )

    def _mp_fail(self, exc: BaseException) -> BaseException:
        """Record ``exc`` for errno()/error()/sqlstate(); the mysqlclient-shaped error."""
        shaped = self._mp_shape(exc)
        args = shaped.args
        if len(args) == 2 and isinstance(args[0], int):
            self._mp_error = (args[0], args[1], getattr(exc, "sqlstate", None) or "HY000")
        return shaped

    def _mp_shape(self, exc: BaseException) -> BaseException:
        """The exception mysqlclient raises for ``exc``: its class, ``(code, message)``."""
        code = getattr(exc, "errno", None)
        if code is None and len(exc.args) == 2 and isinstance(exc.args[0], int):
            code = exc.args[0]
        if not isinstance(code, int) or code <= 0:
            return exc
        message = getattr(exc, "msg", None)
        if message is None:
            message = exc.args[1] if len(exc.args) > 1 else ""
        name = class_name(code)
        if type(exc) is getattr(self._mp_dbapi, name) and exc.args == (code, message):
            return exc
        shaped = make(self._mp_dbapi, name, code, message,
                      sqlstate=getattr(exc, "sqlstate", None))
        shaped.__cause__ = exc
        return shaped

    def _mp_ok(self) -> None:
        self._mp_error = (0, "", "00000")

    # ----- literals ------------------------------------------------------------------

    def escape_string(self, s: str | bytes) -> bytes:
        if isinstance(s, str):
            s = s.encode(self.encoding)
        return self._mp_escape_string(bytes(s))

    def string_literal(self, obj: Any) -> bytes:
        if isinstance(obj, str):
            obj = obj.encode(self.encoding)
        elif not isinstance(obj, (bytes, bytearray)):
            obj = str(obj).encode(self.encoding)
        return b"'" + self._mp_escape_string(bytes(obj)) + b"'"

    def literal(self, o: Any) -> bytes:
        t = type(o)
        if t is int:  # the ORM's most common parameter (primary keys): first
            return b"%d" % o
        if o is None:
            return b"NULL"
        if isinstance(o, str):
            return self.string_literal(o.encode(self.encoding))
        if isinstance(o, (bytes, bytearray)):
            return self.string_literal(o)
        if t is tuple or t is list:
            return b"(%s)" % b",".join(map(self.literal, o))
        if t is set or t is frozenset:
            for item in o:
                if not isinstance(item, str):
                    raise TypeError("set elements must be strings")
            return self.string_literal(",".join(o))
        s = self._mp_escape(o)
        return s.encode(self.encoding) if isinstance(s, str) else s

    def escape(self, obj: Any, mapping: Any = None) -> str | bytes:
        """mysqlclient's: numbers as str, other literals as bytes."""
        if mapping is None or isinstance(obj, (str, bytes, bytearray)):
            return self.literal(obj)
        if isinstance(obj, (tuple, list, set, frozenset, dict)):
            # Not in mysqlclient's encoders: its default, the text as a string.
            return self.string_literal(str(obj))
        return self._mp_escape(obj)

    def get_server_info(self) -> str:
        # The C library drops the "5.5.5-" MariaDB puts in front for old clients.
        # (mysql-connector deprecates its method for the server_info property.)
        server_info = getattr(type(self), "server_info", None)
        info = self.server_info if isinstance(server_info, property) else (
            super().get_server_info())  # type: ignore[misc]  # the driver's class, next in the MRO
        return info[6:] if info.startswith("5.5.5-") else info

    # ----- the low-level query API ---------------------------------------------------

    def query(self, query: str | bytes) -> None:
        self.send_query(query)
        self.read_query_result()

    def send_query(self, query: str | bytes) -> None:
        if isinstance(query, str):
            query = query.encode(self.encoding)
        self._mp_pending = None
        try:
            self._mp_send(bytes(query))
        except self._mp_dbapi.Error as exc:
            raise self._mp_fail(exc) from None

    def read_query_result(self) -> None:
        try:
            self._mp_read()
        except self._mp_dbapi.Error as exc:
            raise self._mp_fail(exc) from None
        self._mp_ok()

    def store_result(self) -> Result | None:
        pending, self._mp_pending = self._mp_pending, None
        return pending

    use_result = store_result

    def discard_result(self) -> None:
        self._mp_pending = None

    def more_results(self) -> bool:
        return bool(self._mp_status[5])

    def next_result(self) -> int:
        if not self._mp_status[5]:
            return -1
        self.read_query_result()
        return 0

    def affected_rows(self) -> int:
        return self._mp_status[0]

    def insert_id(self) -> int:
        return self._mp_status[1]

    def warning_count(self) -> int:
        return self._mp_status[2]

    def info(self) -> str | None:
        return self._mp_status[3] or None

    def field_count(self) -> int:
        return self._mp_status[4]

    def errno(self) -> int:
        return self._mp_error[0]

    def error(self) -> str:
        return self._mp_error[1]

    def sqlstate(self) -> str:
        return self._mp_error[2]

    def _mp_rows(self, sql: str) -> tuple:
        self.query(sql)
        result = self.store_result()
        return result.fetch_row(0) if result is not None else ()

    # ----- the rest of mysqlclient's Connection ----------------------------------------

    def begin(self) -> None:
        self.query(b"BEGIN")

    def set_sql_mode(self, sql_mode: str) -> None:
        self.query(f"SET SESSION sql_mode='{sql_mode}'")
        self.store_result()

    def show_warnings(self) -> tuple:
        return self._mp_rows("SHOW WARNINGS")

    def get_character_set_info(self) -> dict[str, Any]:
        name = self.character_set_name()
        rows = self._mp_rows(
            "SELECT COLLATION_NAME, MAXLEN FROM information_schema.COLLATIONS "
            "JOIN information_schema.CHARACTER_SETS USING (CHARACTER_SET_NAME) "
            "WHERE COLLATION_NAME = @@collation_connection"
        )
        info: dict[str, Any] = {"name": name, "collation": rows[0][0] if rows else ""}
        info["mbminlen"] = 1
        info["mbmaxlen"] = int(rows[0][1]) if rows else 1
        return info

    def stat(self) -> str:
        return self._mp_stat()

    def get_autocommit(self) -> bool:
        return self._mp_get_autocommit()

    def dump_debug_info(self) -> None:
        raise self._mp_unsupported("dump_debug_info")

    def shutdown(self) -> None:
        raise self._mp_unsupported("shutdown")

    def set_server_option(self, option: int) -> int:
        raise self._mp_unsupported("set_server_option")

    def change_user(self, user: str, passwd: str = "", db: str | None = None) -> None:
        raise self._mp_unsupported("change_user")

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

