"""The fair waiting line (no server): capacity, arrival order, timeouts, interruptions."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from mysqlpool.pool.gate import FairGate
from tests.support.waiting import wait_for


def test_capacity_is_never_exceeded():
    gate = FairGate(3)
    assert [gate.try_enter() for _ in range(4)] == [True, True, True, False]
    assert gate.enter(0.01) is False
    gate.leave()
    assert gate.try_enter() is True
    assert gate.free == 0


# capacity, then steps: (call, what it returns, free slots after it). A call of
# enter that fails waits its timeout, 10 ms.
STEPS: list[tuple[int, list[tuple[str, bool | None, int]]]] = [
    (1, [("enter", True, 0), ("enter", False, 0), ("try_enter", False, 0),
         ("leave", None, 1), ("enter", True, 0)]),
    (2, [("enter", True, 1), ("try_enter", True, 0), ("enter", False, 0),
         ("leave", None, 1), ("leave", None, 2)]),
    (3, [("enter", True, 2), ("enter", True, 1), ("enter", True, 0), ("leave", None, 1),
         ("leave", None, 2), ("leave", None, 3)]),
]


@pytest.mark.parametrize(("capacity", "steps"), STEPS)
def test_enter_and_leave_count_the_free_slots(capacity: int,
                                               steps: list[tuple[str, bool | None, int]]) -> None:
    gate = FairGate(capacity)
    calls = {"enter": lambda: gate.enter(0.01), "try_enter": gate.try_enter,
             "leave": gate.leave}
    for number, (call, returned, free) in enumerate(steps):
        assert (calls[call](), gate.free) == (returned, free), f"step {number}: {call}"
    assert gate.waiting == 0


def test_waiters_are_served_in_arrival_order():
    gate = FairGate(1)
    assert gate.try_enter()
    order = []

    def wait(name):
        assert gate.enter(10)
        order.append(name)
        gate.leave()

    threads = []
    for name in "abcde":
        thread = threading.Thread(target=wait, args=(name,))
        thread.start()
        threads.append(thread)
        # Each is in line before the next comes.
        wait_for(lambda: gate.waiting == len(threads), 10, f"waiter {name} not in line",
                 interval=0.001)
    # A newcomer does not jump the line, even with a slot about to free up.
    assert gate.try_enter() is False
    gate.leave()
    for thread in threads:
        thread.join(10)
    assert order == list("abcde")
    assert gate.free == 1 and gate.waiting == 0


def test_a_timed_out_waiter_leaves_the_line_and_takes_no_slot():
    gate = FairGate(1)
    assert gate.try_enter()
    start = time.monotonic()
    assert gate.enter(0.05) is False
    assert time.monotonic() - start >= 0.05
    assert gate.waiting == 0
    gate.leave()
    assert gate.free == 1


class Interrupted(BaseException):
    pass


@pytest.mark.parametrize("slot_handed_first", [False, True])
def test_an_interrupted_wait_keeps_no_slot(slot_handed_first):
    """KeyboardInterrupt (here: a signal handler raising) while waiting: the
    slot, if one was handed over just then, goes back, and the line moves on."""
    gate = FairGate(1)
    assert gate.try_enter()

    def interrupt(signum, frame):
        if slot_handed_first:
            gate.leave()  # the holder leaves: the slot goes to the waiter...
        raise Interrupted()  # ...which is interrupted before it knows

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(Interrupted):
            gate.enter(10)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if not slot_handed_first:
        gate.leave()  # the holder leaves afterwards
    assert gate.waiting == 0
    assert gate.free == 1


def test_an_interrupted_waiter_leaves_the_one_before_it_in_line():
    """The waiter interrupted steps out of line; the one before it keeps
    waiting until the holder leaves, and the capacity holds meanwhile."""
    gate = FairGate(1)
    assert gate.try_enter()
    entered = threading.Event()

    def first_in_line():
        if gate.enter(10):
            entered.set()
            gate.leave()

    thread = threading.Thread(target=first_in_line, daemon=True)
    thread.start()
    wait_for(lambda: gate.waiting == 1, 10, "the first waiter not in line", interval=0.001)

    def interrupt(signum, frame):
        raise Interrupted()

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(Interrupted):
            gate.enter(10)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # The slot is still held: the first in line must not be let in yet.
    assert not entered.wait(0.05)
    assert gate.waiting == 1 and gate.free == 0
    gate.leave()
    thread.join(10)
    assert entered.is_set()
    assert gate.free == 1 and gate.waiting == 0
