"""Running test code in threads so that a failure in any of them fails the test.

A plain ``threading.Thread`` swallows its target's exception (it only prints
it): a test whose workers all fail would pass. Every thread started here
returns its Django connections when it ends (``connections.close_all()``), as
a request handler does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connections

T = TypeVar("T")


class ThreadFailed(AssertionError):
    """One or more threads raised, or did not end in time."""


def run_threads(targets: Sequence[Callable[[], T]], timeout: float = 60, *,
                return_connections: bool = True) -> list[T]:
    """Run each target in a thread of its own, all at once; return their
    results in the targets' order. Raises ThreadFailed, listing every error,
    when any target raised or any thread is still running after ``timeout``
    seconds. ``return_connections=False`` leaves the threads' Django
    connections as the targets left them (for tests of what returns them)."""
    results: list[Any] = [None] * len(targets)
    errors: list[tuple[int, BaseException]] = []
    lock = threading.Lock()

    def run(index: int, target: Callable[[], T]) -> None:
        try:
            results[index] = target()
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            with lock:
                errors.append((index, exc))
        finally:
            if return_connections:
                connections.close_all()

    threads = [threading.Thread(target=run, args=(index, target), name=f"test-worker-{index}")
               for index, target in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if errors or stuck:
        errors.sort(key=lambda pair: pair[0])
        lines = [f"thread {index}: {type(exc).__name__}: {exc}" for index, exc in errors]
        if stuck:
            lines.append(f"still running after {timeout} s: {', '.join(stuck)}")
        failure = ThreadFailed(f"{len(errors)} of {len(threads)} threads failed"
                               + (", some did not end" if stuck else "") + ":\n"
                               + "\n".join(lines))
        raise failure from (errors[0][1] if errors else None)
    return results


def run_in_thread(target: Callable[..., T], *args: Any, timeout: float = 60,
                  return_connections: bool = True) -> T:
    """Run ``target(*args)`` in a thread of its own (its own Django
    connections) and wait for it; what it raised is raised here."""
    try:
        return run_threads([lambda: target(*args)], timeout,
                           return_connections=return_connections)[0]
    except ThreadFailed as failure:
        if failure.__cause__ is not None:
            raise failure.__cause__ from None
        raise
