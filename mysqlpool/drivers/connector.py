"""mysql-connector-python: Oracle's driver, whose API differs most from MySQLdb."""

from __future__ import annotations

import importlib
import types
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from . import tls
from .base import TLS_ERROR_CODE, TLS_UNAVAILABLE, Driver, check_use_pure, mysqlclient_shaped

# mysqlclient connect arguments that mysql-connector spells differently.
_RENAMED = {
    "connect_timeout": "connection_timeout",
    "local_infile": "allow_local_infile",
    "read_default_file": "option_files",
    "read_default_group": "option_groups",
}
# MySQL's client error codes (CR_MIN_ERROR, CR_MAX_ERROR).
_CLIENT_ERRORS = (2000, 2999)


class ConnectorDriver(Driver):
    name = "mysql-connector"
    distribution = "mysql-connector-python"
    extra = "connector"
    module_name = "mysql.connector"
    min_version = (9, 0, 0)
    dialect_class = "sqlalchemy.dialects.mysql.mysqlconnector:MySQLDialect_mysqlconnector"
    cooperative = True  # pure Python over the socket module

    def __init__(self, dbapi: types.ModuleType) -> None:
        super().__init__(dbapi)
        constants = importlib.import_module("mysql.connector.constants")
        self._client_flags = constants.ClientFlag
        cursor = importlib.import_module("mysql.connector.cursor")
        # Always the pure-Python connection (see connection_class()), so
        # always its buffered cursor.
        self.connection_class = _connection_class(dbapi, constants.ClientFlag)
        self._cursor_classes = {
            self.connection_class: _mysqldb_like(cursor.MySQLCursorBuffered)
        }
        # The connector's own Django backend has the converter Django needs
        # (TIME as datetime.time, SafeString parameters); add what it lacks.
        django_base = importlib.import_module("mysql.connector.django.base")
        self._converter_class = type(
            "MySQLdbLikeConverter", (django_base.DjangoMySQLConverter,),
            {"_uuid_to_mysql": _uuid_to_mysql},
        )
        self._error_classes = _mysqlclient_error_classes(dbapi)

    @classmethod
    def version_of(cls, dbapi: types.ModuleType) -> tuple[int, ...]:
        return tuple(int(part) for part in dbapi.__version__.split(".")[:3])

    def mysqldb_stand_in(self) -> dict[str, types.ModuleType]:
        constants = importlib.import_module("mysql.connector.constants")
        field_type = types.ModuleType("MySQLdb.constants.FIELD_TYPE")
        for name in dir(constants.FieldType):
            if name.isupper():
                setattr(field_type, name, getattr(constants.FieldType, name))
        field_type.CHAR = constants.FieldType.TINY  # MySQLdb's alias
        client = types.ModuleType("MySQLdb.constants.CLIENT")
        for name in dir(constants.ClientFlag):
            if name.isupper():
                setattr(client, name, getattr(constants.ClientFlag, name))
        constants_module = types.ModuleType("MySQLdb.constants")
        constants_module.CLIENT, constants_module.FIELD_TYPE = client, field_type
        converters = types.ModuleType("MySQLdb.converters")
        converters.conversions = {}
        mysqldb = types.ModuleType("MySQLdb")
        for name in (
            "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
            "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
            "Warning",
        ):
            setattr(mysqldb, name, getattr(self.dbapi, name))
        mysqldb.connect = _stock_backend_unsupported
        # The MySQLdb API level this stand-in answers Django's version gate with.
        mysqldb.version_info = (2, 2, 8, "final", 0)
        mysqldb.__version__ = "2.2.8"
        mysqldb.constants, mysqldb.converters = constants_module, converters
        return {
            "MySQLdb": mysqldb,
            "MySQLdb.constants": constants_module,
            "MySQLdb.constants.CLIENT": client,
            "MySQLdb.constants.FIELD_TYPE": field_type,
            "MySQLdb.converters": converters,
        }

    def connect_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        check_use_pure(params)
        params = {k: v for k, v in params.items() if k != "use_pure"}
        params = tls.connect_arguments(self.name, params)
        params.pop("conv", None)
        params.setdefault("converter_class", self._converter_class)
        flags = params.pop("client_flag", 0)
        multi = self._client_flags.MULTI_STATEMENTS
        if params.pop("multi_statements", False):
            flags |= multi
        # A list adds to the connector's default flags (a negative entry removes
        # one); an int would replace them. The defaults include several
        # statements per query, which lets an injected "; ..." run a statement
        # of its own: off unless asked for (OPTIONS["multi_statements"] = True,
        # or client_flag with CLIENT.MULTI_STATEMENTS).
        params["client_flags"] = list(_bits(flags)) + ([] if flags & multi else [-multi])
        for old, new in _RENAMED.items():
            if old in params:
                params[new] = params.pop(old)
        # mysqlclient's cursors buffer results; so do the cursors made here.
        params.setdefault("buffered", True)
        return params

    def connect(self, params: Mapping[str, Any]) -> Any:
        params = dict(params)
        tls_required = params.get("_tls_required", False)
        # The pure-Python class, always: mysql.connector.connect() would pick the
        # C extension's where it loads (see base.check_use_pure for why not).
        connection = self.connection_class(**params)
        if tls_required and not connection.is_secure:
            # The greeting offered TLS (connection_class checks), but the
            # connection is not encrypted: refuse it all the same.
            connection.close()
            raise self.dbapi.OperationalError(msg=TLS_UNAVAILABLE, errno=TLS_ERROR_CODE)
        # The connector escapes parameters according to the session's sql_mode,
        # which it otherwise fetches on the first query with parameters, with
        # a ping first: two round trips inside some request. Read it now, once
        # per connection, through a cursor that does not ping.
        if getattr(connection, "_sql_mode", "") is None:
            cursor = self.cursor(connection)
            try:
                cursor.execute("SELECT @@SESSION.sql_mode")
                connection._sql_mode = cursor.fetchone()[0]
            finally:
                cursor.close()
        return connection

    def set_autocommit(self, connection: Any, autocommit: bool) -> None:
        # The connector's setter always sends SET and its getter runs SELECT;
        # the attribute it keeps in step with the session saves both.
        if connection._autocommit != autocommit:
            connection.autocommit = autocommit

    def cursor(self, connection: Any) -> Any:
        # connection.cursor() pings the server on every call; build the cursor
        # directly (what cursor() would return for a buffered connection).
        try:
            cursor_class = self._cursor_classes[type(connection)]
        except KeyError:
            return connection.cursor()
        return cursor_class(connection)

    def operational_error(self, code: int, message: str) -> BaseException:
        return self.dbapi.OperationalError(msg=message, errno=code)

    def error_code(self, exc: BaseException) -> Any:
        return getattr(exc, "errno", None)

    def translate_error(self, exc: BaseException) -> BaseException:
        # The connector picks the class from the SQLSTATE, mysqlclient from the
        # error code: a deadlock (1213) is InternalError here, OperationalError
        # there; an out-of-range value (1690) DataError here, OperationalError
        # there (which Django turns into IntegrityError); access denied is
        # ProgrammingError here. And mysqlclient raises OperationalError for
        # every client-side error (CR_*, 2000-2999: can't connect, unknown host,
        # lost connection), where the connector often raises InterfaceError.
        # The connector's own errors (negative codes) stay as they are: its
        # disconnect detection reads those.
        errno = getattr(exc, "errno", None)
        if not isinstance(exc, self.dbapi.Error) or not isinstance(errno, int):
            return exc
        if errno == TLS_ERROR_CODE and "support" in str(exc):
            # Its own "server doesn't support" TLS (VERIFY_* modes): the message
            # connect() gives for REQUIRED, naming the settings and the fix.
            cls, msg = self.dbapi.OperationalError, TLS_UNAVAILABLE
        elif _CLIENT_ERRORS[0] <= errno <= _CLIENT_ERRORS[1]:
            cls, msg = self.dbapi.OperationalError, exc.msg
        elif 1000 <= errno < 2000 or errno >= 3000:
            cls, msg = self._error_classes.get(errno, self.dbapi.OperationalError), exc.msg
        else:
            return exc
        if type(exc) is cls and msg == exc.msg:
            return exc
        translated = cls(msg=msg, errno=errno, sqlstate=exc.sqlstate)
        translated.__cause__ = exc
        return translated

    def escape(self, connection: Any, value: Any) -> str | bytes:
        converter = connection.converter
        literal = converter.quote(
            converter.escape(converter.to_mysql(value), connection.sql_mode)
        )
        # quote() gives bytes, or a bytearray for strings, bytes and NULL.
        if isinstance(literal, (bytes, bytearray)):
            literal = bytes(literal).decode(errors="surrogateescape")
        if isinstance(value, (bytes, bytearray)):
            return literal.encode(errors="surrogateescape")
        if isinstance(value, Decimal):
            literal = format(value, "f")  # mysqlclient: a number, not a quoted string
        return mysqlclient_shaped(value, literal)

    def is_disconnect(self, exc: BaseException) -> bool:
        if super().is_disconnect(exc):
            return True
        # After the socket is gone the connector raises
        # OperationalError(-1, "MySQL Connection not available") -- without the
        # trailing period SQLAlchemy's check looks for.
        return isinstance(exc, self.dbapi.Error) and (
            "Connection not available" in str(exc)
            or "Connection to MySQL is not available" in str(exc)
        )

    def socket_state(self, connection: Any) -> tuple[Any, int] | None:
        mysql_socket = getattr(connection, "_socket", None)
        sock = getattr(mysql_socket, "sock", None)
        fd = sock.fileno() if sock is not None else -1
        return (sock, fd) if fd >= 0 else None

    def in_transaction(self, connection: Any) -> bool | None:
        return connection.in_transaction

    def reset_session(self, connection: Any) -> bool:
        # Resets the session and re-applies charset, autocommit and init_command.
        return bool(connection.cmd_reset_connection())


