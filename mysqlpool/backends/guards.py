"""Checks a pooled wrapper makes where Django makes them, without their cost
in the common case: Django's @async_unsafe, and who calls close_pool()."""

from __future__ import annotations

import os
import sys
from asyncio import _get_running_loop
from typing import TYPE_CHECKING

from django.core.exceptions import SynchronousOnlyOperation
from django.db.backends.base.base import BaseDatabaseWrapper

if TYPE_CHECKING:
    from types import FrameType

#: Celery's Django fixup, which calls close_pool() around every task.
CELERY_FIXUP = "celery.fixups.django"


def called_from_celery_fixup() -> bool:
    """Whether close_pool() was called by Celery's Django fixup (directly, or
    through a subclass's close_pool() calling this one)."""
    frame: FrameType | None = sys._getframe(2)
    for _ in range(3):
        if frame is None:
            return False
        if frame.f_globals.get("__name__") == CELERY_FIXUP:
            return True
        frame = frame.f_back
    return False


#: Django's ensure_connection() without its @async_unsafe wrapper.
django_ensure_connection = BaseDatabaseWrapper.ensure_connection.__wrapped__  # type: ignore[attr-defined]


def refuse_in_event_loop() -> None:
    """Django's @async_unsafe check, without the exception that
    asyncio.get_running_loop() raises and Django catches on every call made
    where no event loop runs (the common case)."""
    if _get_running_loop() is not None and not os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE"):
        raise SynchronousOnlyOperation(
            "You cannot call this from an async context - use a thread or sync_to_async.")
