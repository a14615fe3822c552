"""Pooling under Django's own MySQL ENGINE, GeoDjango's, and any backend whose
DatabaseWrapper derives from Django's MySQL one (django-prometheus's, a
project's own), when the alias's ``OPTIONS`` has ``"pool"``: the way Django
pools PostgreSQL, with no ENGINE string of mysqlpool's for packages that match
ENGINE strings (django-cachalot, ...) to miss.

With ``"mysqlpool"`` in INSTALLED_APPS, :func:`install` (run by the app's
``ready()``) makes each such alias's wrapper a pooled one (backends.
stock_wrapper). An alias without ``OPTIONS["pool"]`` is left exactly as
Django made it. Nothing here imports Django's MySQL backend, which needs a
MySQLdb: only an alias whose ENGINE has loaded it is looked at further.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from mysqlpool.config import CONNECTOR_BASE, DJANGO_MYSQL_BASE, wants_pool

_lock = threading.Lock()
_installed = False


def mysql_wrapper_class() -> type | None:
    """Django's MySQL DatabaseWrapper, if its backend has been imported."""
    return getattr(sys.modules.get(DJANGO_MYSQL_BASE), "DatabaseWrapper", None)


def connector_wrapper_class() -> type | None:
    """mysql-connector's DatabaseWrapper, if its backend has been imported."""
    return getattr(sys.modules.get(CONNECTOR_BASE), "DatabaseWrapper", None)


def is_stock_mysql(cls: Any) -> bool:
    """Whether ``cls`` is Django's MySQL DatabaseWrapper, mysql-connector's,
    or derives from either, and is not already pooled (mysqlpool's ENGINE, or
    made here)."""
    if not isinstance(cls, type):
        return False
    bases = [base for base in (mysql_wrapper_class(), connector_wrapper_class()) if base]
    if not any(issubclass(cls, base) for base in bases):
        return False
    # A MySQL backend is loaded: so may the pool's part be.
    return not issubclass(cls, _pooling_mixin())


def _pooling_mixin() -> type:
    from mysqlpool.drivers import import_django_mysql

    from .binding import current_driver

    # The pool's cursor is Django's MySQL one: with the connector's ENGINE
    # alone (no MySQLdb), Django's MySQL backend is imported as mysqlpool's
    # ENGINE imports it, the detected driver standing in for MySQLdb.
    import_django_mysql(current_driver)
    from .pooling import PoolingMixin

    return PoolingMixin


def pool_if_asked(wrapper: Any) -> Any:
    """Make ``wrapper`` pooled if its alias's OPTIONS ask for a pool and its
    backend is Django's MySQL one or derives from it; returns it."""
    cls = type(wrapper)
    if not wants_pool(wrapper.settings_dict) or not is_stock_mysql(cls):
        return wrapper
    refuse_own_pool(cls, wrapper.alias)
    if wrapper.connection is not None:
        # Opened before the app was ready (a module's import-time query):
        # closed, so that the next connect() is a checkout.
        wrapper.close()
    from .stock_wrapper import pooled_class

    wrapper.__class__ = pooled_class(cls)
    wrapper._init_pooling()
    return wrapper


#: Packages whose MySQL backends pool connections themselves under Django's
#: MySQL DatabaseWrapper, without Django's ``pool``/``close_pool`` names.
SELF_POOLING_PACKAGES = frozenset({"dj_db_conn_pool"})  # django-db-connection-pool


def pools_itself(cls: type) -> bool:
    """Whether ``cls`` keeps a pool of its own: Django's names for one (its
    PostgreSQL backend's), or a base class from a pooling package."""
    if getattr(cls, "pool", None) is not None or hasattr(cls, "close_pool"):
        return True
    return any(base.__module__.partition(".")[0] in SELF_POOLING_PACKAGES
               for base in cls.__mro__)


def refuse_own_pool(cls: type, alias: str) -> None:
    """``OPTIONS["pool"]`` must never mean two things: a backend that pools
    connections itself (as Django's PostgreSQL backend does, with the same
    key, or django-db-connection-pool's) is not pooled again."""
    if pools_itself(cls):
        raise ImproperlyConfigured(
            f"DATABASES[{alias!r}]['OPTIONS']['pool']: the backend "
            f"{cls.__module__}.{cls.__qualname__} pools connections itself, "
            "so mysqlpool does not pool it too. Use the backend's own pool "
            "(remove 'mysqlpool' from INSTALLED_APPS), or mysqlpool's, with "
            "ENGINE = 'mysqlpool.backends.mysqlpool'."
        )


def install() -> None:
    """Pool, from now on, every alias of a stock MySQL backend that asks for it:
    wrappers Django makes later, and those it has made already (Django makes
    the default alias's while importing models, before any app is ready)."""
    global _installed
    from django.db import connections

    with _lock:
        if _installed:
            return
        _installed = True
        create_connection = connections.create_connection

        def create_pooled_connection(alias: str) -> Any:
            return pool_if_asked(create_connection(alias))

        # On Django's handler alone: a ConnectionHandler made elsewhere (a
        # test's) keeps Django's behaviour.
        connections.create_connection = create_pooled_connection  # type: ignore[method-assign]
    pool_made_wrappers()


def pool_made_wrappers() -> None:
    """Pool the wrappers this thread's handler has made already, if they ask."""
    from django.db import connections

    for wrapper in connections.all(initialized_only=True):
        pool_if_asked(wrapper)
