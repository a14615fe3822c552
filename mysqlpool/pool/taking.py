"""How a connection is taken out of the pool: the one this thread's wrapper
parked, a free slot's (an idle connection that passes the liveness check, or
a new one), one taken over from a wrapper that parked it, or one handed over
after a wait in line (a part of ConnectionPool)."""

from __future__ import annotations

import logging
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

from django.db.utils import OperationalError
from sqlalchemy import exc as sa_exc

from .checkout import PooledConnection
from .gate import Turn
from .liveness import idle_problem
from .returns import Returns
from .slot import KEY, Slot
from .state import PoolState
from .threads import thread_checkouts
from .watchdog import PingTimeout

logger = logging.getLogger("mysqlpool")

#: The modules a new connection's call goes through from the checkout to the
#: driver: SQLAlchemy's pool, this module's, base.py's (the pool's creator)
#: and connecting.py's.
_CONNECT_PATH = ("sqlalchemy.", __name__, f"{__package__}.base",
                 f"{__package__}.connecting")


def _drop_frames_to_driver(traceback: TracebackType | None) -> None:
    """Unlink from ``traceback`` (in place), between its first frame (the
    checkout) and its last (where the error was raised), the frames of
    :data:`_CONNECT_PATH`: the exception keeps its class, message and cause,
    and its traceback goes from the checkout straight to the driver's connect."""
    kept = traceback
    while kept is not None and kept.tb_next is not None:
        following = kept.tb_next
        module = following.tb_frame.f_globals.get("__name__", "")
        if (following.tb_next is not None  # the frame that raised it stays
                and (module in _CONNECT_PATH or module.startswith(_CONNECT_PATH[0]))):
            kept.tb_next = following.tb_next
        else:
            kept = following


class PoolTimeout(OperationalError):
    """No pooled connection became free within the pool's ``timeout``."""


