"""``leak_warning_after``: report connections held for too long, with the stack
that checked them out (run by the housekeeping thread)."""

from __future__ import annotations

import logging
import time
import traceback
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import ConnectionPool

logger = logging.getLogger("mysqlpool")


def report(pool: ConnectionPool, threshold: float) -> None:
    """Warn once about each checkout held longer than ``threshold`` seconds."""
    now = time.monotonic()
    for checkout in pool.in_use():
        if not checkout.leak_reported and now - checkout.checked_out_at > threshold:
            checkout.leak_reported = True
            logger.warning(
                "A connection of %r has been checked out for %.1f s "
                "(leak_warning_after=%s). It was checked out at:\n%s",
                pool.alias, now - checkout.checked_out_at, threshold,
                "".join(traceback.format_list(checkout.stack or [])),
            )
