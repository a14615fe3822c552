"""One checkout: the driver connection a wrapper holds, and how it goes back.

On return nothing a request did may reach the next user: a ROLLBACK when a
transaction may be open, a reset (or a new connection) when a statement may
have changed the session, and a connection whose state is unknown (broken,
interrupted, abandoned by its thread) is closed rather than reused.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import traceback
import weakref
from typing import TYPE_CHECKING, Any

from .. import statements
from . import server_state

if TYPE_CHECKING:
    from .base import ConnectionPool

logger = logging.getLogger("mysqlpool")

# Keys of the connection record's info dict (it lives as long as the physical
# connection; SQLAlchemy clears it when the connection is replaced).
LAST_USED = "mysqlpool.last_used"
#: The session statements (isolation level, ...) the connection was set up with.
SESSION_STATE = "mysqlpool.session_state"
RELEASED = "mysqlpool.released"
EXPECTED = "mysqlpool.expected_invalidation"
FAILURE = "mysqlpool.failure"

#: Server errors that mean the server is no longer the one to write to: a
#: primary demoted or a proxy/DNS switch under way (go-sql-driver and
#: node-mysql2 drop connections on the same codes).
FAILOVER_ERRORS = {
    1290: "running with --read-only",
    1792: "read-only transaction",
    1836: "read-only mode",
    1047: "Galera node not ready",
    1053: "server shutdown in progress",
}

#: Of those, the ones an application also gets from a server that takes
#: writes: 1792 in its own START TRANSACTION READ ONLY, 1290 for
#: --secure-file-priv and other options. A failover is concluded on them only
#: once the server says it is read-only.
CONFIRMED_BY_READ_ONLY = frozenset({1290, 1792, 1836})


class PooledConnection:
    """One checkout: the driver connection plus what the request did with it."""

    __slots__ = (
        "pool", "fairy", "connection", "info", "owner", "effects", "broken",
        "checked_out_at", "stack", "leak_reported", "__weakref__",
    )

    def __init__(self, pool: ConnectionPool, fairy: Any, owner: Any) -> None:
        self.pool = pool
        self.fairy = fairy
        self.connection = fairy.dbapi_connection
        self.info = fairy.info
        self.owner = weakref.ref(owner, self._owner_gone) if owner is not None else None
        self.effects = statements.CLEAN
        #: Why the connection must not be reused, once that is known.
        self.broken: str | None = None
        self.checked_out_at = time.monotonic()
        self.leak_reported = False
        self.stack = (
            traceback.extract_stack()[:-4] if pool.config.leak_warning_after else None
        )

    @property
    def returned(self) -> bool:
        """Whether this checkout has ended (its connection may be someone else's now)."""
        return self.fairy is None

    def note(self, sql: Any) -> None:
        """Record what a statement may leave behind (called before executing it).

        Refuses a statement once the connection has gone back to the pool: a
        cursor kept past ``connection.close()`` would otherwise run SQL on a
        connection that may be another thread's by now.
        """
        if self.fairy is None:
            raise self.pool.driver.dbapi.ProgrammingError(
                "This cursor's connection was closed (returned to its pool); "
                "open a new cursor."
            )
        if self.effects != statements.SESSION:
            effect = statements.classify(sql)
            if effect > self.effects:
                self.effects = effect

    def note_error(self, exc: BaseException) -> None:
        """A statement failed: a lost connection must not go back to the pool,
        and a server that can no longer take writes means a failover."""
        driver = self.pool.driver
        if not isinstance(exc, driver.dbapi.Error) and isinstance(
                exc.__cause__, driver.dbapi.Error):
            exc = exc.__cause__  # Django's exception, raised from the driver's
        if driver.is_disconnect(exc):
            self.mark_broken("it lost its server connection")
        code = driver.error_code(exc)
        if code not in FAILOVER_ERRORS or self.fairy is None:
            return
        if code in CONFIRMED_BY_READ_ONLY and not self._server_read_only(code):
            return  # the application's own error, on a server that takes writes
        why = f"the server answered {code} ({FAILOVER_ERRORS[code]})"
        self.mark_broken(why)
        self.pool.fail_over(why, opened_at=self.fairy._connection_record.starttime)

    def _server_read_only(self, code: int) -> bool:
        """Whether the server behind this connection refuses writes now."""
        try:
            return server_state.read_only(self.pool.driver, self.connection)
        except Exception as exc:  # noqa: BLE001 - not known: no failover
            # Whatever the cause, a connection that cannot answer this is not
            # one to reuse; replacing it costs one reconnect.
            self.mark_broken(f"it could not tell whether the server is read-only "
                             f"after error {code} ({exc})")
            return False

    def mark_broken(self, why: str) -> None:
        """Close the connection on return instead of reusing it."""
        if self.broken is None:
            self.broken = why

    def release(self, autocommit: bool = True, *, abandoned: bool = False) -> None:
        """Return the connection, leaving no transaction or session state behind."""
        fairy, self.fairy = self.fairy, None
        if fairy is None:
            return
        pool = self.pool
        pool.forget(self)
        if pool.pid != os.getpid():
            return  # inherited through fork(): never touch the parent's connection
        if pool.observer is not None:
            pool.observer.used(pool, time.monotonic() - self.checked_out_at)
        try:
            self._return(fairy, autocommit, abandoned)
        except BaseException:
            # Interrupted mid-return (KeyboardInterrupt, gevent.Timeout): the
            # session's state is unknown, so the connection is closed. Marked
            # released first, so that its slot is not freed a second time when
            # the garbage collector finds the checkout. (A fairy already back
            # in the pool has no connection left to close.)
            if fairy.dbapi_connection is not None and not fairy.info.get(RELEASED):
                invalidate(fairy, None, failure="its return was interrupted")
            raise
        finally:
            # Only now: the next waiter finds the connection back in the pool.
            pool.slot_freed()

    def _return(self, fairy: Any, autocommit: bool, abandoned: bool) -> None:
        pool = self.pool
        if abandoned:  # already reported
            invalidate(fairy, None, expected="its user is gone (thread ended, exit)")
            return
        if self.broken:
            invalidate(fairy, None, failure=self.broken)
            return
        if pool.retired:
            invalidate(fairy, None, expected="its pool was closed or its settings changed")
            return
        connection, driver = self.connection, pool.driver
        try:
            if self.effects == statements.SESSION:
                if not driver.reset_session(connection):
                    invalidate(fairy, None, expected="a statement changed its session")
                    return
                self.info.pop(SESSION_STATE, None)
            else:
                in_transaction = driver.in_transaction(connection)
                if in_transaction is None:
                    in_transaction = self.effects == statements.TRANSACTION or not autocommit
                if in_transaction:
                    connection.rollback()
        except Exception as exc:
            invalidate(fairy, exc)
            return
        self.info[LAST_USED] = time.monotonic()
        self.info[RELEASED] = True
        fairy.close()

    def abandon_inherited(self) -> None:
        """Forget this checkout in a forked child, without touching the connection."""
        self.fairy = None
        owner = self.owner() if self.owner is not None else None
        if owner is not None:
            owner.forget_inherited_connection(self)

    def _owner_gone(self, owner: weakref.ref) -> None:
        """The wrapper holding this checkout was garbage collected without
        close(), in a thread that goes on: nobody can return it now."""
        if self.owner is not owner or self.fairy is None or self.pool.pid != os.getpid():
            return
        if _exiting:
            return  # close_at_exit() and the process's end take care of it
        logger.warning(
            "A connection of %r was dropped without close() (its DatabaseWrapper was "
            "garbage collected); rolling back and closing it so its transaction and "
            "locks don't outlive it", self.pool.alias,
        )
        try:
            self.connection.rollback()
        except Exception:  # noqa: BLE001 - it is closed next either way
            logger.debug("ROLLBACK of a dropped connection failed", exc_info=True)
        self.release(abandoned=True)

    def abandon_dead_thread(self) -> None:
        """The thread that checked this out ended without returning it."""
        if self.fairy is None or self.pool.pid != os.getpid():
            return
        owner = self.owner() if self.owner is not None else None
        if owner is not None and getattr(owner, "allow_thread_sharing", False):
            # Django lets a connection marked shared (inc_thread_sharing())
            # outlive the thread that opened it; its wrapper returns it on close.
            return
        if _exiting:
            # The interpreter is shutting down: Django never closes the main
            # thread's connections at exit, so this is a normal exit, not a leak.
            logger.debug("Closing a connection of %r at exit", self.pool.alias)
        else:
            logger.warning(
                "A thread ended holding a connection of %r; rolling back and closing it "
                "so its transaction and locks don't outlive it", self.pool.alias,
            )
        # A close alone lets the server roll back in its own time, possibly
        # after the next user already asked for the same locks; a ROLLBACK has
        # freed them when it returns. This runs in the ending thread itself, so
        # the round trip holds up no other thread.
        try:
            self.connection.rollback()
        except Exception:  # noqa: BLE001 - it is closed next either way
            logger.debug("ROLLBACK of an abandoned connection failed", exc_info=True)
        self.release(abandoned=True)


def close_at_exit() -> None:
    """The interpreter is exiting normally: the connections this (main)
    thread still holds (Django never closes them) are rolled back and closed
    now, while the network code still works; dropped at the process's end,
    each would be an aborted connection in the server's log."""
    for checkout in list(thread_checkouts()):
        if checkout.fairy is None or checkout.pool.pid != os.getpid():
            continue
        logger.debug("Closing a connection of %r at exit", checkout.pool.alias)
        try:
            checkout.connection.rollback()
        except Exception:  # noqa: BLE001 - it is closed next either way
            logger.debug("ROLLBACK at exit failed", exc_info=True)
        try:
            checkout.release(abandoned=True)
        except Exception:  # noqa: BLE001 - never raise at exit
            logger.debug("Closing a connection at exit failed", exc_info=True)


def invalidate(fairy: Any, exc: BaseException | None, expected: str | None = None,
               failure: str | None = None) -> None:
    """Close the physical connection; its pool slot opens a new one when needed.

    ``expected`` says why, when that is part of normal operation; ``failure``
    says what went wrong when there is no exception to tell.
    """
    fairy.info[RELEASED] = True
    if expected:
        fairy.info[EXPECTED] = expected
    if failure:
        fairy.info[FAILURE] = failure
    fairy.invalidate(exc)


# ----- checkouts per thread ---------------------------------------------------


class _ThreadCheckouts(set):
    """The checkouts of one thread, abandoned if the thread ends holding them."""

    def __del__(self) -> None:
        # Also runs in a forked child for the parent's other threads; release()
        # leaves connections of another process alone.
        for checkout in list(self):
            try:
                checkout.abandon_dead_thread()
            except Exception:  # noqa: BLE001 - never raise from a finalizer
                logger.debug("Closing an abandoned connection failed", exc_info=True)


# Made on first use, not at import: a thread-local made before gevent or
# eventlet patched threading would be one for every green thread.
_local: threading.local | None = None
_exiting = False


def thread_checkouts() -> _ThreadCheckouts:
    """This thread's checkouts."""
    global _local
    local = _local
    if local is None:
        local = _local = threading.local()
    try:
        return local.checkouts
    except AttributeError:
        checkouts = local.checkouts = _ThreadCheckouts()
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
