"""``leak_warning_after``: report connections held for too long, with the stack
that checked them out."""

from __future__ import annotations

import logging
import threading
import time
import traceback
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import ConnectionPool

logger = logging.getLogger("mysqlpool")


def watch(pool: ConnectionPool, threshold: float) -> threading.Thread:
    """Start a daemon thread that warns about ``pool``'s long-held connections;
    it ends with the pool."""
    pool_ref = weakref.ref(pool)

    def run() -> None:
        while True:
            time.sleep(min(threshold / 2, 5.0))
            watched = pool_ref()
            if watched is None or watched.retired:
                return
            report(watched, threshold)
            del watched

    thread = threading.Thread(target=run, name=f"mysqlpool-leaks-{pool.alias}", daemon=True)
    thread.start()
    return thread


def report(pool: ConnectionPool, threshold: float) -> None:
    """Warn once about each checkout held longer than ``threshold`` seconds."""
    now = time.monotonic()
    for checkout in pool.checked_out_now():
        if not checkout.leak_reported and now - checkout.checked_out_at > threshold:
            checkout.leak_reported = True
            logger.warning(
                "A connection of %r has been checked out for %.1f s "
                "(leak_warning_after=%s). It was checked out at:\n%s",
                pool.alias, now - checkout.checked_out_at, threshold,
                "".join(traceback.format_list(checkout.stack or [])),
            )
