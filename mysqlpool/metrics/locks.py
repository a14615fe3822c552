"""The metrics code's locks: made on first use, and safe across ``os.fork()``.

Made on first use, not at import: a process may import mysqlpool before
gevent or eventlet patches threading (gunicorn --preload), and a lock made
then would block every green thread while one waits on it.

At a fork, the child gets a copy of each lock as it is at that moment: one
that a thread of the parent held (the housekeeping thread inside
``publish()``) would stay locked for good in the child, where that thread
does not exist, and hang its ``close_pool()`` and housekeeping. So a fork
first waits, briefly, for the locks to be free (the exporter's own locks,
taken under ours, are then free too), and the child starts with no lock at
all: it makes its own on first use, after any patching the child does.

None of this is on a request's path: the locks guard choosing an observer
(once per pool) and publishing (once per housekeeping round).
"""

from __future__ import annotations

import os
import threading

#: Seconds a fork waits for each lock a thread holds. Publishing takes
#: microseconds; the bound is for a thread stuck elsewhere while holding one.
FORK_WAIT = 2.0

_locks: dict[str, threading.Lock] = {}
#: The locks the forking thread took before the fork, to give back in the parent.
_taken_for_fork: list[threading.Lock] = []


def lock(name: str) -> threading.Lock:
    """The lock called ``name``: one per process, whichever thread asks first."""
    found = _locks.get(name)
    if found is None:
        # setdefault is atomic: threads that race here all get the same lock.
        found = _locks.setdefault(name, threading.Lock())
    return found


def _before_fork() -> None:
    for each in list(_locks.values()):
        if each.acquire(timeout=FORK_WAIT):
            _taken_for_fork.append(each)


def _after_fork_in_parent() -> None:
    while _taken_for_fork:
        _taken_for_fork.pop().release()


def _after_fork_in_child() -> None:
    # Whatever the copies' state, the child's code asks for fresh locks.
    _taken_for_fork.clear()
    _locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)
