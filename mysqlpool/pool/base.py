"""A pool of one driver's connections for one alias: SQLAlchemy's pool to open
connections and bound them, with a fair waiting line, connections parked on
the wrapper that used them between two uses, a checkout that costs no round
trip in the common case, a lifetime per connection, and the password of the
moment for new connections.

The steady state (a wrapper taking back the connection it parked) takes no
lock other than the connection's own claim and makes no system call; a
thread that would wait takes over a parked connection, and a return hands
its connection straight to the first thread in line (see taking.py,
returns.py and gate.py).
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy import pool as sa_pool_module

from .. import metrics
from ..config import PoolConfig
from ..drivers import Driver
from . import housekeeping, maintenance
from .checkout import PooledConnection
from .connecting import Opener
from .gate import FairGate
from .maintenance import RefillSchedule
from .slot import KEY, Slot
from .stats import PoolStats
from .taking import Taking
from .threads import exiting

logger = logging.getLogger("mysqlpool")

#: A connection's lifetime is shortened by up to this part, at random.
LIFETIME_JITTER = 0.10
#: Seconds after a failover during which further ones are logged at DEBUG only.
FAILOVER_QUIET = 10.0

class ConnectionPool(Taking):
    """A SQLAlchemy pool of one driver's connections, for one alias."""

    def __init__(self, alias: str, key: tuple, driver: Driver, config: PoolConfig,
                 params: Mapping[str, Any], settings_dict: Mapping[str, Any]) -> None:
        self.alias = alias
        self.key = key
        self.driver = driver
        self.config = config
        self.pid = os.getpid()
        #: Closed (close_pool(), a settings change): nothing new goes out.
        self.retired = False
        #: Inherited through fork(): none of its connections may be touched.
        self.abandoned = False
        self.stats = PoolStats()
        #: Django's server facts (version, sql_mode, ...), read once per pool.
        self.server_data: dict | None = None
        #: How new connections are opened: the password of the moment, the host.
        self.opener = Opener(alias, driver, config, params, settings_dict, self.stats)
        #: Where measurements go; None (nothing measured) without an exporter.
        self.observer = metrics.observer()
        self.metric_attributes = {"db.client.connection.pool.name": alias}
        self._connections: weakref.WeakSet = weakref.WeakSet()
        #: The connections out of SQLAlchemy's pool: in use, or parked.
        self.entries: list[PooledConnection] = []
        self._entries_lock = threading.Lock()
        #: Checkouts counted by connections that have gone back since.
        self._ended_checkouts = 0
        self.sa_pool = config.pool_class(
            self._new_connection,
            dialect=driver.dialect,
            reset_on_return=None,  # see _clean()
            **dict(config.arguments),
        )
        event.listen(self.sa_pool, "connect", self._on_connect)
        event.listen(self.sa_pool, "reset", self._on_reset)
        event.listen(self.sa_pool, "invalidate", self._on_invalidate)
        #: Pools that keep idle connections (QueuePool and its subclasses) let
        #: a clean one stay parked; others (NullPool, ...) get each one back.
        self._parks = isinstance(self.sa_pool, sa_pool_module.QueuePool)
        self._keep = config.pool_size if config.pool_size else math.inf
        self._capacity = None
        if config.pool_size and config.max_overflow is not None and config.max_overflow >= 0:
            self._capacity = config.pool_size + config.max_overflow
        self._timeout = config.timeout
        #: Bounded pools hand connections to waiters in arrival order.
        self.gate = FairGate(self._capacity) if self._capacity is not None else None
        #: When (time.time()) the last failover was concluded: connections
        #: opened before it are not handed out again.
        self.failed_over_at = 0.0
        self._failover_lock = threading.Lock()
        #: When min_size refills may be tried again after a failed one.
        self.refills = RefillSchedule()
        housekeeping.watch(self)

    def __repr__(self) -> str:
        return (
            f"<ConnectionPool alias={self.alias!r} driver={self.driver.name!r} "
            f"{self.config.pool_class.__name__} size={self.config.pool_size} "
            f"overflow={self.config.max_overflow}>"
        )

    # ----- new connections ----------------------------------------------------

    def _new_connection(self) -> Any:
        """SQLAlchemy's creator: one connection (see connecting.Opener)."""
        observer = self.observer
        if observer is None:
            return self.opener.open()
        started = time.monotonic()
        connection = self.opener.open()
        observer.connected(self, time.monotonic() - started)
        return connection

    def update_credentials(self, settings_dict: Mapping[str, Any],
                           params: Mapping[str, Any]) -> None:
        """The alias's settings resolved again (PASSWORD may have been edited)."""
        self.opener.credentials.update(settings_dict, params)

    def fail_over(self, why: str, opened_at: float) -> None:
        """Every connection opened until now is replaced at its next checkout,
        and the idle ones at once: the server they reach is no longer the one
        to use (read-only, not ready, shutting down).

        ``opened_at`` (``time.time()``) is when the connection that saw it was
        opened: a connection opened before the last failover only confirms
        that one, and must not drop the connections opened since (to the new
        primary) by moving the failover time on.
        """
        with self._failover_lock:
            previous = self.failed_over_at
            if opened_at < previous:
                return
            self.failed_over_at = now = time.time()
        self.stats.add("failovers")
        # While a switch is under way, connections opened since the last
        # failover may still reach the old server: each such error is one
        # more failover, reported once per switch.
        logger.log(logging.WARNING if now - previous > FAILOVER_QUIET else logging.DEBUG,
                   "Database alias %r: %s; replacing every connection opened before now",
                   self.alias, why)
        housekeeping.wake()  # closes the idle ones now

    # ----- SQLAlchemy's events ---------------------------------------------

    def _on_connect(self, dbapi_connection: Any, record: Any) -> None:
        self.stats.add("connects")
        self.refills.succeeded()  # the server answers again: refill at once
        self._connections.add(dbapi_connection)
        lifetime = self.config.lifetime
        expires = math.inf
        if lifetime is not None:
            # Shortened at random, so that connections opened together (a
            # deploy, a burst) are not all replaced together.
            shortened = lifetime * (1 - random.uniform(0, LIFETIME_JITTER))
            expires = time.monotonic() + shortened
        record.info[KEY] = Slot(record.starttime, expires, self.opener.host_of(dbapi_connection))
        logger.debug("New connection for %r (%s)", self.alias, self.driver.name)

    def _on_reset(self, dbapi_connection: Any, record: Any, state: Any) -> None:
        slot = record.info.get(KEY) if record is not None else None
        if slot is None or slot.released:
            return
        if self.pid != os.getpid():
            return  # the parent's connection, dropped in a forked child: leave it
        # Returned without going through the pool: the garbage collector
        # dropped a connection whose state nobody knows. Closing it makes the
        # server roll back and release its locks. At interpreter exit that is
        # how every held connection ends: no warning.
        logger.log(
            logging.DEBUG if exiting() else logging.WARNING,
            "A connection of %r was not returned to the pool (its thread ended or "
            "it was garbage collected); closing it", self.alias,
        )
        slot.released = True
        record.invalidate()
        self.slot_freed()  # its slot at the gate too, or the pool shrinks for good

    def _on_invalidate(self, dbapi_connection: Any, record: Any, exception: Any) -> None:
        self.stats.add("invalidations")
        slot = record.info.get(KEY) if record is not None else None
        expected = slot.expected if slot is not None else None
        if expected:
            # Part of normal operation (session state, lifetime, retired
            # pool): DEBUG, so that INFO stays quiet unless something failed.
            logger.debug("Replacing a connection of %r: %s", self.alias, expected)
        else:
            failure = slot.failure if slot is not None else None
            logger.info("Replacing a connection of %r: %s", self.alias,
                        exception or failure or "it lost its server connection")
        if slot is not None:
            slot.expected = slot.failure = None

    def tend(self) -> None:
        """One round of housekeeping (run by the housekeeping thread)."""
        maintenance.tend(self)

    # ----- ending -----------------------------------------------------------

    def retire(self) -> None:
        """Close idle and parked connections now, and the ones in use when
        they come back."""
        self.retired = True
        for entry in tuple(self.entries):
            if entry.parked and entry.claimed():
                self.end(entry, expected="its pool was closed or its settings changed")
        self.sa_pool.dispose()
        housekeeping.forget(self)

    def abandon_inherited(self) -> None:
        """In a forked child: make the parent's sockets unusable here without
        closing them, so nothing the child does (or its garbage collector)
        reaches the parent's connections."""
        self.retired = self.abandoned = True
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            for connection in list(self._connections):
                state = self.driver.socket_state(connection)
                if state is not None:
                    os.dup2(devnull, state[1])
        finally:
            os.close(devnull)
        for entry in tuple(self.entries):
            entry.abandon_inherited()
