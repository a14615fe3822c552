"""pool/stats.py: the counters one pool keeps (no server)."""

from __future__ import annotations

from mysqlpool.metrics.figures import COUNTERS
from mysqlpool.pool.stats import PoolStats


def test_every_counter_is_declared():
    # The class declares each of COUNTERS for type checkers; the names it
    # sets, and metrics publish, are COUNTERS.
    assert set(PoolStats.__annotations__) == set(COUNTERS)


def test_counters_start_at_zero_and_add():
    stats = PoolStats()
    assert all(getattr(stats, name) == 0 for name in COUNTERS)
    stats.add("waits")
    stats.add("timeouts", 2)
    assert (stats.waits, stats.timeouts, stats.wait_time) == (1, 2, 0.0)
