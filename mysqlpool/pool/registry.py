"""The pools of this process: one per alias and connection parameters.

``close_pool()`` retires pools; a settings change (the test runner renames the
database) replaces an alias's pool; a forked child abandons every pool it
inherited, retired ones included, without touching the parent's connections.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import logging
import os
import secrets
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from ..config import PoolConfig
from ..drivers import Driver
from ..metrics import figures
from ..redaction import is_secret_name
from . import housekeeping, threads, watchdog
from .base import ConnectionPool
from .credentials import without_secrets

logger = logging.getLogger("mysqlpool")

_pools: dict[str, ConnectionPool] = {}
#: Every pool made in this process and still alive, retired ones included: a
#: retired pool's connections may still be checked out.
_every_pool: weakref.WeakSet = weakref.WeakSet()
_lock = threading.Lock()
_KEY_SECRET = secrets.token_bytes(32)


def get_pool(alias: str, key: tuple, driver: Driver, config: PoolConfig,
             params: Mapping[str, Any], settings_dict: Mapping[str, Any]) -> ConnectionPool:
    """The pool for ``alias`` with these settings; replaces a pool whose settings
    changed (the test runner renames the database, for instance). A new
    password is not a change of pool: new connections use it."""
    pool = _pools.get(alias)
    if pool is not None and pool.key == key:
        pool.update_credentials(settings_dict, params)
        return pool
    with _lock:
        pool = _pools.get(alias)
        if pool is None or pool.key != key:
            old = pool
            pool = _pools[alias] = ConnectionPool(alias, key, driver, config, params,
                                                  settings_dict)
            _every_pool.add(pool)
            if old is not None:
                logger.info("Settings of %r changed; disposing of its old pool", alias)
                old.retire()
        else:
            pool.update_credentials(settings_dict, params)
    return pool


def close_pool(alias: str | None = None) -> None:
    """Dispose of the pools: all of them, or the one of ``alias``.

    Idle connections are closed now; checked-out ones when they are returned.
    """
    with _lock:
        if alias is None:
            retired = list(_pools.values())
            _pools.clear()
        else:
            pool = _pools.pop(alias, None)
            retired = [pool] if pool is not None else []
    for pool in retired:
        pool.retire()


def pools() -> list[ConnectionPool]:
    """The pools in use now, one per alias."""
    return list(_pools.values())


# The metrics read the pools through this (metrics/ imports nothing of pool/).
figures.set_pool_source(pools)


def pool_for(alias: str) -> ConnectionPool | None:
    """The pool in use now for ``alias``, if it has one yet."""
    return _pools.get(alias)


# ----- pool keys ----------------------------------------------------------------


def password_digest(password: Any) -> str:
    """What a pool key holds instead of the password: a keyed, per-process hash."""
    return hmac.new(_KEY_SECRET, str(password).encode(), hashlib.sha256).hexdigest()


def freeze(value: Any) -> Any:
    """A hashable, comparable form of connection parameters."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(freeze(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def pool_key(driver: Driver, config: PoolConfig, params: Mapping[str, Any]) -> tuple:
    """What makes two connections interchangeable: everything but the login
    password, which may rotate (see credentials.py). Other secrets (a client
    key's password) only as digests."""
    items = []
    login = without_secrets(params)
    for name, value in params.items():
        if name not in login:
            continue  # the login password: not what a connection is
        if is_secret_name(name):
            value = password_digest(value)
        elif name == "conv" and value is driver.conversions:
            value = "driver default"
        elif isinstance(value, Mapping):
            # PyMySQL reads the client key's password from the ssl dict.
            value = {k: password_digest(v) if is_secret_name(k) else v
                     for k, v in value.items()}
        items.append((name, freeze(value)))
    items.sort()
    return (driver.name, config, tuple(items))


# ----- fork ---------------------------------------------------------------------


def _after_fork_in_child() -> None:
    global _lock, _every_pool
    # Neuter the inherited sockets before anything can drop (and so close) a
    # connection object; only then let go of the pools. Retired pools count:
    # close_pool() before fork() leaves checked-out connections in them.
    for pool in list(_every_pool):
        try:
            pool.abandon_inherited()
        except Exception:  # noqa: BLE001 - a fork hook must not raise
            logger.debug("Could not detach an inherited pool", exc_info=True)
    _pools.clear()
    _every_pool = weakref.WeakSet()
    _lock = threading.Lock()
    threads.forget_threads_after_fork()
    housekeeping.after_fork_in_child()
    watchdog.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_at_exit() -> None:
    # Registered after checkout's own exit hook, so run before it.
    try:
        threads.close_at_exit()
        close_pool()
    except Exception:  # noqa: BLE001 - never raise at exit
        logger.debug("Closing the pools at exit failed", exc_info=True)
