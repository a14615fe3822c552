"""mysql-connector-python: Oracle's driver, whose API differs most from MySQLdb."""

from __future__ import annotations

import importlib
import types
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .base import Driver, mysqlclient_shaped

# mysqlclient connect arguments that mysql-connector spells differently.
_RENAMED = {
    "connect_timeout": "connection_timeout",
    "local_infile": "allow_local_infile",
    "read_default_file": "option_files",
    "read_default_group": "option_groups",
}
_SSL_KEYS = {"ca": "ssl_ca", "cert": "ssl_cert", "key": "ssl_key", "cipher": "ssl_cipher"}


class ConnectorDriver(Driver):
    name = "mysql-connector"
    distribution = "mysql-connector-python"
    extra = "connector"
    module_name = "mysql.connector"
    min_version = (9, 0, 0)
    dialect_class = "sqlalchemy.dialects.mysql.mysqlconnector:MySQLDialect_mysqlconnector"

    def __init__(self, dbapi: types.ModuleType) -> None:
        super().__init__(dbapi)
        constants = importlib.import_module("mysql.connector.constants")
        self._client_flags = constants.ClientFlag
        cursor = importlib.import_module("mysql.connector.cursor")
        self._cursor_classes = {
            importlib.import_module("mysql.connector.connection").MySQLConnection: (
                _tuple_rows(cursor.MySQLCursorBuffered)
            )
        }
        if getattr(dbapi, "HAVE_CEXT", False):
            connection_cext = importlib.import_module("mysql.connector.connection_cext")
            cursor_cext = importlib.import_module("mysql.connector.cursor_cext")
            self._cursor_classes[connection_cext.CMySQLConnection] = (
                _tuple_rows(cursor_cext.CMySQLCursorBuffered)
            )
        # The connector's own Django backend has the converter Django needs
        # (TIME as datetime.time, SafeString parameters).
        django_base = importlib.import_module("mysql.connector.django.base")
        self._converter_class = django_base.DjangoMySQLConverter

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
        params = dict(params)
        params.pop("conv", None)
        params.setdefault("converter_class", self._converter_class)
        flags = params.pop("client_flag", 0) | self._client_flags.MULTI_STATEMENTS
        # A list adds to the connector's default flags; an int would replace them.
        params["client_flags"] = [bit for bit in _bits(flags)]
        for old, new in _RENAMED.items():
            if old in params:
                params[new] = params.pop(old)
        ssl = params.pop("ssl", None) or {}
        for key, value in ssl.items():
            if key in _SSL_KEYS:
                params.setdefault(_SSL_KEYS[key], value)
        ssl_mode = str(params.pop("ssl_mode", "") or "").upper()
        if ssl_mode == "DISABLED":
            params["ssl_disabled"] = True
        elif ssl_mode in ("VERIFY_CA", "VERIFY_IDENTITY"):
            params["ssl_verify_cert"] = True
            params["ssl_verify_identity"] = ssl_mode == "VERIFY_IDENTITY"
        elif ssl_mode == "REQUIRED" or ssl:
            params["_mysqlpool_tls_required"] = True
        # mysqlclient's cursors buffer results; so do the cursors made here.
        params.setdefault("buffered", True)
        return params

    def connect(self, params: Mapping[str, Any]) -> Any:
        params = dict(params)
        tls_required = params.pop("_mysqlpool_tls_required", False)
        connection = self.dbapi.connect(**params)
        if tls_required and not connection.is_secure:
            connection.close()
            raise self.dbapi.OperationalError(
                msg="TLS is required (ssl_mode REQUIRED or an ssl option) but the "
                "server does not offer it",
                errno=2026,
            )
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

    def error_code(self, exc: BaseException) -> Any:
        return getattr(exc, "errno", None)

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

    def socket_fd(self, connection: Any) -> int | None:
        mysql_socket = getattr(connection, "_socket", None)
        sock = getattr(mysql_socket, "sock", None)
        return sock.fileno() if sock is not None else None

    def in_transaction(self, connection: Any) -> bool | None:
        return connection.in_transaction

    def reset_session(self, connection: Any) -> bool:
        # Resets the session and re-applies charset, autocommit and init_command.
        return bool(connection.cmd_reset_connection())


def _tuple_rows(cursor_class: type) -> type:
    """The cursor class, returning row batches as tuples as MySQLdb does.

    Django stops iterating when fetchmany() returns its backend's empty value,
    which for MySQL is ``()``; the connector returns ``[]``.
    """

    class Cursor(cursor_class):
        def fetchmany(self, size=None):
            return tuple(super().fetchmany(size))

        def fetchall(self):
            return tuple(super().fetchall())

    Cursor.__name__ = Cursor.__qualname__ = cursor_class.__name__
    return Cursor


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
