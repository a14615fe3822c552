"""mysql-connector-python: Oracle's driver, whose API differs most from MySQLdb."""

from __future__ import annotations

import importlib
import types
from collections.abc import Mapping
from typing import Any

from . import compat_connector as compat
from . import compat_errors, tls_arguments
from .base import TLS_ERROR_CODE, TLS_UNAVAILABLE, Driver, check_use_pure
from .compat_connector_results import converter_class

#: The code of the connector's own "The Read/Write Operation timed out" (and
#: of the server's statement timeout, which leaves the connection usable).
_TIMED_OUT = 3024

# mysqlclient connect arguments that mysql-connector spells differently.
_RENAMED = {
    "connect_timeout": "connection_timeout",
    "local_infile": "allow_local_infile",
    "read_default_file": "option_files",
    "read_default_group": "option_groups",
}


class ConnectorDriver(Driver):
    name = "mysql-connector"
    distribution = "mysql-connector-python"
    extra = "connector"
    module_name = "mysql.connector"
    min_version = (9, 0, 0)
    dialect_class = "sqlalchemy.dialects.mysql.mysqlconnector:MySQLDialect_mysqlconnector"
    cooperative = True  # pure Python over the socket module
    reports_transaction_state = True

    def __init__(self, dbapi: types.ModuleType) -> None:
        super().__init__(dbapi)
        constants = importlib.import_module("mysql.connector.constants")
        self._client_flags = constants.ClientFlag
        # Always the pure-Python connection (see check_use_pure), with
        # mysqlclient's API; its cursor is mysqlclient's too.
        self.connection_class = compat.connection_class(dbapi, constants.ClientFlag)
        self._cursor_classes = {self.connection_class: self.connection_class.cursorclass}
        # The connector's own Django backend has the converter Django needs
        # (TIME as datetime.time, SafeString parameters); compat adds the rest.
        self._converter_class = converter_class(dbapi)
        errors = importlib.import_module("mysql.connector.errors")
        self._timeout_errors = tuple(
            getattr(errors, name) for name in (
                "ReadTimeoutError", "WriteTimeoutError", "ConnectionTimeoutError")
            if hasattr(errors, name))

    @classmethod
    def version_of(cls, dbapi: types.ModuleType) -> tuple[int, ...]:
        return tuple(int(part) for part in dbapi.__version__.split(".")[:3])

    def mysqldb_stand_in(self) -> dict[str, types.ModuleType]:
        constants = importlib.import_module("mysql.connector.constants")
        # Modules made here, given their attributes one by one.
        field_type: Any = types.ModuleType("MySQLdb.constants.FIELD_TYPE")
        for name in dir(constants.FieldType):
            if name.isupper():
                setattr(field_type, name, getattr(constants.FieldType, name))
        field_type.CHAR = constants.FieldType.TINY  # MySQLdb's alias
        client: Any = types.ModuleType("MySQLdb.constants.CLIENT")
        for name in dir(constants.ClientFlag):
            if name.isupper():
                setattr(client, name, getattr(constants.ClientFlag, name))
        constants_module: Any = types.ModuleType("MySQLdb.constants")
        constants_module.CLIENT, constants_module.FIELD_TYPE = client, field_type
        converters: Any = types.ModuleType("MySQLdb.converters")
        converters.conversions = {}
        mysqldb: Any = types.ModuleType("MySQLdb")
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
        params = tls_arguments.connect_arguments(self.name, params)
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
        # there (which Django turns into IntegrityError); and its args are
        # (code, "code (sqlstate): message", sqlstate). Errors from the
        # connection and cursor mysqlpool hands out are shaped already (see
        # compat_errors); this covers the rest, such as connecting. The
        # connector's own errors (negative codes) stay as they are: its
        # disconnect detection reads those.
        errno = getattr(exc, "errno", None)
        if not isinstance(exc, self.dbapi.Error) or not isinstance(errno, int) or errno <= 0:
            return exc
        if errno == TLS_ERROR_CODE and "support" in str(exc):
            # Its own "server doesn't support" TLS (VERIFY_* modes): the message
            # connect() gives for REQUIRED, naming the settings and the fix.
            translated = compat_errors.make(
                self.dbapi, "OperationalError", errno, TLS_UNAVAILABLE, sqlstate=exc.sqlstate)
        else:
            name = compat_errors.class_name(errno)
            if type(exc) is getattr(self.dbapi, name) and exc.args == (errno, exc.msg):
                return exc
            translated = compat_errors.make(self.dbapi, name, errno, exc.msg,
                                            sqlstate=exc.sqlstate)
        translated.__cause__ = exc
        return translated

    def is_disconnect(self, exc: BaseException) -> bool:
        if super().is_disconnect(exc):
            return True
        # A read or write that timed out (read_timeout, write_timeout) leaves
        # the server's answer on its way: a later query would read it as its
        # own. (By class: 3024 is also the server's own statement timeout,
        # after which the connection is fine.)
        if isinstance(exc, self._timeout_errors) or (
                self.error_code(exc) == _TIMED_OUT and "Operation timed out" in str(exc)):
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
