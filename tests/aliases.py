"""Database aliases that exist for one test only."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
