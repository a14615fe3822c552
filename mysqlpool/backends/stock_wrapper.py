"""The pooled wrapper class of a stock MySQL backend (see backends.stock): a
subclass of the backend's own DatabaseWrapper with
:class:`~mysqlpool.backends.pooling.PoolingMixin` first in its bases, so that
the backend's operations, features, schema editor and the like stay its own.
The driver is the one the backend uses as its ``Database``: the MySQLdb
Django's backends import (mysqlclient, or PyMySQL installed as MySQLdb), or
mysql.connector for the connector's own ENGINE."""

from __future__ import annotations

import sys
import threading
from typing import Any

from django.db.backends.mysql import base as mysql_base

from mysqlpool.config import CONNECTOR_BASE
from mysqlpool.drivers import Driver, backend_driver

from .binding import current_driver
from .cursor import CursorWrapper
from .mysqlpool.creation import PoolClosingCreation
from .mysqlpool.validation import PoolSettingsValidation
from .pooling import PoolingMixin

_lock = threading.Lock()
_pooled_classes: dict[type, type] = {}
_part_classes: dict[tuple[type, type], type] = {}


class StockPooling(PoolingMixin):
    """The pooling of a stock backend's wrapper (see :func:`pooled_class`)."""

    #: Only with OPTIONS["pool"]: without it the alias is Django's as it was.
    pool_by_default = False
    #: The backend's own ``Database`` module (set per pooled class).
    stock_database: Any = None

    def choose_driver(self) -> Driver:
        """The driver of the backend's own ``Database`` module. (A module no
        adapter is for: one mysqlpool's ENGINE stood in for MySQLdb while
        Django's backend was imported; then the same driver as that ENGINE's.)"""
        return backend_driver(self.stock_database) or current_driver()

    def _init_pooling(self) -> None:
        super()._init_pooling()
        # The backend's own creation and validation classes (GeoDjango's,
        # say), with the pool's part in front.
        self.creation.__class__ = _with_part(PoolClosingCreation, type(self.creation))
        self.validation.__class__ = _with_part(PoolSettingsValidation, type(self.validation))


class ConnectorEnginePooling(StockPooling):
    """The pooling of mysql-connector's own ENGINE (mysql.connector.django)."""

    def _base_connection_state(self) -> None:
        # That backend's own init_connection_state() skips Django's version
        # check, which needs a get_database_version() it does not have.
        pass


def _create_cursor_of_subclass(self: Any, name: str | None = None) -> Any:
    """For a backend that makes its own cursors (django-prometheus counts
    queries in its own cursor wrapper): its cursor, over one that tells the
    checkout what each statement may leave behind."""
    wrapped = super(PoolingMixin, self).create_cursor(name)  # the backend's own
    inner = getattr(wrapped, "cursor", None)
    if self._checkout is not None and inner is not None and not isinstance(inner, CursorWrapper):
        wrapped.cursor = CursorWrapper(inner, self.driver, self._checkout)
    return wrapped


def pooled_class(cls: type[mysql_base.DatabaseWrapper]) -> type:
    """The pooled subclass of a stock backend's DatabaseWrapper class."""
    pooled = _pooled_classes.get(cls)
    if pooled is not None:
        return pooled
    with _lock:
        pooled = _pooled_classes.get(cls)
        if pooled is None:
            namespace: dict[str, Any] = {
                "__module__": cls.__module__, "__qualname__": cls.__qualname__,
                "__doc__": cls.__doc__, "stock_database": cls.Database,
            }
            if cls.create_cursor is not mysql_base.DatabaseWrapper.create_cursor:
                namespace["create_cursor"] = _create_cursor_of_subclass
            connector = sys.modules.get(CONNECTOR_BASE)
            pooling = (ConnectorEnginePooling if connector is not None
                       and issubclass(cls, connector.DatabaseWrapper) else StockPooling)
            pooled = _pooled_classes[cls] = type(cls.__name__, (pooling, cls), namespace)
    return pooled


def _with_part(part: type, cls: type) -> type:
    """``cls`` with ``part`` first in its bases (``cls`` if it has it already)."""
    if issubclass(cls, part):
        return cls
    key = (part, cls)
    made = _part_classes.get(key)
    if made is None:
        with _lock:
            made = _part_classes.setdefault(key, type(cls.__name__, (part, cls), {
                "__module__": cls.__module__, "__qualname__": cls.__qualname__}))
    return made
