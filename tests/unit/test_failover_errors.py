"""Which server errors mean a failover (mysqlpool.pool.server_state), for the
codes that need no question to the server: one table, one expected answer
each. The codes a writable server also gives (CONFIRMED_BY_READ_ONLY) ask the
server whether it is read-only: tests/chaos/test_failover.py has them."""

from __future__ import annotations

import pytest

from mysqlpool.pool.server_state import (
    CONFIRMED_BY_READ_ONLY,
    FAILOVER_ERRORS,
    failover_reason,
)

TABLE: list[tuple[int | None, str | None]] = [
    # A node or a server going away: a failover, whatever else is true.
    (1047, "the server answered 1047 (Galera node not ready)"),
    (1053, "the server answered 1053 (server shutdown in progress)"),
    # The application's own errors: never a failover.
    (1062, None),  # duplicate key
    (1146, None),  # no such table
    (1205, None),  # lock wait timeout
    (1213, None),  # deadlock
    (2006, None),  # server gone away: a lost connection, not a demotion
    (None, None),  # no code at all (an error of the driver's own)
]


@pytest.mark.parametrize(("code", "expected"), TABLE)
def test_failover_reason_without_a_question_to_the_server(code, expected):
    # No connection: these codes must be decided without one.
    assert failover_reason(None, None, code) == expected  # type: ignore[arg-type]


def test_every_failover_error_is_either_certain_or_confirmed_by_the_server():
    certain = set(FAILOVER_ERRORS) - CONFIRMED_BY_READ_ONLY
    assert CONFIRMED_BY_READ_ONLY <= set(FAILOVER_ERRORS)
    assert {code for code, why in TABLE if why is not None} == certain
