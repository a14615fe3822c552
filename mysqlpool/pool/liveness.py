"""Whether an idle pooled connection can be handed out: no round trip when possible.

A connection the server closed while it sat idle (restart, KILL,
``wait_timeout``, a proxy's idle timeout) has a readable socket, which a
zero-timeout poll sees without a round trip. A connection idle for longer
than ``ping_after_idle`` is also pinged, and the ping gives up after
``ping_timeout`` (see watchdog.py); one returned a moment ago is not looked
at at all.
"""

from __future__ import annotations

import functools
import select
from collections.abc import Callable
from typing import Any

from ..config import PoolConfig
from ..drivers import Driver
from ..green import original
from . import watchdog
from .slot import Slot

#: A connection returned less than this many seconds ago would be handed out
#: without a look at its socket (HikariCP skips its checks for 500 ms). At 0:
#: always a look, one zero-timeout poll: a server that closed the connection
#: a moment after it was returned (a KILL, a restart) then costs a reconnect,
#: not the next request.
POLL_AFTER_IDLE = 0.0

_READABLE = getattr(select, "POLLIN", 1) | getattr(select, "POLLERR", 8) | getattr(
    select, "POLLHUP", 16)


def idle_problem(driver: Driver, dbapi_connection: Any, slot: Slot, now: float,
                 config: PoolConfig) -> tuple[str, bool] | None:
    """Why a connection that was idle cannot be handed out, and whether that is
    normal operation (its lifetime is over) rather than a failure; None when
    it can be (``config`` gives ping_after_idle and ping_timeout).

    Raises watchdog.PingTimeout when the server did not answer the ping in time.
    On every checkout: nothing but two comparisons when it was just used.
    """
    if slot.expires <= now:
        return "it reached its lifetime (recycle)", True
    idle = now - slot.last_used  # type: ignore[operator]  # never None once used
    ping_after_idle = config.ping_after_idle
    ping = ping_after_idle is not None and idle > ping_after_idle
    if not ping and idle < POLL_AFTER_IDLE:
        return None
    problem = socket_problem(driver, dbapi_connection, slot)
    if problem is not None:
        return problem, False
    if ping:
        try:
            watchdog.bounded(slot.poller[0][1], config.ping_timeout,  # type: ignore[index]
                             driver.ping, dbapi_connection)
        except watchdog.PingTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure means not usable
            return f"ping failed: {exc}", False
    return None


def socket_problem(driver: Driver, dbapi_connection: Any, slot: Slot) -> str | None:
    """Why an idle connection's socket shows it dead (no round trip), or None."""
    state = driver.socket_state(dbapi_connection)
    if state is None:
        return "its socket is closed"
    cached = slot.poller
    # The poll object is kept per socket, not per fd number: once the driver
    # has closed its socket, the number may belong to another one.
    if cached is None or cached[0] != state:
        cached = slot.poller = (state, _poller(state[1]))
    poller = cached[1]
    # Readable while idle: closed, or an error packet waiting (MySQL 8 sends
    # one before it closes an idle connection).
    if poller() if poller is not None else _selectable(state[1]):
        return "the server closed the connection"
    return None


def keep_poller(driver: Driver, dbapi_connection: Any, slot: Slot) -> None:
    """Make the poll object of the connection's socket now (its user holds
    it), so that housekeeping can look at it later without calling the
    driver's connection, which another thread may be using then."""
    state = driver.socket_state(dbapi_connection)
    if state is not None:
        slot.poller = (state, _poller(state[1]))


def seen_closed(slot: Slot) -> bool:
    """Whether the socket last seen for this connection looks closed now,
    without a call on the driver's connection or on its poll object (another
    thread may be using either: a poll object refuses two callers at once).
    A plain zero-timeout select on the file descriptor kept for it; a hint
    only: the descriptor may have been closed and given to another socket
    meanwhile, so the caller claims the connection and looks again."""
    cached = slot.poller
    if cached is None:
        return False
    fd = cached[0][1]
    try:
        return _selectable(fd)
    except (OSError, ValueError):
        return False


def _poller(fd: int) -> Callable[[], Any] | None:
    """A look at ``fd`` that never waits: a call, truthy when the socket is
    readable or closed."""
    if _libc_poll is not None:
        entry = _PollFd(fd, _READABLE, 0)
        # byref() keeps the struct alive for as long as the call is kept.
        # The arguments are ctypes' own objects already (nfds an unsigned
        # long, as poll() takes it): no conversion per call.
        return functools.partial(_libc_poll, _ctypes.byref(entry), _ctypes.c_ulong(1), 0)
    # The unpatched poll: a zero-timeout poll never blocks, but gevent's
    # yields to the hub even then, and the checkout would hold its connection
    # while every other green thread runs (a third fewer requests per second
    # under load). Eventlet's patching removes select.poll altogether.
    poll = original("select", "poll")
    if poll is None:
        return None
    poller = poll()
    poller.register(fd, _READABLE)
    return functools.partial(poller.poll, 0)


def _load_libc_poll() -> tuple[Any, Any, Any]:
    """libc's poll(), called with the GIL held: select.poll releases the GIL
    even for a zero timeout, and with more threads than cores the checkout
    then waits for another thread's turn on the GIL to end (a thread switch
    per request, about 2 % of throughput at 8 threads on 2 cores). A call that
    cannot block needs no release. None where ctypes or libc's poll is missing
    (Windows, a build without ctypes): select.poll then."""
    try:
        import ctypes

        function = ctypes.PyDLL(None).poll
    except Exception:  # noqa: BLE001 - ImportError, OSError, TypeError (Windows), AttributeError
        return None, None, None

    class PollFd(ctypes.Structure):  # struct pollfd
        _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short),
                    ("revents", ctypes.c_short)]

    function.restype = ctypes.c_int
    # No argtypes: the caller passes ctypes objects (see _poller); checking
    # and converting them on each call nearly triples the call's cost
    # (1.3 µs against 0.5 µs, the system call included).
    return ctypes, PollFd, function


_ctypes, _PollFd, _libc_poll = _load_libc_poll()


def _selectable(fd: int) -> bool:
    # The unpatched select where gevent or eventlet patched it: a zero
    # timeout never blocks, and the patched ones would yield to the hub.
    select_ = original("select", "select") or select.select
    readable, _, errored = select_([fd], [], [fd], 0)
    return bool(readable or errored)
