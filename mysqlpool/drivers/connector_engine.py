"""mysql-connector-python under its own Django ENGINE (``mysql.connector.django``).

That backend is written against the connector's own API (its connection's
``autocommit`` property, its cursors, its exceptions, its
``DjangoMySQLConverter``), not MySQLdb's: the connection handed to it is the
connector's own pure-Python ``MySQLConnection``, with none of the MySQLdb
shaping :class:`~mysqlpool.drivers.connector.ConnectorDriver` adds for
Django's MySQL backend. What the pool itself needs of the connection (ping,
socket, transaction state, reset) is the same as there.
"""

from __future__ import annotations

import importlib
import threading
import types
from collections.abc import Mapping
from typing import Any

from .base import check_use_pure
from .connector import ConnectorDriver

_lock = threading.Lock()
_loaded: list[ConnectorEngineDriver] = []


class ConnectorEngineDriver(ConnectorDriver):
    """The connector as its own ENGINE uses it."""

    def __init__(self, dbapi: types.ModuleType) -> None:
        super().__init__(dbapi)
        connection = importlib.import_module("mysql.connector.connection")
        cursors = importlib.import_module("mysql.connector.cursor")
        # Always the pure-Python class (see base.check_use_pure).
        self.connection_class = connection.MySQLConnection
        # The pool's own statements (session setup, checks) read their
        # results whole; the backend's cursors are the ones it asks for.
        self._cursor_classes = {self.connection_class: cursors.MySQLCursorBuffered}
        django_base = importlib.import_module("mysql.connector.django.base")
        self._converter_class = django_base.DjangoMySQLConverter

    def connect_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        # The backend's get_connection_params() gives the connector's own
        # arguments already; only what its get_new_connection() adds.
        check_use_pure(params)
        params = {k: v for k, v in params.items() if k != "use_pure"}
        params.setdefault("converter_class", self._converter_class)
        return params

    def translate_error(self, exc: BaseException) -> BaseException:
        # The backend expects the connector's own exceptions, as they are.
        return exc


def connector_engine_driver() -> ConnectorEngineDriver:
    """The one adapter for the connector's ENGINE (loaded once)."""
    if not _loaded:
        with _lock:
            if not _loaded:
                _loaded.append(ConnectorEngineDriver.load())  # type: ignore[arg-type]
    return _loaded[0]
