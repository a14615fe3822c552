"""mysqlclient (``MySQLdb``): the driver Django's mysql backend is written for."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from django.db.backends.utils import typecast_time

from . import greeting, tls_arguments
from .base import TLS_ERROR_CODE, TLS_UNAVAILABLE, Driver, check_use_pure

#: What MariaDB Connector/C says when the server's certificate chain verified
#: but the certificate does not name the host connected to.
LIBMARIADB_HOST_NAME_REFUSED = "Validation of SSL server certificate failed"


def _host_name_refused(host: str | None, exc: BaseException) -> str:
    library_says = exc.args[-1] if exc.args else exc
    return (
        "The server's certificate does not name the host connected to, "
        f"DATABASES[...]['HOST'] = {host or 'localhost'!r} (MariaDB Connector/C: "
        f"{library_says}). "
        "On MariaDB Connector/C, mysqlclient checks the host name whenever it "
        "verifies the certificate: in OPTIONS['ssl_mode'] = 'VERIFY_CA' too (and "
        "in 'REQUIRED' with a CA given), as stock Django with mysqlclient does. Use "
        "a server certificate that names this host, a HOST the certificate names, "
        "or PyMySQL or mysql-connector (MYSQLPOOL_DRIVER) with ssl_mode 'VERIFY_CA' "
        "(or OPTIONS['ssl']['check_hostname'] = False) to verify the certificate "
        "chain only."
    )


class MySQLClientDriver(Driver):
    name = "mysqlclient"
    distribution = "mysqlclient"
    extra = "mysqlclient"
    module_name = "MySQLdb"
    min_version = (2, 2, 1)
    dialect_class = "sqlalchemy.dialects.mysql.mysqldb:MySQLDialect_mysqldb"

    def django_conversions(self) -> dict:
        converters = importlib.import_module(f"{self.module_name}.converters")
        field_type = importlib.import_module(f"{self.module_name}.constants.FIELD_TYPE")
        # Django's backend adds the same TIME entry: TIME columns as datetime.time.
        return {**converters.conversions, field_type.TIME: typecast_time}

    def connect_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        check_use_pure(params)
        params = {k: v for k, v in params.items() if k != "use_pure"}
        # mysqlclient enables multiple statements itself unless
        # OPTIONS["multi_statements"] is False: its own option, passed on as is.
        return tls_arguments.connect_arguments(self.name, params, self.client_library())

    def client_library(self) -> str:
        """The C library mysqlclient is built on: ``"libmariadb"`` (MariaDB
        Connector/C, version 3.x) or ``"libmysqlclient"`` (MySQL's, 5.7 and newer)."""
        info = self.dbapi.get_client_info()
        return (tls_arguments.LIBMARIADB if int(info.split(".")[0]) < 5
                else tls_arguments.LIBMYSQLCLIENT)

    def verify_ca_checks_host_name(self) -> bool:
        return tls_arguments.chain_check_includes_host_name(self.name, self.client_library())

    def connect(self, params: Mapping[str, Any]) -> Any:
        params = dict(params)
        probe = params.pop("_tls_probe_greeting", False)
        if probe and greeting.server_offers_tls(params) is False:
            # libmariadb would send the credentials in plain text before
            # finding out (its REQUIRED is "use TLS if offered"): refuse first.
            raise self.dbapi.OperationalError(TLS_ERROR_CODE, TLS_UNAVAILABLE)
        try:
            connection = self.dbapi.connect(**params)
        except self.dbapi.OperationalError as exc:
            if (params.get("ssl_mode") in ("VERIFY_CA", "VERIFY_IDENTITY")
                    and LIBMARIADB_HOST_NAME_REFUSED in str(exc)):
                raise self.dbapi.OperationalError(
                    TLS_ERROR_CODE, _host_name_refused(params.get("host"), exc)) from exc
            raise
        # As Django 5.2 does: an identity encoder for bytes breaks escaping.
        if getattr(connection, "encoders", {}).get(bytes) is bytes:
            connection.encoders.pop(bytes)
        if probe:
            self.verify_tls(connection)
        return connection

    def verify_tls(self, connection: Any) -> None:
        """Refuse a connection that is not encrypted although TLS was required.

        Built against MariaDB Connector/C, mysqlclient turns ``ssl_mode="REQUIRED"``
        into MYSQL_OPT_SSL_ENFORCE, which still connects in plain text when the
        server offers no TLS. connect() checks the greeting first; this catches a
        server whose greeting changed in between (or a relay that strips the TLS
        bit), after the login. One query per new connection, only for REQUIRED
        without verification (with a CA, libmariadb's own VERIFY_CA refuses such
        a server before the login).
        """
        cursor = connection.cursor()
        try:
            cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            row = cursor.fetchone()
        finally:
            cursor.close()
        if not (row and row[1]):
            connection.close()
            raise self.dbapi.OperationalError(TLS_ERROR_CODE, TLS_UNAVAILABLE)

    def translate_error(self, exc: BaseException) -> BaseException:
        # The library's own "the server does not support TLS" (libmariadb in the
        # VERIFY_* modes, PyMySQL with ssl) gets the message verify_tls() gives,
        # which names the settings and the fix. Other TLS errors (a certificate
        # that fails verification, ...) keep theirs.
        if (
            isinstance(exc, self.dbapi.OperationalError)
            and self.error_code(exc) == TLS_ERROR_CODE
            and "support" in str(exc)
        ):
            translated = self.dbapi.OperationalError(TLS_ERROR_CODE, TLS_UNAVAILABLE)
            translated.__cause__ = exc
            return translated
        return exc
