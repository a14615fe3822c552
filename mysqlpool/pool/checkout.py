"""One physical connection out of SQLAlchemy's pool, and its uses.

A ``PooledConnection`` lives from SQLAlchemy's checkout to its checkin. Over
that time it serves one or more *uses* (a wrapper's connect() to its close()):
between two, a clean connection is *parked* on the wrapper that used it, still
counted against the pool's limit, so that the same wrapper's next connect()
takes it back with no queue, no lock held while waiting and no session setup
(HikariCP's thread-local list, with Django's per-thread wrapper in its place).
A parked connection is free for anyone: its ``claim`` lock is released, and a
thread that would otherwise wait takes it over (acquire(False) is the
compare-and-set).

On return nothing a request did may reach the next user: a ROLLBACK when a
transaction may be open, a reset (or a new connection) when a statement may
have changed the session, and a connection whose state is unknown (broken,
interrupted, abandoned by its thread) is closed rather than reused.
"""

from __future__ import annotations

import functools
import logging
import threading
import traceback
import weakref
from typing import Any, Protocol

from .. import statements
from ..config import PoolConfig
from ..drivers import Driver
from . import server_state, threads
from .slot import Slot
from .threads import ThreadCheckouts, thread_checkouts

logger = logging.getLogger("mysqlpool")

class Pool(Protocol):
    """What a connection needs of its pool (base.ConnectionPool)."""

    alias: str
    driver: Driver
    config: PoolConfig
    abandoned: bool

    def finish(self, entry: PooledConnection, autocommit: bool) -> bool: ...
    def end(self, entry: PooledConnection, exc: BaseException | None = None,
            expected: str | None = None, failure: str | None = None,
            free_slot: bool = True) -> None: ...
    def give_back(self, entry: PooledConnection) -> None: ...
    def repark(self, entry: PooledConnection) -> None: ...
    def fail_over(self, why: str, opened_at: float) -> None: ...


