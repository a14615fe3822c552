"""The counters one pool keeps (their names are the metrics': metrics/figures.py)."""

from __future__ import annotations

import threading

from ..metrics.figures import COUNTERS


class PoolStats:
    """Counters kept by one pool (updated under its lock)."""

    __slots__ = (*COUNTERS, "wait_time", "lock")

    # The COUNTERS, each an int (set in __init__).
    connects: int
    invalidations: int
    timeouts: int
    waits: int
    checkouts: int
    idle_closed: int
    lifetime_closed: int
    ping_timeouts: int
    failovers: int
    password_retries: int
    behind_closed: int

    def __init__(self) -> None:
        for name in COUNTERS:
            setattr(self, name, 0)
        self.wait_time = 0.0
        self.lock = threading.Lock()

    def add(self, name: str, amount: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + amount)
