"""What a statement may leave behind: now :mod:`mysqlpool.statements`.

Kept so that ``from . import session`` in pool.py works unchanged until its
import moves to ``statements``; nothing else should import this module.
"""

from __future__ import annotations

from .statements import CLEAN, SESSION, TRANSACTION, classify

__all__ = ["CLEAN", "SESSION", "TRANSACTION", "classify"]
