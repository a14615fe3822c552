"""Which server a new connection may go to: libpq's ``target_session_attrs``,
mapped to MySQL and MariaDB, and the replication-lag bound.

Pure logic, no server: what a host is (``ServerState``, read once per new
connection) and the setting give the answer.

- ``any``: whatever answers.
- ``read-write``: a server that takes writes (not read-only, not a Galera node
  that is not ready).
- ``primary``: a server that takes writes and does not replicate from another.
- ``read-only``: a server that refuses writes (read_only).
- ``standby``: a server that replicates: read-only, or a configured replica.
- ``prefer-standby``: a standby when one answers; else any other host that
  takes connections, except a replica that lags (the primary, in practice).

With ``max_replication_lag`` (``read-only``, ``standby``, ``prefer-standby``):
a replica whose lag is above it, or unknown (its replication threads
stopped), is not used.
"""

from __future__ import annotations

from dataclasses import dataclass

TARGET_SESSION_ATTRS = ("any", "read-write", "read-only", "primary", "standby",
                        "prefer-standby")
#: The targets that read from replicas: max_replication_lag applies to them.
REPLICA_TARGETS = frozenset({"read-only", "standby", "prefer-standby"})

#: The privilege SHOW REPLICA STATUS needs, named for the error messages.
LAG_PRIVILEGE = ("SLAVE MONITOR on MariaDB 10.5 and newer (REPLICATION CLIENT before), "
                 "REPLICATION CLIENT on MySQL")


@dataclass(frozen=True)
class ServerState:
    """What a new connection's server is."""

    #: Why it cannot take writes ("read-only", a Galera node not ready), or None.
    not_writable: str | None
    #: Whether it replicates from another server (SHOW REPLICA STATUS has a
    #: row); None when not asked.
    replica: bool | None = None
    #: Seconds behind its source as the server reports it; None when not a
    #: replica, not asked, or unknown (a replication thread stopped).
    lag: float | None = None
    #: Why the lag could not be read (no privilege), when it was asked for.
    lag_unreadable: str | None = None


def needs_replica_status(target: str, max_lag: float | None) -> bool:
    """Whether telling a host apart needs SHOW REPLICA STATUS."""
    return target in ("primary", "standby", "prefer-standby") or (
        max_lag is not None and target in REPLICA_TARGETS)


def is_standby(state: ServerState) -> bool:
    return state.not_writable is not None or bool(state.replica)


def lag_problem(state: ServerState, max_lag: float | None) -> str | None:
    """Why a replica is too far behind to read from, or None."""
    if max_lag is None:
        return None
    if state.lag_unreadable is not None:
        return state.lag_unreadable  # a bound that cannot be checked is not met
    if not state.replica:
        return None
    if state.lag is None:
        return "replication lag unknown (a replication thread is stopped)"
    if state.lag > max_lag:
        return f"replication lag {state.lag:g} s above max_replication_lag {max_lag:g} s"
    return None


def rejection(target: str, state: ServerState, max_lag: float | None) -> str | None:
    """Why a host in ``state`` is not one ``target`` takes, or None."""
    if target == "any":
        return None
    if target == "read-write":
        return state.not_writable
    if target == "primary":
        if state.not_writable is not None:
            return state.not_writable
        return "a replica (it replicates from another server)" if state.replica else None
    if target == "read-only":
        if state.not_writable is None:
            return "not read-only (it takes writes)"
    elif not is_standby(state):  # standby, prefer-standby
        return "not a standby (it takes writes and replicates from no server)"
    return lag_problem(state, max_lag)


def is_fallback(target: str, state: ServerState, max_lag: float | None) -> bool:
    """Whether ``prefer-standby`` may use this host when no standby answers:
    any host but a replica that lags (reading from it is what the bound is
    there to prevent)."""
    return target == "prefer-standby" and lag_problem(state, max_lag) is None
