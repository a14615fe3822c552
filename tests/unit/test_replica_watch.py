"""pool/replication.py: what the pool knows of its replicas (no server)."""

from __future__ import annotations

from mysqlpool.pool.replication import MEASURE_EVERY, ReplicaWatch
from mysqlpool.targets import ServerState


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def replica(lag: float | None) -> ServerState:
    return ServerState(not_writable="read-only", replica=True, lag=lag)


PRIMARY = ServerState(not_writable=None, replica=False)


def test_a_replica_over_the_bound_is_behind_until_it_catches_up():
    clock = Clock()
    watch = ReplicaWatch(max_lag=2, clock=clock)
    assert watch.record("r1", replica(0)) is None
    assert watch.behind("r1") is None
    assert watch.record("r1", replica(75)) == (
        "replication lag 75 s above max_replication_lag 2 s")
    assert watch.behind("r1")
    assert watch.record("r1", replica(None))  # a thread stopped: unknown, behind
    assert watch.record("r1", replica(1)) is None
    assert watch.behind("r1") is None


def test_only_replicas_are_watched():
    watch = ReplicaWatch(max_lag=2, clock=Clock())
    watch.record("p", PRIMARY)
    watch.record("r1", replica(3))
    assert watch.figures() == {"r1": {"lag": 3, "behind": True, "skipped_behind": 0}}
    assert watch.behind("p") is None and watch.behind(None) is None
    # A replica promoted: no longer watched.
    watch.record("r1", PRIMARY)
    assert watch.figures() == {}


def test_a_replica_is_due_for_a_measure_once_a_second():
    clock = Clock()
    watch = ReplicaWatch(max_lag=2, clock=clock)
    watch.record("r1", replica(0))
    watch.record("r2", replica(0))
    assert watch.due() == set()
    clock.now += MEASURE_EVERY / 2
    watch.record("r2", replica(0))
    clock.now += MEASURE_EVERY / 2
    assert watch.due() == {"r1"}
    clock.now += MEASURE_EVERY / 2
    assert watch.due() == {"r1", "r2"}


def test_skips_are_counted_per_replica():
    watch = ReplicaWatch(max_lag=2, clock=Clock())
    watch.record("r1", replica(9))
    watch.skipped("r1")
    watch.skipped("r1")
    assert watch.figures()["r1"]["skipped_behind"] == 2


def test_without_a_bound_nothing_is_behind():
    watch = ReplicaWatch(max_lag=None, clock=Clock())
    assert watch.record("r1", replica(600)) is None
    assert watch.figures() == {"r1": {"lag": 600, "behind": False, "skipped_behind": 0}}
