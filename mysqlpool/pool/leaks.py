"""``leak_warning_after``: report connections held for too long, with the stack
that checked them out (run by the housekeeping thread)."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterable

from .checkout import PooledConnection

logger = logging.getLogger("mysqlpool")


def report(alias: str, in_use: Iterable[PooledConnection], threshold: float) -> None:
    """Warn once about each checkout held longer than ``threshold`` seconds."""
    now = time.monotonic()
    for checkout in in_use:
        if not checkout.leak_reported and now - checkout.checked_out_at > threshold:
            checkout.leak_reported = True
            logger.warning(
                "A connection of %r has been checked out for %.1f s "
                "(leak_warning_after=%s). It was checked out at:\n%s",
                alias, now - checkout.checked_out_at, threshold,
                "".join(traceback.format_list(checkout.stack or [])),
            )
