"""What a wrapper's settings resolve to: driver, pool settings, connect
parameters and pool. Worked out again only when the settings change."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.backends.base.base import NO_DB_ALIAS

from mysqlpool import config as pool_settings
from mysqlpool import pool as pools
from mysqlpool.config import PoolConfig, pool_config, wants_pool
from mysqlpool.drivers import Driver, get_driver
from mysqlpool.green import patched_by


class Binding:
    """One wrapper's settings, resolved; reused while they stay the same."""

    __slots__ = ("generation", "settings", "driver", "config", "params", "pool")

    def __init__(self, generation: int, settings_snapshot: dict, driver: Driver,
                 config: PoolConfig | None, params: dict[str, Any],
                 pool: pools.ConnectionPool | None) -> None:
        self.generation = generation
        self.settings = settings_snapshot
        self.driver = driver
        self.config = config
        self.params = params
        self.pool = pool

    def current(self, settings_dict: dict) -> bool:
        """Whether this still holds for these settings (and the MYSQLPOOL_* ones)."""
        return (
            self.generation == pool_settings.generation
            and (self.pool is None or not self.pool.retired)
            and settings_dict == self.settings
        )


def current_driver() -> Driver:
    """The driver ``MYSQLPOOL_DRIVER`` names, or the detected one."""
    return get_driver(getattr(settings, "MYSQLPOOL_DRIVER", None))


def resolve(wrapper: Any, *, check_conn_max_age: bool) -> Binding:
    """Resolve ``wrapper``'s settings (a DatabaseWrapper of this backend).

    Raises ImproperlyConfigured for bad pool settings. Calls Django's
    ``get_connection_params()``, which also sets ``wrapper.isolation_level``.
    """
    generation = pool_settings.generation
    snapshot = shared_snapshot(wrapper.settings_dict)
    driver = wrapper.choose_driver()
    config = None
    # Not Django's short-lived connection without a database, nor an alias
    # of a stock ENGINE whose OPTIONS no longer ask for a pool.
    if wrapper.alias != NO_DB_ALIAS and (wrapper.pool_by_default
                                         or wants_pool(wrapper.settings_dict)):
        config = pool_config(wrapper.alias, wrapper.settings_dict,
                             check_conn_max_age=check_conn_max_age)
    params = wrapper.django_connection_params()
    params.pop("pool", None)  # our OPTIONS key, not the driver's
    if params.get("conv") is wrapper.django_conversions:
        if driver.conversions is None:
            del params["conv"]
        else:
            params["conv"] = driver.conversions
    pool = None
    if config is not None:
        pool = pools.get_pool(wrapper.alias, pool_key(driver, config, params), driver,
                              config, params, wrapper.settings_dict)
    return Binding(generation, snapshot, driver, config, params, pool)


def pool_key(driver: Driver, config: PoolConfig, params: dict[str, Any]) -> tuple:
    """The pool key for these settings, and whether gevent or eventlet had
    monkey-patched the process: a pool made before the patching has OS locks,
    which would block (or fail in) green threads, so one made after replaces it."""
    return (*pools.pool_key(driver, config, params), patched_by())


#: The settings snapshots bindings hold, one per distinct settings: every
#: request compares its wrapper's settings with its binding's snapshot, and
#: with one snapshot for all the threads of an alias (Django gives their
#: wrappers one settings dict) both sides of the comparison stay in the
#: processor's cache; a copy per thread's wrapper would be evicted between
#: that thread's requests. Snapshots are never changed, so equal ones are
#: interchangeable.
_snapshots: list[dict] = []
#: Enough for every alias and the test runner's renamed databases; an older
#: snapshot still works for the bindings holding it, unshared.
_KEPT_SNAPSHOTS = 32


def shared_snapshot(settings_dict: dict) -> dict:
    """A snapshot of ``settings_dict`` (see _snapshot), the one already held
    by other bindings when their settings are the same."""
    snapshot = _snapshot(settings_dict)
    for known in _snapshots:
        if known == snapshot:
            return known
    _snapshots.append(snapshot)
    del _snapshots[:-_KEPT_SNAPSHOTS]
    return snapshot


def _snapshot(value: Any) -> Any:
    """A copy of the settings to compare with later: containers are copied, so
    a change made in place (settings_dict["NAME"] = ...) shows up as a difference."""
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_snapshot(item) for item in value]
    return value