def _connection_class(dbapi: types.ModuleType, client_flag: Any) -> type:
    """mysql-connector's pure-Python connection, taking the TLS arguments tls.py
    gives (``_tls_context``, ``_tls_required``)."""
    base = importlib.import_module("mysql.connector.connection").MySQLConnection

    class MySQLConnection(base):
        def __init__(self, *args: Any, _tls_context: Any = None, _tls_required: bool = False,
                     **kwargs: Any) -> None:
            # Set before the base class connects (in its __init__).
            self._mysqlpool_tls = (_tls_context, _tls_required)
            super().__init__(*args, **kwargs)

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

    return MySQLConnection


def _mysqldb_like(cursor_class: type) -> type:
    """The cursor class, behaving as MySQLdb's where Django relies on it."""

    class Cursor(cursor_class):
        def execute(self, operation, params=None, *args, **kwargs):
            if params is not None:
                # mysqlclient's rule, which Django's SQL is written for: given
                # parameters (even none), the statement is a %-format string, so
                # "%%" is a literal "%". The connector replaces only "%s",
                # leaving "%%" as is and reading "%%s" as a placeholder.
                operation = _interpolate(self._connection, operation, params)
                params = None
            return super().execute(operation, params, *args, **kwargs)

        # Django stops iterating when fetchmany() returns its backend's empty
        # value, which for MySQL is ``()``; the connector returns ``[]``.
        def fetchmany(self, size=None):
            # The connector's buffered fetchmany() calls fetchone() `size` times
            # even past the last row: Django's two fetchmany(100) per query made
            # 200 calls (~100 us). Slice the rows it has buffered instead.
            self._check_executed()
            rows = self._rows
            if rows is None:
                return ()
            start = self._next_row
            end = min(len(rows), start + (size or self.arraysize))
            self._next_row = end
            return tuple(rows[start:end])

        def fetchall(self):
            return tuple(super().fetchall())

    Cursor.__name__ = Cursor.__qualname__ = cursor_class.__name__
    return Cursor


