"""How a connection comes back: cleaned up, then parked for its wrapper,
handed to the first thread in line, put back into SQLAlchemy's pool, or
closed (a part of ConnectionPool)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import statements
from ..drivers import Driver
from ..metrics import Observer
from .checkout import PooledConnection, invalidate
from .gate import FairGate
from .liveness import keep_poller
from .stats import PoolStats

#: What a return does with its connection (Returns._clean).
_ENDED, _CHECK_IN, _PARK = range(3)


class Returns:
    """The return part of ConnectionPool (pool/base.py)."""

    driver: Driver
    retired: bool
    stats: PoolStats
    observer: Observer | None
    gate: FairGate | None
    entries: list[PooledConnection]
    _entries_lock: threading.Lock
    _ended_checkouts: int
    #: Whether a clean connection may stay parked (a pool that keeps idle ones).
    _parks: bool
    #: pool_size: the most connections parked (inf: no limit).
    _keep: float
    # What the observer reads of the pool (metrics.figures.Measured).
    alias: str
    metric_attributes: Mapping[str, str]

    if TYPE_CHECKING:
        def snapshot(self) -> dict[str, Any]: ...

        def metric_figures(self) -> dict[str, Any]: ...

    def slot_freed(self) -> None:
        """A checkout has ended (however): its slot goes to the next in line."""
        if self.gate is not None:
            self.gate.leave()

    def finish(self, entry: PooledConnection, autocommit: bool) -> bool:
        """A use of ``entry`` ends: nothing of it may reach the next. True when
        the connection stays parked for its wrapper's next use."""
        if entry.fairy is None or entry.parked:
            return False  # already returned, or inherited through fork()
        now = time.monotonic()
        if self.observer is not None:
            self.observer.used(self, now - entry.checked_out_at)
        try:
            outcome = self._clean(entry, autocommit, now)
        except BaseException:
            # Interrupted mid-return (KeyboardInterrupt, gevent.Timeout): the
            # session's state is unknown, so the connection is closed.
            if entry.fairy is not None:
                self.end(entry, failure="its return was interrupted")
            raise
        if outcome == _PARK:
            slot = entry.slot
            slot.last_used = now
            if slot.poller is None:  # once per connection
                keep_poller(self.driver, entry.connection, slot)
            self._park(entry)
            return True
        if outcome == _CHECK_IN:
            self.check_in(entry, used_until=now)
        return False

    def _clean(self, entry: PooledConnection, autocommit: bool, now: float) -> int:
        """Leave nothing of the use behind; say what becomes of the connection."""
        if entry.broken:
            self.end(entry, failure=entry.broken)
            return _ENDED
        if self.retired:
            self.end(entry, expected="its pool was closed or its settings changed")
            return _ENDED
        connection, driver, effects = entry.connection, self.driver, entry.effects
        try:
            if effects == statements.SESSION:
                if not driver.reset_session(connection):
                    self.end(entry, expected="a statement changed its session")
                    return _ENDED
                # Reset: the next use sets the session up again.
                entry.slot.session_state = None
                return _CHECK_IN
            in_transaction = (driver.in_transaction(connection)
                              if driver.reports_transaction_state else None)
            if in_transaction is None:
                in_transaction = effects == statements.TRANSACTION or not autocommit
            if in_transaction:
                connection.rollback()
        except Exception as exc:
            self.end(entry, exc=exc)
            return _ENDED
        if entry.slot.expires <= now:
            self.stats.add("lifetime_closed")
            self.end(entry, expected="it reached its lifetime (recycle)")
            return _ENDED
        # Parked only as the wrapper will find it: in autocommit mode (its
        # next connect() does not set it again), in a pool that keeps idle
        # connections, and within pool_size; an overflow connection goes back
        # to SQLAlchemy's pool, which keeps it or closes it as it always does.
        if autocommit and self._parks and len(self.entries) <= self._keep:
            return _PARK
        return _CHECK_IN

    def _park(self, entry: PooledConnection) -> None:
        """``entry`` (claimed by the caller) is free: parked, then handed to
        the first thread in line if one waits.

        Marked free before looking for waiters, as HikariCP's requite() does:
        a thread that starts waiting meanwhile either is seen here or finds
        the connection parked when it looks, so no wakeup is lost.
        """
        entry.ready = True
        entry.parked = True
        entry.claim.release()
        gate = self.gate
        while gate is not None and gate.waiters:
            if not entry.claimed():
                return  # taken over meanwhile
            entry.in_use_by = None  # on its way to another thread
            if gate.hand_over(entry):
                return
            entry.parked = True
            entry.claim.release()

    def repark(self, entry: PooledConnection) -> None:
        """Park again a connection claimed only to be looked at."""
        self._park(entry)

    def give_back(self, entry: PooledConnection) -> None:
        """A claimed, clean connection nobody here will use: to the first
        thread in line, else back into SQLAlchemy's pool."""
        entry.in_use_by = None  # on its way to another thread, or into the pool
        if self.gate is not None and self.gate.hand_over(entry):
            return
        self.check_in(entry)

    def check_in(self, entry: PooledConnection, used_until: float | None = None) -> None:
        """Back into SQLAlchemy's pool (which keeps it, or closes an overflow
        one); ``used_until`` is when its use ended, if it just did."""
        fairy, entry.fairy = entry.fairy, None
        self._forget(entry)
        slot = entry.slot
        if used_until is not None:
            slot.last_used = used_until
        slot.released = True
        try:
            fairy.close()
        finally:
            # Only now: the next waiter finds the connection back in the pool.
            self.slot_freed()

    def end(self, entry: PooledConnection, exc: BaseException | None = None,
            expected: str | None = None, failure: str | None = None,
            free_slot: bool = True) -> None:
        """Close ``entry``'s connection; its slot goes to the next in line
        unless ``free_slot`` is False (the caller reconnects in it)."""
        fairy, entry.fairy = entry.fairy, None
        if fairy is None:
            return
        self._forget(entry)
        try:
            invalidate(fairy, entry.slot, exc, expected=expected, failure=failure)
        finally:
            if free_slot:
                self.slot_freed()

    def _forget(self, entry: PooledConnection) -> None:
        """``entry`` is back in SQLAlchemy's pool (or closed): no longer held."""
        with self._entries_lock:
            try:
                self.entries.remove(entry)
            except ValueError:
                return
            self._ended_checkouts += entry.checkouts
        threads = entry.thread_set() if entry.thread_set is not None else None
        if threads is not None:
            threads.discard(entry)
