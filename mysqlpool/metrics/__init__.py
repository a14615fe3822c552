"""Pool metrics for OpenTelemetry and Prometheus, at no cost for those who use neither.

A pool reports to an *observer* (None when no exporter is in use, and the
pool then skips every measurement): the time to open a connection, to get one
(waiting included), and how long it was held. Counts (idle, used, waiting,
limits) and counters are read from the pools when an exporter asks
(OpenTelemetry's observable instruments) or on the housekeeping thread's
rounds (Prometheus, whose multi-process mode keeps values in files).

- ``opentelemetry``: when ``opentelemetry-api`` is importable and
  ``MYSQLPOOL_OPENTELEMETRY`` is not False; it uses the global MeterProvider
  the application sets, whenever it sets it.
- ``prometheus``: when ``MYSQLPOOL_PROMETHEUS = True`` and
  ``prometheus_client`` is installed.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .figures import Measured
from .locks import lock


class Observer(Protocol):
    """What a pool tells an exporter; every method must be cheap and never raise."""

    def connected(self, pool: Measured, seconds: float) -> None: ...
    def waited(self, pool: Measured, seconds: float) -> None: ...
    def used(self, pool: Measured, seconds: float) -> None: ...
    def publish(self, pool: Measured) -> None: ...


class _Both:
    """Several observers as one."""

    def __init__(self, observers: list[Observer]) -> None:
        self.observers = observers

    def connected(self, pool: Measured, seconds: float) -> None:
        for observer in self.observers:
            observer.connected(pool, seconds)

    def waited(self, pool: Measured, seconds: float) -> None:
        for observer in self.observers:
            observer.waited(pool, seconds)

    def used(self, pool: Measured, seconds: float) -> None:
        for observer in self.observers:
            observer.used(pool, seconds)

    def publish(self, pool: Measured) -> None:
        for observer in self.observers:
            observer.publish(pool)


_observers: dict[tuple, Any] = {}


def observer() -> Observer | None:
    """The observer for new pools, per the settings; None when nothing exports."""
    choice = (_opentelemetry_on(), _prometheus_on())
    if choice in _observers:
        return _observers[choice]
    with lock("observers"):
        if choice not in _observers:
            found: list[Observer] = []
            if choice[0]:
                from .opentelemetry import OpenTelemetryObserver

                found.append(OpenTelemetryObserver.instance())
            if choice[1]:
                from .prometheus import PrometheusObserver

                found.append(PrometheusObserver.instance())
            _observers[choice] = (None if not found else found[0] if len(found) == 1
                                  else _Both(found))
    return _observers[choice]


def _opentelemetry_on() -> bool:
    wanted = getattr(settings, "MYSQLPOOL_OPENTELEMETRY", True)
    if not isinstance(wanted, bool):
        raise ImproperlyConfigured(
            f"MYSQLPOOL_OPENTELEMETRY = {wanted!r}: must be True (report pool metrics "
            "when opentelemetry-api is installed, the default) or False."
        )
    return wanted and importlib.util.find_spec("opentelemetry") is not None and \
        importlib.util.find_spec("opentelemetry.metrics") is not None


def _prometheus_on() -> bool:
    wanted = getattr(settings, "MYSQLPOOL_PROMETHEUS", False)
    if not isinstance(wanted, bool):
        raise ImproperlyConfigured(
            f"MYSQLPOOL_PROMETHEUS = {wanted!r}: must be True (publish pool metrics with "
            "prometheus_client) or False (the default)."
        )
    if wanted and importlib.util.find_spec("prometheus_client") is None:
        raise ImproperlyConfigured(
            "MYSQLPOOL_PROMETHEUS = True, but prometheus_client is not installed. Install "
            "it with pip install prometheus_client, or set MYSQLPOOL_PROMETHEUS = False."
        )
    return wanted
