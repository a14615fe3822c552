"""mysqlpool: a pooled Django MySQL backend over mysqlclient, PyMySQL or mysql-connector.

``ENGINE: "mysqlpool.backends.mysqlpool"`` in DATABASES; see the README for settings.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Container
from typing import Any, TypeVar

__all__ = ["auto_close_db", "close_pool", "stats", "PoolTimeout"]
__version__ = "1.0.0"

F = TypeVar("F", bound=Callable[..., Any])


def close_pool(alias: str | None = None) -> None:
    """Dispose of the pools of this process (all, or ``alias``'s).

    Idle connections close now, checked-out ones when returned. Forked children
    never use or close their parent's connections either way; calling this
    before ``fork()`` also stops the parent keeping connections it won't use.
    """
    from .pool import close_pool as _close_pool

    _close_pool(alias)


def stats() -> dict[str, dict[str, Any]]:
    """Per alias: pool size, checked out, idle, overflow, connects, invalidations,
    timeouts, waits and total wait time (seconds)."""
    from .pool import pools

    return {pool.alias: pool.snapshot() for pool in pools()}


def _busy_connections() -> set[str]:
    """Aliases whose connection the caller is in the middle of using: inside an
    atomic block, or with autocommit turned off (transaction.set_autocommit)."""
    from django.db import connections

    return {
        connection.alias for connection in connections.all(initialized_only=True)
        if connection.in_atomic_block
        or (connection.connection is not None and not connection.autocommit)
    }


def _close_connections(leave: Container[str] = frozenset()) -> None:
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        # A connection inside an atomic block belongs to the code around us;
        # so does one the caller was using when the function was called.
        if connection.alias not in leave and not connection.in_atomic_block:
            connection.close()


def auto_close_db(func: F) -> F:
    """Return every alias's connection to its pool when ``func`` returns or raises.

    For code Django's request cycle doesn't cover: threads, workers, daemons.
    Works on plain functions, generators, and ``async def`` functions and
    generators (connections go back when the generator is exhausted or closed).
    Connections the caller was using (inside ``atomic()``, or with autocommit
    turned off) are left to the caller.
    """
    if inspect.isasyncgenfunction(func):
        from asgiref.sync import sync_to_async

        @functools.wraps(func)
        async def async_generator_wrapper(*args: Any, **kwargs: Any) -> Any:
            leave = await sync_to_async(_busy_connections, thread_sensitive=True)()
            try:
                async for item in func(*args, **kwargs):
                    yield item
            finally:
                await sync_to_async(_close_connections, thread_sensitive=True)(leave)

        return async_generator_wrapper  # type: ignore[return-value]

    if inspect.iscoroutinefunction(func):
        from asgiref.sync import sync_to_async

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            # Django runs async ORM calls in its thread-sensitive executor;
            # their connections live there, so look at them and close them there.
            leave = await sync_to_async(_busy_connections, thread_sensitive=True)()
            try:
                return await func(*args, **kwargs)
            finally:
                await sync_to_async(_close_connections, thread_sensitive=True)(leave)

        return async_wrapper  # type: ignore[return-value]

    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def generator_wrapper(*args: Any, **kwargs: Any) -> Any:
            # Runs when iteration starts, not when the generator is made: its
            # body uses the connections, so they go back only after it ends.
            leave = _busy_connections()
            try:
                return (yield from func(*args, **kwargs))
            finally:
                _close_connections(leave)

        return generator_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        leave = _busy_connections()
        try:
            return func(*args, **kwargs)
        finally:
            _close_connections(leave)

    return wrapper  # type: ignore[return-value]


def __getattr__(name: str) -> Any:
    if name == "PoolTimeout":
        from .pool import PoolTimeout

        return PoolTimeout
    raise AttributeError(name)


def __dir__() -> list[str]:
    # PoolTimeout comes from __getattr__ (the pool is imported on first use):
    # list it too, for dir(mysqlpool), autodoc and completion.
    return sorted(set(globals()) | set(__all__))
