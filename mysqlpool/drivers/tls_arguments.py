"""Each driver's connect arguments for the TLS options (their meaning: tls.py)."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .tls import DEFAULT, NEVER, SOMEWHERE, TABLE, TLS, Row, read

#: TLS options, as the connect arguments that carry them.
OPTION_NAMES = ("ssl_mode", "ssl")

#: mysqlclient's C libraries.
LIBMARIADB = "libmariadb"
LIBMYSQLCLIENT = "libmysqlclient"


def connect_arguments(driver: str, params: Mapping[str, Any],
                      library: str = LIBMARIADB) -> dict[str, Any]:
    """``params`` with the TLS options replaced by ``driver``'s own connect arguments.

    ``driver`` is a ``MYSQLPOOL_DRIVER`` name; ``library`` is mysqlclient's C
    library (``"libmariadb"`` or ``"libmysqlclient"``). Keys starting with
    ``_tls_`` are for the driver module, not the library:
    ``_tls_probe_greeting`` (mysqlclient: check the server offers TLS before
    connecting), ``_tls_context`` (the SSLContext) and ``_tls_required``.
    """
    tls = read(params)
    out = {k: v for k, v in params.items() if k not in OPTION_NAMES}
    row = TABLE[tls.mode if tls.mode is not None or tls.encrypt == DEFAULT else "REQUIRED"]
    if driver == "mysqlclient":
        out.update(_mysqlclient(tls, row, library))
    elif tls.encrypt == NEVER:
        out.update(row.pymysql if driver == "pymysql" else row.connector)
    elif tls.encrypt != DEFAULT:
        out["_tls_context"] = tls.context()
        out["_tls_required"] = tls.required
    return out


def chain_check_includes_host_name(driver: str, library: str = LIBMARIADB) -> bool:
    """Whether ``driver`` checks the server's host name whenever it verifies the
    certificate chain with TLS required (VERIFY_CA, or a CA given): mysqlclient
    on MariaDB Connector/C, whose VERIFY_CA is the only way to have it refuse a
    server without TLS before the credentials are sent."""
    return driver == "mysqlclient" and library == LIBMARIADB


def _mysqlclient(tls: TLS, row: Row, library: str) -> dict[str, Any]:
    if tls.encrypt in (DEFAULT, NEVER):
        return dict(row.mysqlclient)
    if tls.password is not None:
        raise ImproperlyConfigured(
            f"{SOMEWHERE}['ssl']['password'] is not supported by mysqlclient (it cannot "
            "pass a key password to its C library). Use a key file without a password, "
            "or PyMySQL or mysql-connector."
        )
    ssl_dict: dict[str, str] = dict(tls.files)
    if tls.cipher:
        ssl_dict["cipher"] = tls.cipher
    if library == LIBMYSQLCLIENT:
        # MySQL's library verifies only in the VERIFY_* modes, and refuses a
        # server without TLS itself, before authenticating.
        mode = "VERIFY_IDENTITY" if tls.verify_host else (
            "VERIFY_CA" if tls.verify_chain else row.mysqlclient_libmysql["ssl_mode"])
        return _with_ssl({"ssl_mode": mode}, ssl_dict)
    # MariaDB Connector/C verifies the chain whenever a CA is given. Its REQUIRED
    # sends the credentials in plain text to a server without TLS; its VERIFY_CA
    # and VERIFY_IDENTITY (one switch) refuse such a server before sending
    # anything, and check the host name as well as the chain.
    if tls.verify_host:
        return _with_ssl({"ssl_mode": "VERIFY_IDENTITY"}, ssl_dict)
    if tls.verify_chain and not ("ca" in ssl_dict or "capath" in ssl_dict):
        ssl_dict.update(_system_cas())
    if tls.verify_chain and tls.required:
        # Enforced by the library itself on the connection that logs in,
        # which no look at the server beforehand can be (the server behind an
        # address can change between two connections).
        return _with_ssl({"ssl_mode": "VERIFY_CA"}, ssl_dict)
    if tls.required:
        # Nothing verified: an active attacker could as well intercept the
        # unverified TLS. Reading the greeting first (on a connection that sends
        # nothing) keeps the credentials from a passive eavesdropper on a
        # server without TLS, which is what REQUIRED promises.
        return {**_with_ssl({"ssl_mode": "REQUIRED"}, ssl_dict), "_tls_probe_greeting": True}
    return _with_ssl({"ssl_mode": "PREFERRED"}, ssl_dict)


def _with_ssl(arguments: dict[str, Any], ssl_dict: dict[str, str]) -> dict[str, Any]:
    # An empty dict would still be an ssl argument to mysqlclient: leave it out.
    return {**arguments, "ssl": ssl_dict} if ssl_dict else arguments


def _system_cas() -> dict[str, str]:
    paths = ssl.get_default_verify_paths()
    found = {}
    if paths.cafile and os.path.isfile(paths.cafile):
        found["ca"] = paths.cafile
    if paths.capath and os.path.isdir(paths.capath):
        found["capath"] = paths.capath
    if not found:
        raise ImproperlyConfigured(
            f"{SOMEWHERE}['ssl_mode'] = 'VERIFY_CA' without a CA, and no system CA store "
            f"was found (looked for {paths.cafile!r} and {paths.capath!r}). Give the "
            f"server's CA as {SOMEWHERE}['ssl']['ca']."
        )
    return found
