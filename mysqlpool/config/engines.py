"""Which DATABASES entries are mysqlpool's: its own ENGINE (or a backend
derived from it), or Django's MySQL ENGINE, mysql-connector's or one derived
from them whose OPTIONS ask for a pool."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

ENGINE = "mysqlpool.backends.mysqlpool"
BACKEND_MODULE = f"{ENGINE}.base"
#: Django's own MySQL backend and mysql-connector's (mysql.connector.django),
#: which stock ENGINEs are or derive from.
DJANGO_MYSQL_BASE = "django.db.backends.mysql.base"
CONNECTOR_BASE = "mysql.connector.django.base"
STOCK_BACKEND_MODULES = (DJANGO_MYSQL_BASE, CONNECTOR_BASE)


def is_pooled_backend(settings_dict: Mapping[str, Any]) -> bool:
    """Whether a DATABASES entry is mysqlpool's to check and to pool: its
    ENGINE is mysqlpool's backend or a project's backend whose DatabaseWrapper
    subclasses it, or its ENGINE is Django's MySQL backend or
    mysql-connector's (or one derived from them: GeoDjango's, ...) and its
    OPTIONS ask for a pool.

    The one answer to "is this alias pooled" for the system checks and
    ``mysqlpool_stats``. An ENGINE that cannot be imported here (its driver
    is missing, say) counts as not pooled: Django reports that itself when it
    loads the backend, and one alias's broken backend must not stop the
    checks of the others.
    """
    engine = settings_dict.get("ENGINE")
    if engine == ENGINE:
        # Not imported: when mysqlpool's own backend cannot load (no driver),
        # its alias still gets the check that says why (mysqlpool.E001).
        return True
    if not engine or not isinstance(engine, str):
        return False
    from django.db.utils import load_backend

    try:
        backend = load_backend(engine)
    except (ImproperlyConfigured, ImportError):
        return False
    wrapper = getattr(backend, "DatabaseWrapper", None)
    if not isinstance(wrapper, type):
        return False
    # A subclass has imported mysqlpool's backend; otherwise it needn't be.
    pooled = sys.modules.get(BACKEND_MODULE)
    if pooled is not None and issubclass(wrapper, pooled.DatabaseWrapper):
        return True
    return wants_pool(settings_dict) and any(
        issubclass(wrapper, module.DatabaseWrapper)
        for module in map(sys.modules.get, STOCK_BACKEND_MODULES) if module is not None)


def is_own_engine(settings_dict: Mapping[str, Any]) -> bool:
    """Whether an alias's driver is mysqlpool's choice (MYSQLPOOL_DRIVER):
    mysqlpool's ENGINE or a subclass of it, not a stock backend's MySQLdb."""
    engine = settings_dict.get("ENGINE")
    if engine == ENGINE:
        return True
    pooled = sys.modules.get(BACKEND_MODULE)
    if pooled is None or not isinstance(engine, str):
        return False
    from django.db.utils import load_backend

    try:
        wrapper = load_backend(engine).DatabaseWrapper
    except (ImproperlyConfigured, ImportError, AttributeError):
        return False
    return isinstance(wrapper, type) and issubclass(wrapper, pooled.DatabaseWrapper)


def wants_pool(settings_dict: Mapping[str, Any]) -> bool:
    """Whether an alias of a stock ENGINE (Django's MySQL backend, or one
    derived from it) asks for a pool: ``OPTIONS["pool"]`` is there and not
    False, as with Django's PostgreSQL pool. A bad value counts as asking, so
    that the pool's checks say what is wrong with it."""
    options = settings_dict.get("OPTIONS") or {}
    return isinstance(options, Mapping) and options.get("pool", False) is not False
