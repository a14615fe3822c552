"""The replicas of one pool (several hosts in HOST): the lag each showed last,
which are too far behind to read from (``max_replication_lag``), how many new
connections skipped each for that.

Fed by each new connection's check (connecting.py) and by housekeeping, which
measures the lag of each replica it holds idle connections to at most once
per ``MEASURE_EVERY`` seconds (maintenance.py): a replica that falls behind
loses its idle connections within about that long, and a request never pays
for a measure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..targets import ServerState, lag_problem

#: Seconds between two measures of one replica's lag by housekeeping.
MEASURE_EVERY = 1.0


class _Replica:
    __slots__ = ("lag", "behind", "measured_at", "skipped")

    def __init__(self) -> None:
        self.lag: float | None = None
        #: Why it is too far behind to read from, or None.
        self.behind: str | None = None
        self.measured_at = 0.0
        self.skipped = 0


class ReplicaWatch:
    """What is known of the replicas among one pool's hosts."""

    def __init__(self, max_lag: float | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_lag = max_lag
        self._clock = clock
        self._replicas: dict[str, _Replica] = {}
        self._lock = threading.Lock()

    def record(self, host: str, state: ServerState) -> str | None:
        """What a check of ``host`` found; returns why it is behind, or None.
        A host found not to replicate is forgotten."""
        behind = lag_problem(state, self.max_lag)
        with self._lock:
            if not state.replica and state.lag_unreadable is None:
                self._replicas.pop(host, None)
                return None
            replica = self._replicas.setdefault(host, _Replica())
            replica.lag, replica.behind = state.lag, behind
            replica.measured_at = self._clock()
        return behind

    def skipped(self, host: str) -> None:
        """A new connection did not use ``host``: it is behind."""
        with self._lock:
            replica = self._replicas.setdefault(host, _Replica())
            replica.skipped += 1

    def behind(self, host: str | None) -> str | None:
        """Why ``host`` is too far behind to read from (as last measured), or None."""
        if host is None:
            return None
        replica = self._replicas.get(host)
        return replica.behind if replica is not None else None

    def due(self) -> set[str]:
        """The replicas whose lag housekeeping should measure now."""
        now = self._clock()
        with self._lock:
            return {host for host, replica in self._replicas.items()
                    if now - replica.measured_at >= MEASURE_EVERY}

    def figures(self) -> dict[str, dict[str, object]]:
        """Per replica: the lag last measured (None: unknown), whether it is
        behind, and how many new connections skipped it for that."""
        with self._lock:
            return {host: {"lag": replica.lag, "behind": replica.behind is not None,
                           "skipped_behind": replica.skipped}
                    for host, replica in sorted(self._replicas.items())}
