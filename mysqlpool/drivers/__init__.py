"""Driver adapters, and choosing one from ``MYSQLPOOL_DRIVER`` or what is installed."""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
import types
from collections.abc import Callable, Iterator

from django.core.exceptions import ImproperlyConfigured

from ..green import patched_by
from ..redaction import shown
from .base import Driver, DriverNotInstalled
from .connector import ConnectorDriver
from .mysqlclient import MySQLClientDriver
from .pymysql import PyMySQLDriver

__all__ = [
    "DRIVERS", "Driver", "DriverNotInstalled", "backend_driver", "get_driver",
    "green_thread_driver", "import_django_mysql",
]

#: Detection order when ``MYSQLPOOL_DRIVER`` is unset.
DRIVERS: dict[str, type[Driver]] = {
    cls.name: cls for cls in (MySQLClientDriver, PyMySQLDriver, ConnectorDriver)
}

#: Loaded adapters by MYSQLPOOL_DRIVER value; detection also by whether the
#: process is monkey-patched (it may be patched after a first detection).
_loaded: dict[object, Driver] = {}
_lock = threading.Lock()


def get_driver(name: str | None) -> Driver:
    """The adapter for ``name`` (a ``MYSQLPOOL_DRIVER`` value), or detect one.

    Raises ImproperlyConfigured naming the setting, the value and what is valid.
    """
    key = name if name is not None else (None, patched_by())
    driver = _loaded.get(key)
    if driver is None:
        with _lock:
            driver = _loaded.get(key)
            if driver is None:
                driver = _loaded[key] = _load(name)
    return driver


def backend_driver(module: object) -> Driver | None:
    """The adapter for the DB-API module a Django backend uses as its
    ``Database``: MySQLdb (mysqlclient, or PyMySQL installed as MySQLdb) for
    Django's own MySQL backends, mysql.connector for the connector's own
    ENGINE; None for a module no adapter is for."""
    if getattr(module, "__name__", None) == ConnectorDriver.module_name:
        from .connector_engine import connector_engine_driver

        return connector_engine_driver()
    for cls in DRIVERS.values():
        if isinstance(module, types.ModuleType) and cls.is_module(module):
            return get_driver(cls.name)
    return None


def green_thread_driver(name: str | None) -> Driver:
    """The driver ``name`` gives in a process that gevent or eventlet has
    monkey-patched (detection there prefers a driver that cooperates)."""
    if name is not None or patched_by() is not None:
        return get_driver(name)
    return _detect(green=True)


def _load(name: str | None) -> Driver:
    if name is None:
        return _detect()
    if not isinstance(name, str) or name not in DRIVERS:
        raise ImproperlyConfigured(
            f"MYSQLPOOL_DRIVER = {shown(name)} is not a driver mysqlpool knows. Use one of "
            f"{', '.join(repr(n) for n in DRIVERS)}, or leave it unset to use the "
            "first one installed."
        )
    cls = DRIVERS[name]
    try:
        return cls.load()
    except DriverNotInstalled as exc:
        raise ImproperlyConfigured(
            f"MYSQLPOOL_DRIVER = {name!r}, but {exc}. Install it with "
            f"pip install {cls.distribution}, or choose an installed driver"
            f"{_installed_hint()}."
        ) from exc


def _detect(green: bool | None = None) -> Driver:
    # Under gevent's or eventlet's monkey-patching, a driver that does its
    # network IO in C blocks every green thread while it waits for the server
    # (one query at a time per process): prefer one that cooperates.
    if green is None:
        green = patched_by() is not None
    # An app that ran pymysql.install_as_MySQLdb() has chosen its driver
    # (under green threads, unless it is one that blocks them: the real
    # MySQLdb, which Django's backend imports whenever it is installed).
    mysqldb = sys.modules.get("MySQLdb")
    if mysqldb is not None:
        for cls in DRIVERS.values():
            if cls.is_module(mysqldb) and (cls.cooperative or not green):
                with contextlib.suppress(DriverNotInstalled):
                    return cls.load()
    candidates = list(DRIVERS.values())
    if green:
        candidates.sort(key=lambda cls: not cls.cooperative)  # stable: order kept otherwise
    problems = []
    for cls in candidates:
        try:
            return cls.load()
        except DriverNotInstalled as exc:
            problems.append(str(exc))
    raise ImproperlyConfigured(
        "MYSQLPOOL_DRIVER is unset and no supported MySQL driver is installed ("
        + "; ".join(problems)
        + "). Install one: pip install mysqlclient (or pip install PyMySQL, or "
        "pip install mysql-connector-python)."
    )


def _installed_hint() -> str:
    names = []
    for cls in DRIVERS.values():
        try:
            importlib.import_module(cls.module_name)
        except ImportError:
            continue
        names.append(repr(cls.name))
    return f" ({', '.join(names)} installed)" if names else " (none is installed)"


def import_django_mysql(driver: Callable[[], Driver]) -> types.ModuleType:
    """Import ``django.db.backends.mysql.base`` and return it.

    It imports ``MySQLdb`` at module level. When mysqlclient is missing, the
    driver's stand-in modules are placed in ``sys.modules`` for that import only
    and removed afterwards, so nothing else in the process sees a ``MySQLdb``.
    ``driver`` is called only then.
    """
    try:
        return importlib.import_module("django.db.backends.mysql.base")
    except ImproperlyConfigured:
        if "MySQLdb" in sys.modules:
            raise
    stand_in: dict[str, types.ModuleType] | None
    try:
        stand_in = driver().mysqldb_stand_in()
    except ImproperlyConfigured:
        # MYSQLPOOL_DRIVER names a driver that is not installed, or none
        # mysqlpool knows. Django's backend is only imported here (its
        # classes are the same whatever the driver): another installed
        # driver stands in, so that the project loads and the system check
        # (mysqlpool.E001) and each connect say what is wrong, rather than a
        # traceback at startup. With no driver at all, nothing can stand in.
        stand_in = _installed_stand_in()
        if stand_in is None:
            raise
    with _standing_in(stand_in):
        return importlib.import_module("django.db.backends.mysql.base")


def _installed_stand_in() -> dict[str, types.ModuleType] | None:
    """The MySQLdb stand-in of the driver detection finds, if any is installed."""
    try:
        return _detect().mysqldb_stand_in()
    except ImproperlyConfigured:
        return None


@contextlib.contextmanager
def _standing_in(modules: dict) -> Iterator[None]:
    added = [name for name in modules if name not in sys.modules]
    sys.modules.update({name: modules[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            sys.modules.pop(name, None)
