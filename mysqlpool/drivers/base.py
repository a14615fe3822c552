"""The driver contract: what Django's mysql backend and the pool need from a driver.

Django's ``django.db.backends.mysql`` is written against mysqlclient (``MySQLdb``).
A :class:`Driver` adapts one DB-API module to that contract, and hands the pool
the SQLAlchemy dialect that already knows the driver's ping and disconnect codes.
Subclasses override only what differs, as SQLAlchemy's MySQL dialects do.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured

from ..redaction import shown

#: MySQL's client error for a TLS failure (CR_SSL_CONNECTION_ERROR).
TLS_ERROR_CODE = 2026
#: What every driver says when TLS is required but the server offers none.
TLS_UNAVAILABLE = (
    "TLS is required (OPTIONS['ssl_mode'] is REQUIRED, VERIFY_CA or VERIFY_IDENTITY, "
    "or OPTIONS['ssl'] is set) but the server does not offer TLS. Enable TLS on the "
    "server, or set OPTIONS['ssl_mode'] = 'PREFERRED' to allow unencrypted connections."
)


class DriverNotInstalled(ImportError):
    """The driver module could not be imported (or is too old)."""


def mysqlclient_shaped(value: Any, literal: str) -> str | bytes:
    """Give another driver's SQL literal the form mysqlclient's ``escape()`` returns.

    mysqlclient writes floats as ``1.5e0`` and returns numbers as str but every
    other literal as bytes; Django's schema editor (and its tests) see that form.
    """
    if isinstance(value, float):
        text = repr(value)  # MySQLdb.converters.Float2Str
        return text if "e" in text else text + "e0"
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return literal
    return literal.encode()


def option_problems(options: Mapping[str, Any], where: str) -> list[str]:
    """What is wrong with the driver options in ``options`` (an alias's OPTIONS,
    ``where`` naming it), whichever driver is used: TLS and ``use_pure``."""
    from . import tls

    found = tls.problems(options, where)
    try:
        check_use_pure(options, where)
    except ImproperlyConfigured as exc:
        found.append(str(exc))
    return found


def check_use_pure(params: Mapping[str, Any], where: str = "DATABASES[...]['OPTIONS']") -> None:
    """Refuse ``use_pure`` other than True.

    mysql-connector's C extension connection has no socket mysqlpool can poll
    (no liveness check without a round trip, no fork protection) and is not
    tested; mysqlpool always uses the pure-Python class.
    """
    if "use_pure" in params and params["use_pure"] is not True:
        raise ImproperlyConfigured(
            f"{where}['use_pure'] = {shown(params['use_pure'])} is not supported: mysqlpool "
            "always uses mysql-connector's pure-Python connection, whose socket it "
            "watches (to find dead connections without a round trip, and after a "
            "fork); the C extension's connection has none. Remove the option or set "
            "it to True."
        )


class Driver:
    """Base adapter; the defaults are mysqlclient's behaviour."""

    #: The value users give ``MYSQLPOOL_DRIVER``.
    name: ClassVar[str]
    #: Distribution name on PyPI and the extra that installs it.
    distribution: ClassVar[str]
    extra: ClassVar[str]
    #: Module to import.
    module_name: ClassVar[str]
    #: Oldest supported release of the distribution.
    min_version: ClassVar[tuple[int, ...]]
    #: "module:Class" of the SQLAlchemy dialect for this driver.
    dialect_class: ClassVar[str]
    #: Whether the driver waits on the server through Python's ``socket``
    #: module, so that under gevent's or eventlet's monkey-patching a green
    #: thread waiting for the server lets the others run. A driver whose C
    #: code does its own network IO blocks every green thread of the process.
    cooperative: ClassVar[bool] = False
    #: Whether in_transaction() can answer (else it is never asked: a
    #: connection returns on every request).
    reports_transaction_state: ClassVar[bool] = False

    def __init__(self, dbapi: types.ModuleType) -> None:
        self.dbapi = dbapi
        module_name, class_name = self.dialect_class.split(":")
        dialect_cls = getattr(importlib.import_module(module_name), class_name)
        self.dialect = dialect_cls(dbapi=dbapi)
        self.conversions = self.django_conversions()

    # ----- loading -------------------------------------------------------------

    @classmethod
    def load(cls) -> Driver:
        """Import the driver and check its version; raise DriverNotInstalled."""
        try:
            dbapi = importlib.import_module(cls.module_name)
        except ImportError as exc:
            raise DriverNotInstalled(
                f"{cls.distribution} is not installed (import {cls.module_name} "
                f"failed: {exc})"
            ) from exc
        version = cls.version_of(dbapi)
        if version < cls.min_version:
            raise DriverNotInstalled(
                f"{cls.distribution} {'.'.join(map(str, cls.min_version))} or newer "
                f"is required; {'.'.join(map(str, version))} is installed"
            )
        return cls(dbapi)

    @classmethod
    def version_of(cls, dbapi: types.ModuleType) -> tuple[int, ...]:
        return tuple(dbapi.version_info[:3])

    @classmethod
    def is_module(cls, module: types.ModuleType) -> bool:
        """Whether ``module`` (e.g. whatever ``MySQLdb`` is) is this driver."""
        return module.__name__ == cls.module_name

    def mysqldb_stand_in(self) -> dict[str, types.ModuleType]:
        """``sys.modules`` entries that let Django's mysql backend import.

        Django's backend does ``import MySQLdb`` at import time. When mysqlclient
        is absent, these entries stand in for the duration of that import only.
        """
        return {}

    # ----- connecting ----------------------------------------------------------

    def django_conversions(self) -> dict | None:
        """The ``conv`` mapping Django's backend would pass, for this driver.

        None for drivers that convert values some other way.
        """
        return None

    def connect_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Translate Django's (mysqlclient-style) connect arguments for this driver."""
        return dict(params)

    def creator(self, params: Mapping[str, Any]) -> Callable[..., Any]:
        """The function the pool calls to open one connection; its keyword
        arguments (the password of the moment) are added to ``params``."""
        params = self.connect_params(params)
        return lambda **late: self.connect({**params, **late})

    def connect(self, params: Mapping[str, Any]) -> Any:
        """Open one connection from already translated parameters."""
        return self.dbapi.connect(**params)

    # ----- what Django's backend calls on a connection ------------------------

    def set_autocommit(self, connection: Any, autocommit: bool) -> None:
        # mysqlclient and PyMySQL compare with the server status flag locally,
        # so this costs a round trip only when the mode really changes.
        connection.autocommit(autocommit)

    def cursor(self, connection: Any) -> Any:
        return connection.cursor()

    def error_code(self, exc: BaseException) -> Any:
        return exc.args[0] if exc.args else None

    def operational_error(self, code: int, message: str) -> BaseException:
        """The driver's OperationalError for a client-side failure of mysqlpool's."""
        return self.dbapi.OperationalError(code, message)

    def verify_ca_checks_host_name(self) -> bool:
        """Whether verifying the server's certificate chain with TLS required
        (``ssl_mode`` VERIFY_CA, or a CA given) also checks its host name, as
        VERIFY_IDENTITY does (see tls_arguments.chain_check_includes_host_name)."""
        return False

    def translate_error(self, exc: BaseException) -> BaseException:
        """The exception mysqlclient raises for the same error.

        mysqlclient picks the class from the error code, and Django's backend
        and its users expect those classes. Only called on the error path.
        """
        return exc

    def quote_value(self, connection: Any, value: Any) -> str | bytes:
        """A SQL literal for ``value``, as Django's schema editor gets it from mysqlclient."""
        quoted = self.escape(connection, value)
        # Django's own rule: mysqlclient returns bytes, decoded only for str values.
        if isinstance(value, str) and isinstance(quoted, bytes):
            quoted = quoted.decode()
        return quoted

    def escape(self, connection: Any, value: Any) -> str | bytes:
        """mysqlclient's ``connection.escape(value, encoders)``."""
        return connection.escape(value, connection.encoders)

    # ----- what the pool needs -------------------------------------------------

    def ping(self, connection: Any) -> None:
        """Round trip to the server; raises the driver's error when it is gone."""
        self.dialect.do_ping(connection)

    def is_disconnect(self, exc: BaseException) -> bool:
        """Whether ``exc`` means the connection is dead and must be replaced."""
        return isinstance(exc, self.dbapi.Error) and self.dialect.is_disconnect(
            exc, None, None
        )

    def socket_state(self, connection: Any) -> tuple[Any, int] | None:
        """The connection's open socket as ``(token, fd)``, or None once it is closed.

        The pool polls ``fd`` to see a closed peer without a round trip; the
        token identifies the socket itself, since a closed socket's number can
        be given to another one.
        """
        try:
            fd = connection.fileno()
        except Exception:  # mysqlclient raises once the connection is closed
            return None
        return (fd, fd) if fd >= 0 else None

    def in_transaction(self, connection: Any) -> bool | None:
        """Whether the server reports an open transaction; None when unknown."""
        return None

    def reset_session(self, connection: Any) -> bool:
        """Reset session state in place (COM_RESET_CONNECTION).

        Returns False when the driver cannot, and the pool then replaces the
        connection instead.
        """
        return False
