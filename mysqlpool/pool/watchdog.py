"""A bound on how long a liveness ping may wait, on every driver.

A server that stopped answering without closing its sockets (a frozen host,
SIGSTOP, a black-holed network) leaves a ping waiting for the driver's read
timeout, which mysqlclient and PyMySQL do not set by default and which
mysqlclient cannot change after connecting. Here one thread per process
watches the pings in progress and shuts down the socket of one that has
waited longer than ``ping_timeout``: the driver's blocked read then returns
with an error, on every driver, C or Python.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

# Made on first use, not at import (see housekeeping.py: gunicorn --preload
# imports mysqlpool before gevent patches threading).
_sync: tuple[threading.Lock, threading.Condition] | None = None
_watched: dict[int, _Watch] = {}
_thread: threading.Thread | None = None


def _synchronization() -> tuple[threading.Lock, threading.Condition]:
    global _sync
    if _sync is None:
        lock = threading.Lock()
        _sync = (lock, threading.Condition(lock))
    return _sync


class _Watch:
    __slots__ = ("fd", "inode", "deadline", "done", "fired")

    def __init__(self, fd: int, deadline: float) -> None:
        self.fd = fd
        # The socket itself: if the driver closed it meanwhile, the number may
        # belong to another socket, which must be left alone.
        self.inode = os.fstat(fd).st_ino
        self.deadline = deadline
        self.done = False
        self.fired = False


class PingTimeout(Exception):
    """The server did not answer within ``ping_timeout``; its socket was shut down."""


def bounded(fd: int, timeout: float, func: Any, *args: Any) -> Any:
    """``func(*args)`` while the socket ``fd`` is watched: after ``timeout`` seconds
    the socket is shut down, and PingTimeout is raised whatever ``func`` did."""
    watch = _Watch(fd, time.monotonic() + timeout)
    lock, wakeup = _synchronization()
    with lock:
        _watched[id(watch)] = watch
        _ensure_thread()
        wakeup.notify()
    try:
        return func(*args)
    finally:
        with lock:
            _watched.pop(id(watch), None)
            watch.done = True
            fired = watch.fired
        if fired:
            raise PingTimeout(f"no answer within {timeout} s")


def _ensure_thread() -> None:
    global _thread
    if _thread is None or not _thread.is_alive():
        _thread = threading.Thread(target=_run, name="mysqlpool-ping-watchdog", daemon=True)
        _thread.start()


def _run() -> None:
    lock, wakeup = _synchronization()
    with lock:
        while True:
            now = time.monotonic()
            for watch in list(_watched.values()):
                if not watch.done and watch.deadline <= now:
                    watch.fired = True
                    _shut_down(watch.fd, watch.inode)
                    del _watched[id(watch)]
            if not _watched:
                # Idle: wait for the next ping, and end after a while without one.
                if not wakeup.wait(60) and not _watched:
                    _forget_thread()
                    return
                continue
            wakeup.wait(min(w.deadline for w in _watched.values()) - now)


def _forget_thread() -> None:
    global _thread
    _thread = None


def _shut_down(fd: int, inode: int) -> None:
    """Make a blocked read on ``fd`` return: the connection is given up for dead."""
    try:
        if os.fstat(fd).st_ino != inode:
            return
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


def after_fork_in_child() -> None:
    """The watching thread did not survive the fork; pings in progress were the parent's."""
    global _sync, _thread
    _sync = None
    _watched.clear()
    _thread = None
