"""One thread per process looks after every pool: idle connections, lifetimes,
``min_size``, leak reports (each pool's tend(): see maintenance.py).

It starts with the first pool, ends when ``close_pool()`` leaves no pool, and
does not exist in a forked child until the child makes pools of its own.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any, Protocol

from ..config import PoolConfig


class Watched(Protocol):
    """What the housekeeping thread needs of a pool (base.ConnectionPool)."""

    alias: str
    retired: bool
    config: PoolConfig
    observer: Any

    def tend(self) -> None:
        """One round of housekeeping (maintenance.tend)."""

logger = logging.getLogger("mysqlpool")

#: Seconds between rounds at most, and at least.
LONGEST_TICK = 1.0
SHORTEST_TICK = 0.05

# Made on first use, not at import: a process may import mysqlpool before
# gevent or eventlet patches threading (gunicorn --preload), and a lock made
# then would block every green thread while one waits on it.
_sync: tuple[threading.Lock, threading.Condition] | None = None
_pools: weakref.WeakSet = weakref.WeakSet()
_thread: threading.Thread | None = None


def _synchronization() -> tuple[threading.Lock, threading.Condition]:
    global _sync
    if _sync is None:
        lock = threading.Lock()
        _sync = (lock, threading.Condition(lock))
    return _sync


def watch(pool: Watched) -> None:
    """Look after ``pool`` (from its creation); a first round runs at once."""
    global _thread
    lock, wakeup = _synchronization()
    with lock:
        _pools.add(pool)
        if _thread is None:
            _thread = threading.Thread(target=_run, name="mysqlpool-housekeeping",
                                       daemon=True)
            _thread.start()
        wakeup.notify()


def forget(pool: Watched) -> None:
    """``pool`` is retired; the thread ends once no pool is left."""
    lock, wakeup = _synchronization()
    with lock:
        _pools.discard(pool)
        wakeup.notify()
    if pool.observer is not None:
        try:
            pool.observer.publish(pool)  # its figures go to 0 if nothing replaces it
        except Exception:  # noqa: BLE001 - metrics never break closing a pool
            logger.debug("Publishing the metrics of %r failed", pool.alias, exc_info=True)


def wake() -> None:
    """Run a round now (after a failover, for instance)."""
    lock, wakeup = _synchronization()
    with lock:
        wakeup.notify()


def running() -> bool:
    """Whether the thread is running (for tests and stats)."""
    thread = _thread
    return thread is not None and thread.is_alive()


def _tick(pools: list[Watched]) -> float:
    tick = LONGEST_TICK
    for pool in pools:
        config = pool.config
        for seconds, part in ((config.max_idle, 4), (config.lifetime, 20),
                              (config.leak_warning_after, 2),
                              # A lagging replica's idle connections go within
                              # about a second.
                              (config.max_replication_lag is not None and 1.0, 2)):
            if seconds:
                tick = min(tick, seconds / part)
    return max(tick, SHORTEST_TICK)


def _run() -> None:
    global _thread
    me = threading.current_thread()
    lock, wakeup = _synchronization()
    while True:
        with lock:
            if _thread is not me:
                return  # replaced (after a fork, another thread is the child's)
            pools = [pool for pool in _pools if not pool.retired]
            if not pools:
                _thread = None
                return
        for pool in pools:
            try:
                pool.tend()
            except Exception:  # noqa: BLE001 - the thread must go on
                logger.debug("Housekeeping of %r failed", pool.alias, exc_info=True)
        tick = _tick(pools)
        del pools, pool  # no strong reference while waiting: retired pools can go
        with lock:
            wakeup.wait(tick)


def after_fork_in_child() -> None:
    """The parent's pools are not the child's, and its thread did not survive."""
    global _sync, _pools, _thread
    _sync = None
    _pools = weakref.WeakSet()
    _thread = None
