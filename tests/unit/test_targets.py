"""targets.py: which host each target_session_attrs takes, with and without
max_replication_lag (no server)."""

from __future__ import annotations

import pytest

from mysqlpool.targets import (
    TARGET_SESSION_ATTRS,
    ServerState,
    is_fallback,
    needs_replica_status,
    rejection,
)

PRIMARY = ServerState(not_writable=None, replica=False)
#: A primary whose replication status was not asked for.
WRITABLE = ServerState(not_writable=None)
REPLICA = ServerState(not_writable="read-only", replica=True, lag=0.0)
#: A replica without read_only (writes would be accepted, and diverge).
WRITABLE_REPLICA = ServerState(not_writable=None, replica=True, lag=1.0)
LAGGING = ServerState(not_writable="read-only", replica=True, lag=75.0)
STOPPED = ServerState(not_writable="read-only", replica=True, lag=None)
#: read_only on a server that replicates from none (a primary being drained).
READ_ONLY_PRIMARY = ServerState(not_writable="read-only", replica=False)
NO_PRIVILEGE = ServerState(not_writable="read-only", replica=None,
                           lag_unreadable="cannot read the lag")
GALERA_NOT_READY = ServerState(not_writable="a Galera node that is not ready")

# (target, state, max lag, rejected?, fallback?)
CASES = [
    ("any", LAGGING, 2, False, False),
    ("any", GALERA_NOT_READY, None, False, False),
    ("read-write", PRIMARY, None, False, False),
    ("read-write", WRITABLE, None, False, False),
    ("read-write", REPLICA, None, True, False),
    ("read-write", WRITABLE_REPLICA, None, False, False),
    ("read-write", GALERA_NOT_READY, None, True, False),
    ("primary", PRIMARY, None, False, False),
    ("primary", WRITABLE_REPLICA, None, True, False),
    ("primary", REPLICA, None, True, False),
    ("read-only", REPLICA, None, False, False),
    ("read-only", READ_ONLY_PRIMARY, None, False, False),
    ("read-only", PRIMARY, None, True, False),
    ("read-only", LAGGING, None, False, False),
    ("read-only", LAGGING, 2, True, False),
    ("read-only", LAGGING, 75, False, False),
    ("read-only", STOPPED, 2, True, False),
    ("read-only", NO_PRIVILEGE, 2, True, False),
    ("standby", REPLICA, 2, False, False),
    ("standby", WRITABLE_REPLICA, None, False, False),
    ("standby", READ_ONLY_PRIMARY, None, False, False),
    ("standby", PRIMARY, None, True, False),
    ("standby", LAGGING, 2, True, False),
    ("prefer-standby", REPLICA, 2, False, False),
    ("prefer-standby", PRIMARY, 2, True, True),
    ("prefer-standby", LAGGING, 2, True, False),
    ("prefer-standby", STOPPED, 2, True, False),
    ("prefer-standby", LAGGING, None, False, False),
]


@pytest.mark.parametrize(("target", "state", "max_lag", "rejected", "fallback"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rejection(target, state, max_lag, rejected, fallback):
    reason = rejection(target, state, max_lag)
    assert (reason is not None) == rejected, reason
    if rejected:  # prefer-standby's second choice
        assert is_fallback(target, state, max_lag) == fallback


def test_every_target_is_in_the_table():
    assert {case[0] for case in CASES} == set(TARGET_SESSION_ATTRS)


@pytest.mark.parametrize(("target", "max_lag", "needed"), [
    ("any", None, False), ("read-write", None, False), ("read-only", None, False),
    ("read-only", 5, True), ("primary", None, True), ("standby", None, True),
    ("prefer-standby", None, True),
])
def test_replica_status_is_asked_only_when_it_decides(target, max_lag, needed):
    assert needs_replica_status(target, max_lag) == needed


def test_the_reasons_name_the_lag_and_the_bound():
    assert rejection("standby", LAGGING, 2) == (
        "replication lag 75 s above max_replication_lag 2 s")
    assert "stopped" in rejection("standby", STOPPED, 2)
    assert rejection("standby", NO_PRIVILEGE, 2) == "cannot read the lag"
