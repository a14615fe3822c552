"""What the metrics read from a pool, and where they find the pools.

The pool package depends on this one, never the other way: a pool offers
the figures below (``Measured``), and the pool registry tells, once, how to
list the pools in use (``set_pool_source``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

#: The counters every pool keeps and every exporter publishes.
COUNTERS = (
    "connects", "invalidations", "timeouts", "waits", "checkouts", "idle_closed",
    "lifetime_closed", "ping_timeouts", "failovers", "password_retries", "behind_closed",
)


class Measured(Protocol):
    """A pool, as the metrics see it (which only read these)."""

    @property
    def alias(self) -> str: ...
    @property
    def retired(self) -> bool: ...
    @property
    def metric_attributes(self) -> Mapping[str, str]: ...

    def snapshot(self) -> dict[str, Any]:
        """Its settings, state and counters (mysqlpool.stats())."""

    def metric_figures(self) -> dict[str, Any]:
        """Its limits and counts besides the connections: max, min_size,
        waiting, timeouts."""


_pool_source: Callable[[], Sequence[Measured]] = list


def set_pool_source(source: Callable[[], Sequence[Measured]]) -> None:
    """How to list the pools in use now, one per alias (set by the pool
    registry when it is imported)."""
    global _pool_source
    _pool_source = source


def current_pools() -> list[Measured]:
    """The pools in use now, not retired."""
    return [pool for pool in _pool_source() if not pool.retired]
