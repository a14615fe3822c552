"""TLS: what ``OPTIONS["ssl_mode"]`` and ``OPTIONS["ssl"]`` mean, with every driver.

The options are mysqlclient's, as Django documents them. The three drivers read
them differently (a CA given is verified by mysqlclient and PyMySQL, ignored by
mysql-connector; MariaDB Connector/C's VERIFY_CA also checks the host name;
REQUIRED sends the password in clear text to a server without TLS with two of
them), so this module is the one place that says what they mean (:data:`TABLE`)
and reads them (:func:`read`); tls_arguments.py turns them into each driver's
connect arguments. The driver modules only pass the result on.

Rules, the same on every driver:

- a CA given (``ssl["ca"]`` or ``ssl["capath"]``) means the server's certificate
  chain is verified, whatever the mode;
- REQUIRED encrypts or refuses the server *before* sending the credentials;
- VERIFY_CA verifies the chain (against the CA given, else the system's CAs) but
  not the host name; VERIFY_IDENTITY verifies both;
- an ``ssl`` dict without ``ssl_mode`` means REQUIRED; ``ssl=True``/``False``
  mean REQUIRED/DISABLED (as mysqlclient 2.2.4+ reads them);
- an ``ssl`` dict with a CA and without ``ssl_mode`` (Django's documented TLS
  setting) verifies the chain and the host name, as stock Django does with
  PyMySQL (its default ``check_hostname=True`` when a CA is given) and with
  mysqlclient on MariaDB Connector/C; ``ssl["check_hostname"] = False``
  verifies the chain only;
- PREFERRED and DISABLED are mysqlclient's: TLS when the driver uses it by
  default and the server offers it, and never, respectively.

One exception, the library's: mysqlclient on MariaDB Connector/C checks the host
name whenever it verifies the chain with TLS required (VERIFY_CA, or a CA given),
as stock Django with mysqlclient does. That library's VERIFY_CA is its only mode
that refuses a server without TLS before sending the credentials; a look at the
server on another connection beforehand cannot vouch for the one that logs in.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from ..redaction import shown

#: Where the options live, for messages when the alias is not known.
SOMEWHERE = "DATABASES[...]['OPTIONS']"

# How a connection may be encrypted.
DEFAULT = "driver default"  # no TLS option given: whatever the driver does
NEVER = "never"
PREFERRED = "when offered"
REQUIRED = "required"


@dataclass(frozen=True)
class Row:
    """One ``ssl_mode``: what it means, and the connect arguments each driver
    gets for it before the ``ssl`` dict's contents are added."""

    meaning: str
    encrypt: str
    verify_chain: bool
    verify_host: bool
    #: mysqlclient built on MariaDB Connector/C (libmariadb), and on MySQL's libmysqlclient.
    mysqlclient: dict[str, Any]
    mysqlclient_libmysql: dict[str, Any]
    #: PyMySQL and mysql-connector: these, plus an SSLContext (see TLS.context()).
    pymysql: dict[str, Any]
    connector: dict[str, Any]


