"""Whether an idle pooled connection can be handed out: no round trip when possible.

A connection the server closed while it sat idle (restart, KILL,
``wait_timeout``, a proxy's idle timeout) has a readable socket, which a
zero-timeout poll sees for free. Only a connection idle for longer than
``ping_after_idle`` is also pinged, and the ping gives up after
``ping_timeout`` (see watchdog.py).
"""

from __future__ import annotations

import select
import time
from typing import Any

from ..config import PoolConfig
from ..drivers import Driver
from ..green import original
from . import watchdog

#: Key in the connection record's info: ((socket token, fd), poll object or None).
POLLER = "mysqlpool.poller"
#: Key in the connection record's info: when (time.monotonic()) it must be replaced.
EXPIRES = "mysqlpool.expires"

_READABLE = getattr(select, "POLLIN", 1) | getattr(select, "POLLERR", 8) | getattr(
    select, "POLLHUP", 16)


def idle_problem(driver: Driver, dbapi_connection: Any, info: dict, last_used: float,
                 config: PoolConfig) -> tuple[str, bool] | None:
    """Why a connection that was idle cannot be handed out, and whether that is
    normal operation (its lifetime is over) rather than a failure; None when
    it can be (``config`` gives ping_after_idle and ping_timeout).

    Raises watchdog.PingTimeout when the server did not answer the ping in time.
    On every checkout: kept to one driver call and one poll when all is well.
    """
    now = time.monotonic()
    expires = info.get(EXPIRES)
    if expires is not None and expires <= now:
        return "it reached its lifetime (recycle)", True
    problem = socket_problem(driver, dbapi_connection, info)
    if problem is not None:
        return problem, False
    ping_after_idle = config.ping_after_idle
    if ping_after_idle is not None and now - last_used > ping_after_idle:
        try:
            watchdog.bounded(info[POLLER][0][1], config.ping_timeout, driver.ping,
                             dbapi_connection)
        except watchdog.PingTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure means not usable
            return f"ping failed: {exc}", False
    return None


def socket_problem(driver: Driver, dbapi_connection: Any, info: dict) -> str | None:
    """Why an idle connection's socket shows it dead (no round trip), or None."""
    state = driver.socket_state(dbapi_connection)
    if state is None:
        return "its socket is closed"
    cached = info.get(POLLER)
    # The poll object is kept per socket, not per fd number: once the driver
    # has closed its socket, the number may belong to another one.
    if cached is None or cached[0] != state:
        cached = info[POLLER] = (state, _poller(state[1]))
    poller = cached[1]
    # Readable while idle: closed, or an error packet waiting (MySQL 8 sends
    # one before it closes an idle connection).
    if poller.poll(0) if poller is not None else _selectable(state[1]):
        return "the server closed the connection"
    return None


def _poller(fd: int) -> Any:
    # The unpatched poll: a zero-timeout poll never blocks, but gevent's
    # yields to the hub even then, and the checkout would hold its connection
    # while every other green thread runs (a third fewer requests per second
    # under load). Eventlet's patching removes select.poll altogether.
    poll = original("select", "poll")
    if poll is None:
        return None
    poller = poll()
    poller.register(fd, _READABLE)
    return poller


def _selectable(fd: int) -> bool:
    readable, _, errored = select.select([fd], [], [fd], 0)
    return bool(readable or errored)
