"""Each thread's checkouts (in use or parked), so that a connection whose
thread ended is given back, and the main thread's are closed at exit."""

from __future__ import annotations

import atexit
import logging
import threading

logger = logging.getLogger("mysqlpool")


class ThreadCheckouts(set):
    """The connections of one thread, in use or parked, given back if the
    thread ends holding them."""

    def __init__(self) -> None:
        super().__init__()
        #: Its thread (the finalizer may run in another).
        self.ident = threading.get_ident()

    def __del__(self) -> None:
        # Also runs in a forked child for the parent's other threads; those
        # connections were abandoned at the fork and are left alone.
        for checkout in list(self):
            try:
                checkout.abandon_dead_thread(self)
            except Exception:  # noqa: BLE001 - never raise from a finalizer
                logger.debug("Closing an abandoned connection failed", exc_info=True)


# Made on first use, not at import: a thread-local made before gevent or
# eventlet patched threading would be one for every green thread.
_local: threading.local | None = None
_exiting = False


def thread_checkouts() -> ThreadCheckouts:
    """This thread's checkouts."""
    global _local
    local = _local
    if local is None:
        local = _local = threading.local()
    try:
        return local.checkouts
    except AttributeError:
        checkouts = local.checkouts = ThreadCheckouts()
        return checkouts


def exiting() -> bool:
    """Whether the interpreter is shutting down (atexit has run)."""
    return _exiting


def forget_threads_after_fork() -> None:
    """In a forked child: the parent's threads' checkouts are not this process's."""
    global _local
    _local = None


@atexit.register
def _at_exit() -> None:
    global _exiting
    _exiting = True


def close_at_exit() -> None:
    """The interpreter is exiting normally: the connections this (main)
    thread still holds (Django never closes them) are rolled back and closed
    now, while the network code still works; dropped at the process's end,
    each would be an aborted connection in the server's log. Parked ones go
    with their pools (close_pool())."""
    me = threading.get_ident()
    for checkout in list(thread_checkouts()):
        if (checkout.fairy is None or checkout.pool.abandoned or checkout.parked
                or checkout.in_use_by != me):
            continue
        logger.debug("Closing a connection of %r at exit", checkout.pool.alias)
        try:
            checkout.connection.rollback()
        except Exception:  # noqa: BLE001 - it is closed next either way
            logger.debug("ROLLBACK at exit failed", exc_info=True)
        try:
            checkout.pool.end(checkout, expected="the interpreter is exiting")
        except Exception:  # noqa: BLE001 - never raise at exit
            logger.debug("Closing a connection at exit failed", exc_info=True)
