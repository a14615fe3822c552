"""Fair waiting: at most ``capacity`` checkouts at a time, granted in arrival order."""

from __future__ import annotations

import collections
import threading


class FairGate:
    """At most ``capacity`` checkouts at a time, granted in arrival order.

    SQLAlchemy's queue wakes a waiter when a connection comes back, but the
    thread that returned it still holds the GIL and usually takes it straight
    back for its next request. Under saturation (more threads than
    connections) some waiters then starve until their timeout. Here a freed
    slot is handed to the longest-waiting thread instead.
    """

    __slots__ = ("_lock", "_free", "_waiters")

    def __init__(self, capacity: int) -> None:
        self._lock = threading.Lock()
        self._free = capacity
        self._waiters: collections.deque = collections.deque()

    def try_enter(self) -> bool:
        """Take a free slot if nobody is waiting for one."""
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            return False

    def enter(self, timeout: float) -> bool:
        """Wait in line for a slot; False after ``timeout`` seconds."""
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        try:
            if turn.acquire(timeout=timeout):
                return True
        except BaseException:  # interrupted (KeyboardInterrupt, ...): don't keep a slot
            if not self._withdraw(turn):
                self.leave()
            raise
        return not self._withdraw(turn)  # or handed a slot just as the wait ended

    def _withdraw(self, turn: threading.Lock) -> bool:
        """Step out of line; False when a slot was already handed to ``turn``."""
        with self._lock:
            try:
                self._waiters.remove(turn)
            except ValueError:
                return False
            return True

    def leave(self) -> None:
        """Give the slot to the first waiter, or back to the free ones."""
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1

    @property
    def free(self) -> int:
        """Slots free now (for stats and tests)."""
        return self._free

    @property
    def waiting(self) -> int:
        """Threads waiting in line now."""
        return len(self._waiters)
