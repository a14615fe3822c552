"""A pool of one driver's connections for one alias: SQLAlchemy's pool, with a
fair waiting line, a checkout that costs no round trip in the common case, a
lifetime per connection, and the password of the moment for new connections."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any, NoReturn

from django.db.utils import OperationalError
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from .. import metrics
from ..config import PoolConfig
from ..drivers import Driver
from . import housekeeping
from .checkout import (
    EXPECTED,
    FAILURE,
    LAST_USED,
    RELEASED,
    PooledConnection,
    exiting,
    invalidate,
    thread_checkouts,
)
from .connecting import Opener
from .gate import FairGate
from .liveness import EXPIRES, idle_problem
from .maintenance import RefillSchedule
from .stats import PoolStats, snapshot
from .watchdog import PingTimeout

logger = logging.getLogger("mysqlpool")

#: A connection's lifetime is shortened by up to this part, at random.
LIFETIME_JITTER = 0.10
#: Seconds after a failover during which further ones are logged at DEBUG only.
FAILOVER_QUIET = 10.0


class PoolTimeout(OperationalError):
    """No pooled connection became free within the pool's ``timeout``."""


class ConnectionPool:
    """A SQLAlchemy pool of one driver's connections, for one alias."""

    def __init__(self, alias: str, key: tuple, driver: Driver, config: PoolConfig,
                 params: Mapping[str, Any], settings_dict: Mapping[str, Any]) -> None:
        self.alias = alias
        self.key = key
        self.driver = driver
        self.config = config
        self.pid = os.getpid()
        self.retired = False
        self.stats = PoolStats()
        #: Django's server facts (version, sql_mode, ...), read once per pool.
        self.server_data: dict | None = None
        #: How new connections are opened: the password of the moment, the host.
        self.opener = Opener(alias, driver, config, params, settings_dict, self.stats)
        #: Where measurements go; None (nothing measured) without an exporter.
        self.observer = metrics.observer()
        self.metric_attributes = {"db.client.connection.pool.name": alias}
        self._connections: weakref.WeakSet = weakref.WeakSet()
        self._checked_out: weakref.WeakSet = weakref.WeakSet()
        self.sa_pool = config.pool_class(
            self._new_connection,
            dialect=driver.dialect,
            reset_on_return=None,  # see PooledConnection.release()
            **dict(config.arguments),
        )
        event.listen(self.sa_pool, "connect", self._on_connect)
        event.listen(self.sa_pool, "reset", self._on_reset)
        event.listen(self.sa_pool, "invalidate", self._on_invalidate)
        self._capacity = None
        if config.pool_size and config.max_overflow is not None and config.max_overflow >= 0:
            self._capacity = config.pool_size + config.max_overflow
        self._timeout = config.timeout
        #: Bounded pools hand connections to waiters in arrival order.
        self.gate = FairGate(self._capacity) if self._capacity is not None else None
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

    # ----- checkout ---------------------------------------------------------

    def checkout(self, owner: Any = None) -> PooledConnection:
        """Take a live connection; raise PoolTimeout when none frees up in time."""
        observer = self.observer
        if observer is not None:
            started = time.monotonic()
        fairy = self._take()
        # A connection that died, expired or was left behind by a failover
        # while it sat idle is replaced here. The check runs in this method
        # rather than in a SQLAlchemy "checkout" listener: the event dispatch
        # would cost more than the check itself on every checkout.
        if fairy.info.get(LAST_USED) is not None:  # None: fresh from connect()
            problem = self._problem(fairy)
            if problem is not None:
                fairy = self._replace(fairy, problem)
        checkout = PooledConnection(self, fairy, owner)
        if observer is not None:
            observer.waited(self, checkout.checked_out_at - started)
        stats = self.stats
        with stats.lock:
            stats.checkouts += 1
        self._checked_out.add(checkout)
        thread_checkouts().add(checkout)
        return checkout

    def _problem(self, fairy: Any) -> tuple[str, bool] | None:
        """Why an idle connection cannot be handed out (see liveness.idle_problem)."""
        try:
            return idle_problem(self.driver, fairy.dbapi_connection, fairy.info,
                                fairy.info[LAST_USED], self.config)
        except PingTimeout:
            self._ping_timed_out(fairy)

    def _replace(self, fairy: Any, problem: tuple[str, bool]) -> Any:
        """Close an unusable connection and take another. Each pass either
        accepts a connection or closes an unusable one, whose slot then
        reconnects."""
        for _ in range(len(self._connections) + 2):
            why, expected = problem
            if expected:
                self.stats.add("lifetime_closed")
                invalidate(fairy, None, expected=why)
            else:
                invalidate(fairy, sa_exc.DisconnectionError(why))
            self.slot_freed()
            fairy = self._take()
            if fairy.info.get(LAST_USED) is None:
                return fairy
            problem = self._problem(fairy)
            if problem is None:
                return fairy
        invalidate(fairy, None)
        self.slot_freed()
        raise OperationalError(
            f"Could not get a live connection for database alias {self.alias!r}: "
            "every pooled connection tried was closed by the server"
        )

    def _ping_timed_out(self, fairy: Any) -> NoReturn:
        # A server that answers no ping would hold a new connection as long:
        # fail now rather than wait for a connect timeout.
        self.stats.add("ping_timeouts")
        invalidate(fairy, None, failure=f"no answer to a ping within "
                   f"ping_timeout={self.config.ping_timeout} s")
        self.slot_freed()
        raise OperationalError(
            f"The server of database alias {self.alias!r} did not answer a ping within "
            f"{self.config.ping_timeout} s (ping_timeout); the connection was closed. "
            "The server may be frozen or unreachable."
        )

    def _take(self) -> Any:
        """A SQLAlchemy checkout, after a turn at the gate when the pool is full."""
        gate = self.gate
        if gate is not None and not gate.try_enter():
            start = time.monotonic()
            entered = gate.enter(self._timeout)
            waited = time.monotonic() - start
            with self.stats.lock:
                self.stats.waits += 1
                self.stats.wait_time += waited
            if not entered:
                self._timed_out()
        try:
            return self.sa_pool.connect()
        except sa_exc.TimeoutError:
            self.slot_freed()
            self._timed_out()
        except BaseException:
            self.slot_freed()
            raise

    def slot_freed(self) -> None:
        """A checkout has ended (however): its slot goes to the next in line."""
        if self.gate is not None:
            self.gate.leave()

    def try_take_slot(self) -> bool:
        """A slot for housekeeping's own use (closing or opening a connection),
        only if one is free and no checkout is waiting; give it back with
        slot_freed()."""
        return self.gate is None or self.gate.try_enter()

    def forget(self, checkout: PooledConnection) -> None:
        """``checkout`` is being returned: no longer counted as held."""
        self._checked_out.discard(checkout)
        thread_checkouts().discard(checkout)

    def checked_out_now(self) -> list[PooledConnection]:
        """The checkouts held now, safe to call from any thread."""
        # A WeakSet's own iteration fails when another thread changes it; a
        # copy of its underlying set of references is one atomic step.
        refs = self._checked_out.data.copy()
        return [checkout for ref in refs if (checkout := ref()) is not None]

    def _timed_out(self) -> NoReturn:
        self.stats.add("timeouts")
        logger.warning("Pool for %r exhausted: %s", self.alias, self.describe())
        raise PoolTimeout(
            f"No connection for database alias {self.alias!r} became free within "
            f"{self._timeout} s: all {self.checked_out()} connections are "
            f"checked out (pool_size={self.config.pool_size}, "
            f"max_overflow={self.config.max_overflow}). Close connections sooner "
            "(connections.close_all(), @auto_close_db), or raise pool_size, "
            "max_overflow or timeout in MYSQLPOOL_ARGUMENTS."
        ) from None

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

    def connections_per_host(self) -> dict[str, int] | None:
        """Open connections per host, with several hosts in HOST."""
        open_now = [record.dbapi_connection for record in self.idle_records()]
        open_now += [checkout.connection for checkout in self.checked_out_now()]
        return self.opener.per_host(open_now)

    def update_credentials(self, settings_dict: Mapping[str, Any],
                           params: Mapping[str, Any]) -> None:
        """The alias's settings resolved again (PASSWORD may have been edited)."""
        self.opener.credentials.update(settings_dict, params)

    def fail_over(self, why: str, opened_at: float) -> None:
        """Every connection opened until now is replaced at its next checkout
        (SQLAlchemy's pool-wide invalidation): the server they reach is no
        longer the one to use (read-only, not ready, shutting down).

        ``opened_at`` (``time.time()``) is when the connection that saw it was
        opened: a connection opened before the last failover only confirms
        that one, and must not drop the connections opened since (to the new
        primary) by moving the invalidation time on.
        """
        sa_pool = self.sa_pool
        with self._failover_lock:
            previous = sa_pool._invalidate_time
            if opened_at < previous:
                return
            sa_pool._invalidate_time = now = time.time()
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
        if lifetime is not None:
            # Shortened at random, so that connections opened together (a
            # deploy, a burst) are not all replaced together.
            shortened = lifetime * (1 - random.uniform(0, LIFETIME_JITTER))
            record.info[EXPIRES] = time.monotonic() + shortened
        logger.debug("New connection for %r (%s)", self.alias, self.driver.name)

    def _on_reset(self, dbapi_connection: Any, record: Any, state: Any) -> None:
        if record is None or record.info.pop(RELEASED, False):
            return
        if self.pid != os.getpid():
            return  # the parent's connection, dropped in a forked child: leave it
        # Returned without PooledConnection.release(): the garbage collector
        # (or a dying thread) dropped a checkout whose state nobody knows.
        # Closing it makes the server roll back and release its locks. At
        # interpreter exit that is how every held connection ends: no warning.
        logger.log(
            logging.DEBUG if exiting() else logging.WARNING,
            "A connection of %r was not returned to the pool (its thread ended or "
            "it was garbage collected); closing it", self.alias,
        )
        record.invalidate()
        self.slot_freed()  # its slot at the gate too, or the pool shrinks for good

    def _on_invalidate(self, dbapi_connection: Any, record: Any, exception: Any) -> None:
        self.stats.add("invalidations")
        expected = record.info.pop(EXPECTED, None) if record is not None else None
        if expected:
            # Part of normal operation (session state, lifetime, retired
            # pool): DEBUG, so that INFO stays quiet unless something failed.
            logger.debug("Replacing a connection of %r: %s", self.alias, expected)
        else:
            failure = record.info.pop(FAILURE, None) if record is not None else None
            logger.info("Replacing a connection of %r: %s", self.alias,
                        exception or failure or "it lost its server connection")

    # ----- state ------------------------------------------------------------

    def checked_out(self) -> int:
        """Connections held by checkouts now."""
        try:
            return self.sa_pool.checkedout()
        except AttributeError:
            return len(self._checked_out)

    def waiting(self) -> int:
        """Checkouts waiting for a connection now."""
        return self.gate.waiting if self.gate is not None else 0

    def idle_records(self) -> list[Any]:
        """The pool's idle slots that hold an open connection (QueuePool)."""
        queue = getattr(getattr(self.sa_pool, "_pool", None), "queue", None)
        if queue is None:
            return []
        # A slot whose connection was closed (invalidated) stays in the queue,
        # empty, until the next checkout reconnects it: not an idle connection.
        return [record for record in list(queue) if record.dbapi_connection is not None]

    def describe(self) -> str:
        return f"{self.checked_out()} checked out, {self.sa_pool.status()}"

    def snapshot(self) -> dict[str, Any]:
        """This pool's figures for :func:`mysqlpool.stats`."""
        return snapshot(self)

    def metric_figures(self) -> dict[str, Any]:
        """The limits and counts the metrics report besides the connections."""
        return {"max": self._capacity, "min_size": self.config.min_size,
                "waiting": self.waiting(), "timeouts": self.stats.timeouts}

    # ----- ending -----------------------------------------------------------

    def retire(self) -> None:
        """Close idle connections now and checked-out ones when they come back."""
        self.retired = True
        self.sa_pool.dispose()
        housekeeping.forget(self)

    def abandon_inherited(self) -> None:
        """In a forked child: make the parent's sockets unusable here without
        closing them, so nothing the child does (or its garbage collector)
        reaches the parent's connections."""
        self.retired = True
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            for connection in list(self._connections):
                state = self.driver.socket_state(connection)
                if state is not None:
                    os.dup2(devnull, state[1])
        finally:
            os.close(devnull)
        for checkout in list(self._checked_out):
            checkout.abandon_inherited()
