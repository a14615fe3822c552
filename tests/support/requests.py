"""One request as Django's handler runs it around a view."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started

T = TypeVar("T")


def request(work: Callable[[], T]) -> T:
    """What Django's handler does around a view: ``request_started``, the
    work, ``request_finished`` (which returns this thread's connections to
    their pools: the next request takes the same one, LIFO). Returns what the
    work returned; what it raised is raised, after ``request_finished``."""
    request_started.send(sender=WSGIHandler, environ={})
    try:
        return work()
    finally:
        request_finished.send(sender=WSGIHandler)
