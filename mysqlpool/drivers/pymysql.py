"""PyMySQL: pure Python, a port of MySQLdb, so it overrides only what differs."""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable, Mapping
from typing import Any

from . import compat_pymysql as compat
from . import tls_arguments
from .base import check_use_pure
from .mysqlclient import MySQLClientDriver


class PyMySQLDriver(MySQLClientDriver):
    name = "pymysql"
    distribution = "PyMySQL"
    extra = "pymysql"
    module_name = "pymysql"
    min_version = (1, 1, 0)
    dialect_class = "sqlalchemy.dialects.mysql.pymysql:MySQLDialect_pymysql"
    cooperative = True  # pure Python over the socket module

    def __init__(self, dbapi: types.ModuleType) -> None:
        super().__init__(dbapi)
        self._multi_statements = compat.submodule(dbapi, "constants.CLIENT").MULTI_STATEMENTS
        # PyMySQL's Connection with mysqlclient's API (compat_pymysql).
        self._compat_class = compat.connection_class(dbapi)

    @classmethod
    def version_of(cls, dbapi: types.ModuleType) -> tuple[int, ...]:
        # version_info is the MySQLdb version PyMySQL emulates, not its own.
        return tuple(dbapi.VERSION[:3])

    def django_conversions(self) -> dict:
        conversions = super().django_conversions()
        field_type = compat.submodule(self.dbapi, "constants.FIELD_TYPE")
        for code in (field_type.DATE, field_type.DATETIME, field_type.TIMESTAMP):
            conversions[code] = _none_if_invalid(conversions[code])
        return conversions

    def mysqldb_stand_in(self) -> dict[str, types.ModuleType]:
        # What pymysql.install_as_MySQLdb() does, plus the submodules Django
        # imports: without them Python would load second copies of PyMySQL's
        # modules, whose exception classes the driver never raises.
        names = ["", ".constants", ".constants.CLIENT", ".constants.FIELD_TYPE", ".converters"]
        return {
            "MySQLdb" + suffix: importlib.import_module("pymysql" + suffix)
            for suffix in names
        }

    def connect_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        check_use_pure(params)
        params = {k: v for k, v in params.items() if k != "use_pure"}
        params = tls_arguments.connect_arguments(self.name, params)
        # Not enabled unless asked for (OPTIONS["multi_statements"] = True, or
        # client_flag with CLIENT.MULTI_STATEMENTS), as with stock PyMySQL:
        # it lets an injected "; ..." run a statement of its own.
        if params.pop("multi_statements", False):
            params["client_flag"] = params.get("client_flag", 0) | self._multi_statements
        return params

    def creator(self, params: Mapping[str, Any]) -> Callable[..., Any]:
        # One connection class, so one SSLContext, per pool (see _connection_class).
        params = self.connect_params(params)
        connection_class, params = self._connection_class(params)
        return lambda **late: connection_class(**{**params, **late})

    def connect(self, params: Mapping[str, Any]) -> Any:
        connection_class, params = self._connection_class(params)
        return connection_class(**params)

    def _connection_class(self, params: Mapping[str, Any]) -> tuple[type, dict[str, Any]]:
        """PyMySQL's Connection, given the SSLContext from tls.py, and the
        parameters left for it.

        PyMySQL builds an SSLContext (loading the system CA store, ~20 ms) on
        every connect, even in its default "preferred" mode. The class made here
        builds it once: every connection made from it shares it. Where TLS is
        required, PyMySQL is given the context (ssl=), and refuses a server
        without TLS before authenticating; where it is preferred, the context
        replaces the one PyMySQL would build for its preferred mode.
        """
        params = dict(params)
        context = params.pop("_tls_context", None)
        if params.pop("_tls_required", False):
            params["ssl"] = context
        shared: list = [context] if context is not None else []
        compat_class: Any = self._compat_class

        class Connection(compat_class):
            def _create_ssl_ctx(self, sslp):
                if not shared:
                    shared.append(super()._create_ssl_ctx(sslp))
                return shared[0]

        return Connection, params

    def verify_ca_checks_host_name(self) -> bool:
        return False  # only where tls.py's context checks it (VERIFY_IDENTITY, ...)

    def verify_tls(self, connection: Any) -> None:
        # PyMySQL refuses a server without TLS itself, before authenticating,
        # when it is given an SSLContext (ssl=).
        return None

    def socket_state(self, connection: Any) -> tuple[Any, int] | None:
        sock = connection._sock  # None once PyMySQL has closed the connection
        fd = sock.fileno() if sock is not None else -1
        return (sock, fd) if fd >= 0 else None

    # in_transaction() stays unknown, as for mysqlclient: PyMySQL updates
    # server_status from OK packets only, not from the packet that ends a result
    # set, so a transaction whose statements all returned rows (SELECT ... FOR
    # UPDATE, INSERT ... RETURNING) looks closed and would go back to the pool
    # open, locks and all.


def _none_if_invalid(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """PyMySQL returns a date it cannot read ('0000-00-00') as text; mysqlclient None."""

    def converter(value: Any) -> Any:
        result = convert(value)
        return None if isinstance(result, (str, bytes)) else result

    return converter