def _interpolate(connection: Any, operation: str | bytes, params: Any) -> bytes:
    """``operation % params`` with each parameter as a SQL literal, as mysqlclient does."""
    converter, sql_mode = connection.converter, connection.sql_mode

    def literal(value: Any) -> bytes:
        escaped = converter.escape(converter.to_mysql(value), sql_mode)
        return bytes(escaped if isinstance(value, Decimal) else converter.quote(escaped))

    if isinstance(operation, str):
        operation = operation.encode(connection.python_charset)
    try:
        if isinstance(params, Mapping):
            literals: Any = {key.encode(): literal(value) for key, value in params.items()}
        else:
            literals = tuple(literal(value) for value in params)
        return operation % literals
    except (TypeError, ValueError, KeyError) as exc:
        errors = importlib.import_module("mysql.connector.errors")
        raise errors.ProgrammingError(f"Failed processing parameters; {exc}") from exc


def _uuid_to_mysql(self: Any, value: Any) -> bytes:
    # As mysqlclient sends a UUID (str()); MariaDB 10.7+ has a UUID column
    # type, for which Django passes uuid.UUID values straight to the driver.
    return str(value).encode()


def _mysqlclient_error_classes(dbapi: types.ModuleType) -> dict[int, type]:
    """Error code -> the exception class mysqlclient raises for it.

    mysqlclient's table (``_mysql_Exception()`` in its ``_mysql.c``); other
    codes are OperationalError.
    """
    codes = importlib.import_module("mysql.connector.errorcode")
    groups = {
        dbapi.ProgrammingError: (
            "ER_DB_CREATE_EXISTS ER_SYNTAX_ERROR ER_PARSE_ERROR ER_NO_SUCH_TABLE "
            "ER_WRONG_DB_NAME ER_WRONG_TABLE_NAME ER_FIELD_SPECIFIED_TWICE "
            "ER_INVALID_GROUP_FUNC_USE ER_UNSUPPORTED_EXTENSION ER_TABLE_MUST_HAVE_COLUMNS "
            "ER_CANT_DO_THIS_DURING_AN_TRANSACTION"
        ),
        dbapi.DataError: (
            "WARN_DATA_TRUNCATED ER_WARN_NULL_TO_NOTNULL ER_WARN_DATA_OUT_OF_RANGE "
            "ER_NO_DEFAULT ER_PRIMARY_CANT_HAVE_NULL ER_DATA_TOO_LONG "
            "ER_DATETIME_FUNCTION_OVERFLOW"
        ),
        dbapi.IntegrityError: (
            "ER_DUP_ENTRY ER_DUP_UNIQUE ER_NO_REFERENCED_ROW ER_NO_REFERENCED_ROW_2 "
            "ER_ROW_IS_REFERENCED ER_ROW_IS_REFERENCED_2 ER_CANNOT_ADD_FOREIGN "
            "ER_NO_DEFAULT_FOR_FIELD ER_BAD_NULL_ERROR"
        ),
        dbapi.NotSupportedError: (
            "ER_WARNING_NOT_COMPLETE_ROLLBACK ER_NOT_SUPPORTED_YET ER_FEATURE_DISABLED "
            "ER_UNKNOWN_STORAGE_ENGINE"
        ),
    }
    return {
        getattr(codes, name): cls
        for cls, names in groups.items()
        for name in names.split()
        if hasattr(codes, name)
    }


def _bits(flags: int):
    bit = 1
    while bit <= flags:
        if flags & bit:
            yield bit
        bit <<= 1


def _stock_backend_unsupported(*args: Any, **kwargs: Any) -> Any:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "django.db.backends.mysql needs mysqlclient (or PyMySQL); only "
        "mysql-connector-python is installed. Use ENGINE "
        "'mysqlpool.backends.mysqlpool' for this alias, or install mysqlclient."
    )