#: ssl_mode -> meaning -> per-driver connect arguments. ``None``: no TLS option given.
TABLE: dict[str | None, Row] = {
    None: Row(
        "the driver's default (mysqlclient on MariaDB Connector/C 3.3: plain text; "
        "PyMySQL, mysql-connector: TLS when the server offers it); never verified",
        DEFAULT, False, False, {}, {}, {}, {},
    ),
    "DISABLED": Row(
        "never encrypted (an ssl dict is ignored)",
        NEVER, False, False,
        {"ssl_mode": "DISABLED"}, {"ssl_mode": "DISABLED"},
        {"ssl_disabled": True}, {"ssl_disabled": True},
    ),
    "PREFERRED": Row(
        "encrypted when the server offers TLS and the driver uses it (mysqlclient on "
        "MariaDB Connector/C: only with an ssl dict), else plain text; verified only "
        "against a CA given",
        PREFERRED, False, False,
        {"ssl_mode": "PREFERRED"}, {"ssl_mode": "PREFERRED"}, {}, {},
    ),
    "REQUIRED": Row(
        "encrypted, or refused before the credentials are sent; verified only "
        "against a CA given (then as VERIFY_CA)",
        REQUIRED, False, False,
        # libmariadb's REQUIRED connects in plain text to a server without TLS:
        # without a CA, the driver module reads the server's greeting first
        # (_tls_probe_greeting); with one, libmariadb's VERIFY_CA is used.
        {"ssl_mode": "REQUIRED"}, {"ssl_mode": "REQUIRED"}, {}, {},
    ),
    "VERIFY_CA": Row(
        "REQUIRED, and the certificate chain verified (against the CA given, else "
        "the system's CAs); the host name is not checked, except by mysqlclient on "
        "MariaDB Connector/C, whose VERIFY_CA checks it too",
        REQUIRED, True, False,
        # libmariadb's VERIFY_CA is the only mode in which it refuses a server
        # without TLS before the credentials; it checks the host name as well.
        {"ssl_mode": "VERIFY_CA"}, {"ssl_mode": "VERIFY_CA"}, {}, {},
    ),
    "VERIFY_IDENTITY": Row(
        "VERIFY_CA, and the server's host name checked against its certificate",
        REQUIRED, True, True,
        {"ssl_mode": "VERIFY_IDENTITY"}, {"ssl_mode": "VERIFY_IDENTITY"}, {}, {},
    ),
}

MODES = tuple(mode for mode in TABLE if mode is not None)

#: The ssl dict's keys, and what each must be.
SSL_KEYS: dict[str, str] = {
    "ca": "the path of a PEM file of CA certificates",
    "capath": "the path of a directory of CA certificates",
    "cert": "the path of the client certificate (PEM)",
    "key": "the path of the client certificate's private key (PEM)",
    "password": "the client key's password (PyMySQL and mysql-connector only)",
    "cipher": "an OpenSSL cipher list (TLS 1.2 and older)",
    "check_hostname": "True or False (True: as VERIFY_IDENTITY)",
    "verify_mode": "True or False (True: as VERIFY_CA)",
}
_PATH_KEYS = ("ca", "capath", "cert", "key")
_BOOL_KEYS = ("check_hostname", "verify_mode")


@dataclass(frozen=True)
class TLS:
    """What a connection's TLS options mean, read and checked."""

    mode: str | None = None
    encrypt: str = DEFAULT
    verify_chain: bool = False
    verify_host: bool = False
    files: dict[str, str] = field(default_factory=dict)  # ca, capath, cert, key
    password: str | None = None
    cipher: str | None = None

    @property
    def required(self) -> bool:
        return self.encrypt == REQUIRED

    def context(self) -> ssl.SSLContext | None:
        """The SSLContext PyMySQL and mysql-connector use; None when not encrypting
        or when the driver's own default applies."""
        if self.encrypt in (DEFAULT, NEVER):
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = self.verify_host
        if self.verify_chain:
            context.verify_mode = ssl.CERT_REQUIRED
            if "ca" in self.files or "capath" in self.files:
                context.load_verify_locations(
                    cafile=self.files.get("ca"), capath=self.files.get("capath"))
            else:
                context.load_default_certs()
            # As PyMySQL does: Python 3.13's strict X.509 checks refuse the
            # self-signed certificates MySQL servers make for themselves.
            context.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
        else:
            context.verify_mode = ssl.CERT_NONE
        if "cert" in self.files:
            context.load_cert_chain(
                self.files["cert"], self.files.get("key"), self.password)
        if self.cipher:
            context.set_ciphers(self.cipher)
        return context


