"""Database aliases that exist for one test only."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connections

import mysqlpool

POOLED = "mysqlpool.backends.mysqlpool"


@contextlib.contextmanager
def temporary_alias(alias: str, **entry: Any) -> Iterator[Any]:
    """Add ``DATABASES[alias]`` (Django's defaults filled in) and yield its connection
    in this thread; remove it, its connection and its pool afterwards."""
    entry.setdefault("ENGINE", POOLED)
    connections.settings[alias] = connections.configure_settings(
        {"default": {}, alias: entry})[alias]
    try:
        yield connections[alias]
    finally:
        with contextlib.suppress(Exception):
            connections[alias].close()
        with contextlib.suppress(AttributeError):
            del connections[alias]
        connections.settings.pop(alias, None)
        mysqlpool.close_pool(alias)


@contextlib.contextmanager
def alias_maker(connect_timeout: float, **entry: Any) -> Iterator[Callable[..., str]]:
    """Yields ``add(alias, host, **pool)``, which makes a pooled alias over
    servers of a test's own (``entry``: NAME, USER, PASSWORD), with
    ``connect_timeout``; every alias made is removed at the end."""
    with contextlib.ExitStack() as stack:

        def add(alias: str, host: str, **pool: Any) -> str:
            stack.enter_context(temporary_alias(
                alias, HOST=host, PORT="3306", **entry,
                OPTIONS={"connect_timeout": connect_timeout, "pool": pool},
            ))
            return alias

        yield add