class PooledConnection:
    """One physical connection held out of SQLAlchemy's pool: in use by one
    wrapper, or parked (free, but kept near the wrapper that used it last)."""

    __slots__ = (
        "pool", "fairy", "connection", "slot", "claim", "parked", "in_use_by", "use",
        "owner", "thread_set", "effects", "broken", "checked_out_at", "stack", "leak_reported",
        "checkouts", "ready", "__weakref__",
    )

    def __init__(self, pool: Pool, fairy: Any, slot: Slot) -> None:
        self.pool = pool
        self.fairy = fairy
        self.connection = fairy.dbapi_connection
        self.slot = slot
        #: Held while the connection is in use (or being looked at); released
        #: while it is parked. Whoever acquires it owns the connection.
        self.claim = threading.Lock()
        self.claim.acquire()
        self.parked = False
        #: The thread using it (set by whoever claims it, before ``parked``
        #: goes False); None while it is being handed from one thread to
        #: another. What tells a dead thread's connection from one another
        #: thread has just taken over.
        self.in_use_by: int | None = threading.get_ident()
        #: Which use this is: a cursor made during one use is refused in any
        #: other (the connection may be another thread's by then).
        self.use = 0
        self.owner: weakref.ref | None = None
        #: The set of checkouts of the thread that holds (or parked) it.
        self.thread_set: weakref.ref | None = None
        self.effects = statements.CLEAN
        #: Why the connection must not be reused, once that is known.
        self.broken: str | None = None
        self.checked_out_at = 0.0
        self.stack: list | None = None
        self.leak_reported = False
        #: Uses counted here, by the claim's holder alone: no lock per checkout.
        self.checkouts = 0
        #: Whether its last use ended clean and in autocommit mode (it was
        #: parked): the session is as the setup for its settings left it, and
        #: the next user need not set it up again. False for a connection
        #: from SQLAlchemy's pool, which may have been returned otherwise.
        self.ready = False

    def begin(self, owner: Any, now: float) -> None:
        """A use starts (the caller holds the claim)."""
        self.in_use_by = threading.get_ident()
        self.use += 1
        self.checkouts += 1
        self.owner = (weakref.ref(owner, functools.partial(_owner_gone, weakref.ref(self)))
                      if owner is not None else None)
        self.effects = statements.CLEAN
        self.broken = None
        self.checked_out_at = now
        self.leak_reported = False
        if self.pool.config.leak_warning_after:
            self.stack = traceback.extract_stack()[:-5]
        mine = thread_checkouts()
        previous = self.thread_set() if self.thread_set is not None else None
        if previous is not mine:
            if previous is not None:
                previous.discard(self)
            mine.add(self)
            # Weakly: the set must go with its thread, and its finalizer run then.
            self.thread_set = weakref.ref(mine)

    def resume(self, now: float) -> None:
        """The same wrapper uses it again, in the same thread (the claim held,
        and ``in_use_by`` set by whoever claimed it): what begin() sets for a
        checkout, less what is still true."""
        self.use += 1
        self.checkouts += 1
        self.effects = statements.CLEAN
        self.checked_out_at = now
        self.leak_reported = False
        if self.stack is not None:
            self.stack = traceback.extract_stack()[:-5]

    @property
    def returned(self) -> bool:
        """Whether this connection's current use has ended."""
        return self.fairy is None or self.parked

    def current(self, use: int) -> bool:
        """Whether ``use`` (a cursor's) is still the connection's use."""
        return use == self.use and not self.parked and self.fairy is not None

    def note(self, sql: Any, use: int) -> None:
        """Record what a statement may leave behind (called before executing it).

        Refuses a statement once the use it was made for has ended: a cursor
        kept past ``connection.close()`` would otherwise run SQL on a
        connection that may be another thread's by now.
        """
        if use != self.use or self.parked or self.fairy is None:
            raise self.pool.driver.dbapi.ProgrammingError(
                "This cursor's connection was closed (returned to its pool); "
                "open a new cursor."
            )
        if self.effects != statements.SESSION:
            effect = statements.known_effect(sql) if type(sql) is str else None
            if effect is None:
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
        if self.fairy is None:
            return
        code = driver.error_code(exc)
        try:
            why = server_state.failover_reason(driver, self.connection, code)
        except Exception as error:  # noqa: BLE001 - not known: no failover
            # Whatever the cause, a connection that cannot answer this is not
            # one to reuse; replacing it costs one reconnect.
            self.mark_broken(f"it could not tell whether the server is read-only "
                             f"after error {code} ({error})")
            return
        if why is not None:
            self.mark_broken(why)
            self.pool.fail_over(why, opened_at=self.slot.opened_at)

    def mark_broken(self, why: str) -> None:
        """Close the connection on return instead of reusing it."""
        if self.broken is None:
            self.broken = why

    def abandon_inherited(self) -> None:
        """Forget this connection in a forked child, without touching it."""
        self.fairy = None
        owner = self.owner() if self.owner is not None else None
        if owner is not None:
            owner.forget_inherited_connection(self)

    def claimed(self) -> bool:
        """Claim it if it is parked (free); True when the caller now has it."""
        if not self.claim.acquire(False):
            return False
        # Before parked goes False: a dead thread's finalizer must see that
        # the connection is someone else's now.
        self.in_use_by = threading.get_ident()
        self.parked = False
        return True

    def owner_gone(self, owner: weakref.ref) -> None:
        """The wrapper that used (or parked) this connection was garbage
        collected without close(), in a thread that may go on."""
        if (self.owner is not owner or self.fairy is None or self.pool.abandoned
                or threads.exiting()):
            return  # another use's, gone, inherited through fork(), or exit's to close
        if self.parked:
            if self.claimed():
                self.pool.give_back(self)  # free, and nobody will take it back
            return
        if self.in_use_by is None:
            return  # being handed to another thread: no longer this owner's
        self._abandon("A connection of %r was dropped without close() (its "
                      "DatabaseWrapper was garbage collected); rolling back and "
                      "closing it so its transaction and locks don't outlive it")

    def _abandon(self, warning: str) -> None:
        """Nobody can return this connection now: roll back, close, warn."""
        logger.warning(warning, self.pool.alias)
        # A close alone lets the server roll back in its own time, possibly
        # after the next user already asked for the same locks; a ROLLBACK has
        # freed them when it returns.
        try:
            self.connection.rollback()
        except Exception:  # noqa: BLE001 - it is closed next either way
            logger.debug("ROLLBACK of an abandoned connection failed", exc_info=True)
        self.pool.end(self, expected="its user is gone (thread ended, wrapper dropped)")

    def abandon_dead_thread(self, thread_set: ThreadCheckouts) -> None:
        """The thread that used (or parked) this connection ended."""
        if self.fairy is None or self.pool.abandoned or threads.exiting():
            # Gone already, inherited through fork(), or the interpreter is
            # shutting down: Django never closes the main thread's
            # connections at exit, the process's end closes the sockets (the
            # server rolls back), and the network code may be half torn down.
            return
        if self.parked:
            # Nobody is using it: back to the pool, quietly (if it is still
            # this thread's: taken over and parked again, it is another's).
            if self.claimed():
                if self.thread_set is not None and self.thread_set() is thread_set:
                    self.pool.give_back(self)
                else:
                    self.pool.repark(self)
            return
        if self.in_use_by != thread_set.ident:
            return  # taken over by another thread, or being handed to one
        owner = self.owner() if self.owner is not None else None
        if owner is not None and getattr(owner, "allow_thread_sharing", False):
            # Django lets a connection marked shared (inc_thread_sharing())
            # outlive the thread that opened it; its wrapper returns it on close.
            return
        # This runs in the ending thread itself: the ROLLBACK holds up no other.
        self._abandon("A thread ended holding a connection of %r; rolling back and "
                      "closing it so its transaction and locks don't outlive it")

    def __repr__(self) -> str:
        state = ("returned" if self.fairy is None else "parked" if self.parked
                 else "in use")
        return f"<PooledConnection of {self.pool.alias!r}, {state}>"


def _owner_gone(entry: weakref.ref, owner: weakref.ref) -> None:
    # The owner's weakref callback, holding the connection weakly: a bound
    # method would make the connection and its owner's weakref a reference
    # cycle, left for the garbage collector each time a connection ends.
    connection = entry()
    if connection is not None:
        connection.owner_gone(owner)


def invalidate(fairy: Any, slot: Slot, exc: BaseException | None, expected: str | None = None,
               failure: str | None = None) -> None:
    """Close the physical connection; its pool slot opens a new one when needed.

    ``expected`` says why, when that is part of normal operation; ``failure``
    says what went wrong when there is no exception to tell.
    """
    slot.released = True
    slot.expected = expected
    slot.failure = failure
    fairy.invalidate(exc)