def _error(setting: str, value: Any, valid: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{setting} = {shown(value)} is not valid. {valid}")


def read(params: Mapping[str, Any], where: str = SOMEWHERE) -> TLS:
    """The TLS meaning of mysqlclient-style connect arguments (or OPTIONS).

    Raises ImproperlyConfigured naming the setting (``where`` is the OPTIONS
    it came from), the bad value and what is valid.
    """
    mode = params.get("ssl_mode")
    if mode is not None:
        if not isinstance(mode, str) or mode.upper() not in MODES:
            raise _error(
                f"{where}['ssl_mode']", mode,
                f"Use one of {', '.join(repr(m) for m in MODES)} (any case), or leave "
                "it unset for the driver's default.",
            )
        mode = mode.upper()
    ssl_option = params.get("ssl")
    entries: Mapping[str, Any] = {}
    if isinstance(ssl_option, bool):
        if mode is None:
            mode = "REQUIRED" if ssl_option else "DISABLED"
    elif isinstance(ssl_option, Mapping):
        entries = ssl_option
    elif ssl_option is not None:
        raise _error(
            f"{where}['ssl']", ssl_option,
            "Use a dict with any of the keys " + ", ".join(map(repr, SSL_KEYS))
            + ", or True (as ssl_mode REQUIRED) or False (as DISABLED).",
        )
    for key, value in entries.items():
        setting = f"{where}['ssl'][{key!r}]"
        if key not in SSL_KEYS:
            raise _error(
                f"{where}['ssl']", dict(entries),
                f"{key!r} is not a key mysqlpool knows. Valid keys: "
                + "; ".join(f"{k!r}: {meaning}" for k, meaning in SSL_KEYS.items()) + ".",
            )
        if key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise _error(setting, value, f"It must be {SSL_KEYS[key]}.")
        elif value is not None and not isinstance(value, (str, os.PathLike)):
            raise _error(setting, value, f"It must be {SSL_KEYS[key]}, as a str.")
    row = TABLE[mode]
    encrypt, verify_chain, verify_host = row.encrypt, row.verify_chain, row.verify_host
    if encrypt == NEVER:
        return TLS(mode=mode, encrypt=NEVER)
    files = {k: os.fspath(entries[k]) for k in _PATH_KEYS if entries.get(k) is not None}
    if entries and encrypt == DEFAULT:
        encrypt = REQUIRED  # an ssl dict asks for TLS (Django's documented use)
    ca_given = "ca" in files or "capath" in files
    if ca_given or entries.get("verify_mode"):
        verify_chain = True
    if entries.get("check_hostname") or (
            ca_given and mode is None and entries.get("check_hostname") is None):
        # Asked for, or an ssl dict with a CA alone: stock PyMySQL checks the
        # host name then, and an app moving from it must not verify less.
        verify_chain = verify_host = True
    if entries.get("verify_mode") is False and verify_chain:
        raise _error(
            f"{where}['ssl']['verify_mode']", False,
            "It contradicts the other TLS options: a CA given, ssl_mode VERIFY_CA or "
            "VERIFY_IDENTITY, or check_hostname=True all mean the certificate is "
            "verified. Remove verify_mode, or the CA and the verifying mode.",
        )
    if entries.get("check_hostname") is False and verify_host:
        raise _error(
            f"{where}['ssl']['check_hostname']", False,
            "ssl_mode VERIFY_IDENTITY checks the host name. Remove check_hostname, or "
            "use ssl_mode VERIFY_CA.",
        )
    if verify_host and encrypt == PREFERRED:
        raise _error(
            f"{where}['ssl']['check_hostname']", True,
            "Checking the host name needs an encrypted connection, but ssl_mode "
            "PREFERRED allows plain text. Use ssl_mode VERIFY_IDENTITY.",
        )
    return TLS(
        mode=mode, encrypt=encrypt, verify_chain=verify_chain, verify_host=verify_host,
        files=files, password=entries.get("password"), cipher=entries.get("cipher"),
    )


def problems(options: Mapping[str, Any], where: str) -> list[str]:
    """What is wrong with the TLS options in ``options`` (for ``manage.py check``)."""
    try:
        read(options, where)
    except ImproperlyConfigured as exc:
        return [str(exc)]
    return []
