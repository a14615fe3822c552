"""PyMySQL: pure Python, a port of MySQLdb, so it overrides only what differs."""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable, Mapping
from typing import Any

from .base import mysqlclient_shaped
from .mysqlclient import MySQLClientDriver

# mysqlclient's ssl_mode values, as PyMySQL's own connect arguments.
_SSL_MODES = {
    "DISABLED": {"ssl_disabled": True},
    "PREFERRED": {},
    "REQUIRED": {"ssl": {"check_hostname": False, "verify_mode": False}},
    "VERIFY_CA": {"ssl_verify_cert": True},
    "VERIFY_IDENTITY": {"ssl_verify_cert": True, "ssl_verify_identity": True},
}
# The same modes said inside a user's ssl dict. PyMySQL builds its own dict, and
# drops the user's (CA, client certificate), as soon as ssl_verify_* is given.
_SSL_DICT_MODES = {
    "VERIFY_CA": {"verify_mode": True, "check_hostname": False},
    "VERIFY_IDENTITY": {"verify_mode": True, "check_hostname": True},
}


class PyMySQLDriver(MySQLClientDriver):
    name = "pymysql"
    distribution = "PyMySQL"
    extra = "pymysql"
    module_name = "pymysql"
    min_version = (1, 1, 0)
    dialect_class = "sqlalchemy.dialects.mysql.pymysql:MySQLDialect_pymysql"

    def __init__(self, dbapi: types.ModuleType) -> None:
        super().__init__(dbapi)
        self._multi_statements = dbapi.constants.CLIENT.MULTI_STATEMENTS

    @classmethod
    def version_of(cls, dbapi: types.ModuleType) -> tuple[int, ...]:
        # version_info is the MySQLdb version PyMySQL emulates, not its own.
        return tuple(dbapi.VERSION[:3])

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
        params = super().connect_params(params)  # ssl_mode checked and upper-cased
        mode = params.pop("ssl_mode", None)
        if mode is not None:
            tls = _SSL_MODES[mode]
            user_ssl = params.get("ssl")
            if isinstance(user_ssl, dict) and user_ssl and mode in _SSL_DICT_MODES:
                params["ssl"] = {**user_ssl, **_SSL_DICT_MODES[mode]}
                tls = {}
            for key, value in tls.items():
                if key == "ssl" and params.get("ssl"):
                    continue  # the user's ssl dict already makes TLS required
                params.setdefault(key, value)
        # mysqlclient always allows multiple statements (Django relies on it).
        params["client_flag"] = params.get("client_flag", 0) | self._multi_statements
        return params

    def creator(self, params: Mapping[str, Any]) -> Callable[[], Any]:
        # PyMySQL builds an SSLContext (loading the system CA store, ~20 ms) on
        # every connect, even in its default "preferred" mode. Build it once per
        # pool. The connection still decides whether TLS is required, preferred
        # or off exactly as before; only the context object is shared.
        params = self.connect_params(params)
        base = self.dbapi.connections.Connection
        shared: list = []

        class Connection(base):
            def _create_ssl_ctx(self, sslp):
                if not shared:
                    shared.append(super()._create_ssl_ctx(sslp))
                return shared[0]

        return lambda: Connection(**params)

    def verify_tls(self, connection: Any) -> None:
        # PyMySQL refuses a server without TLS itself when TLS is required
        # (connect_params maps ssl_mode REQUIRED to an ssl dict).
        return None

    def escape(self, connection: Any, value: Any) -> str | bytes:
        if isinstance(value, (bytes, bytearray)):
            # mysqlclient quotes bytes as a string literal; PyMySQL as X'..'.
            text = connection._escape_string(bytes(value).decode("latin-1"))
            return b"'" + text.encode("latin-1") + b"'"
        return mysqlclient_shaped(value, connection.escape(value, connection.encoders))

    def socket_state(self, connection: Any) -> tuple[Any, int] | None:
        sock = connection._sock  # None once PyMySQL has closed the connection
        fd = sock.fileno() if sock is not None else -1
        return (sock, fd) if fd >= 0 else None

    # in_transaction() stays unknown, as for mysqlclient: PyMySQL updates
    # server_status from OK packets only, not from the packet that ends a result
    # set, so a transaction whose statements all returned rows (SELECT ... FOR
    # UPDATE, INSERT ... RETURNING) looks closed and would go back to the pool
    # open, locks and all.