class Taking(Returns, PoolState):
    """The checkout part of ConnectionPool (pool/base.py)."""

    retired: bool
    abandoned: bool
    #: When (time.time()) the last failover was concluded.
    failed_over_at: float
    _timeout: float

    if TYPE_CHECKING:
        def fail_over(self, why: str, opened_at: float) -> None: ...

    def checkout(self, owner: Any = None) -> PooledConnection:
        """Take a live connection; raise PoolTimeout when none frees up in time."""
        started = time.monotonic()
        try:
            entry = self._take()
        except self.driver.dbapi.Error as exc:
            # The server refused a new connection (a wrong password, a server
            # down): the driver's error, raised through SQLAlchemy's pool and
            # this one's, whose frames say nothing about it.
            _drop_frames_to_driver(exc.__traceback__)
            raise
        now = time.monotonic()
        entry.begin(owner, now)
        if self.observer is not None:
            self.observer.waited(self, now - started)
        return entry

    def reclaim(self, entry: PooledConnection, owner: Any) -> bool:
        """Take back the connection ``owner`` parked, if it is still free and
        usable (the wrapper's next connect(): nothing to set up again)."""
        if not entry.claimed():
            return False  # taken over by another thread meanwhile, or gone
        if self.retired:
            self.end(entry, expected="its pool was closed or its settings changed")
            return False
        if entry.owner is None or entry.owner() is not owner:
            # Parked since by another wrapper (it took it over and gave it
            # back): not this wrapper's to resume, and free for anyone.
            self._park(entry)
            return False
        now = time.monotonic()
        slot = entry.slot
        poller = slot.poller
        ping_after_idle = self.config.ping_after_idle
        # Certainly usable by the cheapest checks alone (else the full check,
        # which says why, or passes it): not behind a replica or older than
        # a failover, within its lifetime, not due a ping, the same socket
        # as when it was parked and nothing to read on it.
        if not (poller is not None and poller[1] is not None
                and slot.host is None and slot.opened_at >= self.failed_over_at
                and slot.expires > now
                and (ping_after_idle is None
                     or now - slot.last_used <= ping_after_idle)  # type: ignore[operator]
                and self.driver.socket_state(entry.connection) == poller[0]
                and not poller[1]()):
            if self._problem(entry, now, free_slot=True) is not None:
                return False
        entry.resume(now)
        if self.observer is not None:
            self.observer.waited(self, time.monotonic() - now)
        return True

    def _take(self) -> PooledConnection:
        """A connection in use by the caller: a free slot's, else one taken
        over from a wrapper that parked it, else one handed over after a
        wait in line."""
        entry = self._own_parked()
        if entry is not None:
            return entry
        gate = self.gate
        if gate is None:
            return self._open_slot()
        if gate.try_enter():
            return self._free_slot()
        turn = gate.register()
        if turn is None:
            return self._free_slot()
        try:
            entry = self._take_over_parked()
        except BaseException:
            # A dead parked connection whose replacement could not be opened
            # (the server refused it, a ping timed out): out of line, or the
            # slot a return handed over meanwhile would go with this error.
            if not gate.withdraw(turn):
                self._return_turn(turn)
            raise
        if entry is not None:
            if not gate.withdraw(turn):
                self._return_turn(turn)  # handed something just now: not needed
            return entry
        start = time.monotonic()
        try:
            entered = gate.wait(turn, self._timeout, give_back=self.give_back)
        finally:
            waited = time.monotonic() - start
            with self.stats.lock:
                self.stats.waits += 1
                self.stats.wait_time += waited
        if not entered:
            self._timed_out()
        handed = turn.payload
        # A connection handed over was in use a moment ago: nothing to check.
        return handed if handed is not None else self._open_slot()

    def _free_slot(self) -> PooledConnection:
        """A connection for the caller, who holds a free slot: an idle one of
        SQLAlchemy's pool, else one that another wrapper parked (which brings
        its own slot: the caller's goes back), else a new one.

        A parked connection before a new one, as HikariCP takes another
        thread's idle connection before it adds one: a process holds as many
        connections as its threads use at once, not one more per thread that
        ever ran a request (a thread that comes back to a connection taken
        over takes another, or opens one then).
        """
        if not self._parks or self.sa_pool.checkedin():
            return self._open_slot()
        try:
            entry = self._take_over_parked()
        except BaseException:
            self.slot_freed()  # the caller's, as the error goes up
            raise
        if entry is None:
            return self._open_slot()
        self.slot_freed()
        return entry

    def _own_parked(self) -> PooledConnection | None:
        """A connection of this pool that another wrapper of this thread
        parked (a copy of the alias's wrapper, one made by
        connections.create_connection()): this thread's to use first."""
        for entry in tuple(thread_checkouts()):
            if entry.pool is self and entry.parked and entry.claimed():
                if self._problem(entry, time.monotonic(), free_slot=False) is None:
                    return entry
                return self._open_slot()  # in the slot of the one just closed
        return None

    def _take_over_parked(self) -> PooledConnection | None:
        """A parked connection nobody is using, claimed for the caller."""
        for entry in tuple(self.entries):
            if entry.parked and entry.claimed():
                if self._problem(entry, time.monotonic(), free_slot=False) is None:
                    return entry
                return self._open_slot()  # in the slot of the one just closed
        return None

    def _return_turn(self, turn: Turn) -> None:
        """What a waiter was handed after all but does not need: to the next."""
        if turn.payload is None:
            self.slot_freed()
        else:
            self.give_back(turn.payload)

    def _open_slot(self) -> PooledConnection:
        """A connection from SQLAlchemy's pool for the slot the caller holds:
        an idle one that passes the liveness check, or a new one. Each pass
        either accepts a connection or closes an unusable one, whose slot
        then reconnects."""
        for _ in range(len(self.entries) + (self._capacity or 0) + 2):
            try:
                fairy = self.sa_pool.connect()
            except sa_exc.TimeoutError:
                self.slot_freed()
                self._timed_out()
            except BaseException:
                self.slot_freed()
                raise
            slot: Slot = fairy.info[KEY]
            slot.released = False
            entry = PooledConnection(self, fairy, slot)
            with self._entries_lock:
                self.entries.append(entry)
            if slot.last_used is None:  # fresh from connect()
                return entry
            if self._problem(entry, time.monotonic(), free_slot=False) is None:
                return entry
        self.slot_freed()
        raise OperationalError(
            f"Could not get a live connection for database alias {self.alias!r}: "
            "every pooled connection tried was closed by the server"
        )

    def _problem(self, entry: PooledConnection, now: float, *, free_slot: bool) -> str | None:
        """Why an idle connection cannot be handed out (it is then closed,
        its slot freed or kept for the caller), or None."""
        slot = entry.slot
        behind = slot.host is not None and self.opener.replicas.behind(slot.host)
        if slot.opened_at < self.failed_over_at:
            problem: tuple[str, bool] | None = ("it was opened before a failover", False)
        elif behind:
            self.stats.add("behind_closed")
            self.end(entry, expected=f"its replica is behind ({behind})", free_slot=free_slot)
            return behind
        else:
            try:
                problem = idle_problem(self.driver, entry.connection, slot, now, self.config)
            except PingTimeout:
                self._ping_timed_out(entry)
        if problem is None:
            return None
        why, expected = problem
        if expected:
            self.stats.add("lifetime_closed")
            self.end(entry, expected=why, free_slot=free_slot)
        else:
            self.end(entry, exc=sa_exc.DisconnectionError(why), free_slot=free_slot)
        return why

    def _ping_timed_out(self, entry: PooledConnection) -> NoReturn:
        # A server that answers no ping would hold a new connection as long:
        # fail now rather than wait for a connect timeout.
        self.stats.add("ping_timeouts")
        self.end(entry, failure=f"no answer to a ping within "
                 f"ping_timeout={self.config.ping_timeout} s")
        raise OperationalError(
            f"The server of database alias {self.alias!r} did not answer a ping within "
            f"{self.config.ping_timeout} s (ping_timeout); the connection was closed. "
            "The server may be frozen or unreachable."
        )

    def try_take_slot(self) -> bool:
        """A slot for housekeeping's own use (closing or opening a connection),
        only if one is free and no checkout is waiting; give it back with
        slot_freed()."""
        return self.gate is None or self.gate.try_enter()

    def _timed_out(self) -> NoReturn:
        self.stats.add("timeouts")
        # The PoolTimeout says it all to the application; the pool's state
        # (SQLAlchemy's count of its connections) is for debugging.
        logger.debug("Pool for %r exhausted: %s", self.alias, self.describe())
        raise PoolTimeout(
            f"No connection for database alias {self.alias!r} became free within "
            f"{self._timeout} s: all {self.checked_out()} connections are "
            f"checked out (pool_size={self.config.pool_size}, "
            f"max_overflow={self.config.max_overflow}). Close connections sooner "
            "(connections.close_all(), @auto_close_db), or raise pool_size, "
            f"max_overflow or timeout in DATABASES[{self.alias!r}]['OPTIONS']['pool'] "
            "(or in MYSQLPOOL_ARGUMENTS, for every alias)."
        ) from None
