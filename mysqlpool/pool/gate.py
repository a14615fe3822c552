"""Fair waiting: at most ``capacity`` checkouts at a time, granted in arrival order."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any


class Turn:
    """One thread's place in line: released when a slot (and, with it, maybe a
    connection, the ``payload``) is handed to it."""

    __slots__ = ("lock", "payload")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.payload: Any = None


class FairGate:
    """At most ``capacity`` checkouts at a time, granted in arrival order.

    SQLAlchemy's queue wakes a waiter when a connection comes back, but the
    thread that returned it still holds the GIL and usually takes it straight
    back for its next request. Under saturation (more threads than
    connections) some waiters then starve until their timeout. Here a freed
    slot is handed to the longest-waiting thread instead, with the connection
    itself when the returning thread has one to give (``hand_over``).

    A thread that must wait registers first, then looks for a connection it
    may take over (``register``, then the pool's own search, then ``wait``):
    a return that happens meanwhile sees it waiting and hands over, so no
    wakeup is lost (HikariCP's ConcurrentBag counts its waiters first for the
    same reason).
    """

    __slots__ = ("_lock", "_free", "waiters")

    def __init__(self, capacity: int) -> None:
        self._lock = threading.Lock()
        self._free = capacity
        #: The threads in line, first first. Changed under the lock only; read
        #: without it (a deque's length is read atomically) by a return that
        #: looks for a waiter after marking its connection free.
        self.waiters: collections.deque[Turn] = collections.deque()

    def try_enter(self) -> bool:
        """Take a free slot if nobody is waiting for one."""
        with self._lock:
            if self._free > 0 and not self.waiters:
                self._free -= 1
                return True
            return False

    def register(self) -> Turn | None:
        """Take a free slot (None), or a place at the end of the line."""
        with self._lock:
            if self._free > 0 and not self.waiters:
                self._free -= 1
                return None
            turn = Turn()
            self.waiters.append(turn)
            return turn

    def wait(self, turn: Turn, timeout: float,
             give_back: Callable[[Any], None] | None = None) -> bool:
        """Wait for ``turn``; False after ``timeout`` seconds (out of line then).
        On True the slot is the caller's, with ``turn.payload`` if one came.
        Interrupted (KeyboardInterrupt, gevent.Timeout) after a slot was
        handed over, it gives the slot back, and ``give_back(payload)`` the
        payload."""
        try:
            if turn.lock.acquire(timeout=timeout):
                return True
        except BaseException:
            if not self.withdraw(turn):
                if turn.payload is None or give_back is None:
                    self.leave()
                else:
                    give_back(turn.payload)
            raise
        return not self.withdraw(turn)  # or handed a slot just as the wait ended

    def withdraw(self, turn: Turn) -> bool:
        """Step out of line; False when a slot was already handed to ``turn``."""
        with self._lock:
            try:
                self.waiters.remove(turn)
            except ValueError:
                return False
            return True

    def enter(self, timeout: float) -> bool:
        """Wait in line for a slot (a plain one: any payload is for the caller
        of register()/wait()); False after ``timeout`` seconds."""
        turn = self.register()
        return True if turn is None else self.wait(turn, timeout)

    def hand_over(self, payload: Any) -> bool:
        """Give a slot, with ``payload``, to the first waiter; False when nobody waits."""
        with self._lock:
            if not self.waiters:
                return False
            turn = self.waiters.popleft()
            turn.payload = payload
            turn.lock.release()
            return True

    def leave(self) -> None:
        """Give the slot to the first waiter, or back to the free ones."""
        with self._lock:
            if self.waiters:
                self.waiters.popleft().lock.release()
            else:
                self._free += 1

    @property
    def free(self) -> int:
        """Slots free now (for stats and tests)."""
        return self._free

    @property
    def waiting(self) -> int:
        """Threads waiting in line now."""
        return len(self.waiters)
