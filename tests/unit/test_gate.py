"""The fair waiting line (no server): capacity, arrival order, timeouts, interruptions."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from mysqlpool.pool.gate import FairGate


def test_capacity_is_never_exceeded():
    gate = FairGate(3)
    assert [gate.try_enter() for _ in range(4)] == [True, True, True, False]
    assert gate.enter(0.01) is False
    gate.leave()
    assert gate.try_enter() is True
    assert gate.free == 0


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
        while gate.waiting < len(threads):  # each is in line before the next comes
            time.sleep(0.001)
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
