"""Bounded waits. No Django here: the server-free unit tests use it too."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(condition: Callable[[], Any], timeout: float, message: str,
             interval: float = 0.02) -> Any:
    """Poll ``condition`` until it is true; return what it returned. Fail
    (AssertionError) after ``timeout`` seconds, with ``message``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout} s: {message}")
        time.sleep(interval)
