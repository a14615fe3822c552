"""Several threads holding pooled connections at the same time."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connections

from tests.conftest import connection_id
from tests.support.threads import ThreadFailed


@contextlib.contextmanager
def held(alias: str, count: int, measure: Callable[[str], Any] = connection_id,
         timeout: float = 60) -> Iterator[list]:
    """``count`` threads each take a connection of ``alias`` and hold it until
    the block ends; yields what ``measure(alias)`` gave in each (by default
    their CONNECTION_ID()s, all different when the pool can give ``count``).
    Any thread's error fails the test, at the start of the block or at its end."""
    all_holding = threading.Barrier(count + 1, timeout=timeout)
    release = threading.Event()
    values: list = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def hold() -> None:
        try:
            value = measure(alias)
            with lock:
                values.append(value)
            all_holding.wait()
            release.wait(timeout)
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)
            all_holding.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hold, name=f"holder-{index}") for index in range(count)]
    for thread in threads:
        thread.start()
    try:
        try:
            all_holding.wait()
        except threading.BrokenBarrierError:
            pass  # a holder failed: reported below
        if not errors:
            yield list(values)
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout)
    if errors:
        raise ThreadFailed(f"{len(errors)} of {count} holders of {alias!r} failed: "
                           + "; ".join(f"{type(e).__name__}: {e}" for e in errors)
                           ) from errors[0]


def hold_concurrently(alias: str, count: int, timeout: float = 60,
                      measure: Callable[[str], Any] = connection_id) -> list:
    """Have ``count`` threads hold a connection of ``alias`` at the same time;
    return what ``measure(alias)`` gave in each."""
    with held(alias, count, measure, timeout) as values:
        return values
