"""A pool of one driver's connections for one alias: SQLAlchemy's pool, with a
fair waiting line, a checkout that costs no round trip in the common case, and
counters for :func:`mysqlpool.stats`."""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any, NoReturn

from django.db.utils import OperationalError
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from ..config import PoolConfig
from ..drivers import Driver
from . import leaks
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
from .gate import FairGate
from .liveness import idle_problem

logger = logging.getLogger("mysqlpool")


class PoolTimeout(OperationalError):
    """No pooled connection became free within the pool's ``timeout``."""


class PoolStats:
    """Counters kept by one pool."""

    __slots__ = ("connects", "invalidations", "timeouts", "waits", "wait_time", "checkouts")

    def __init__(self) -> None:
        self.connects = self.invalidations = self.timeouts = self.waits = self.checkouts = 0
        self.wait_time = 0.0


class ConnectionPool:
    """A SQLAlchemy pool of one driver's connections, for one alias."""

    def __init__(self, alias: str, key: tuple, driver: Driver, config: PoolConfig,
                 params: Mapping[str, Any]) -> None:
        self.alias = alias
        self.key = key
        self.driver = driver
        self.config = config
        self.pid = os.getpid()
        self.retired = False
        self.stats = PoolStats()
        #: Django's server facts (version, sql_mode, ...), read once per pool.
        self.server_data: dict | None = None
        self._connections: weakref.WeakSet = weakref.WeakSet()
        self._checked_out: weakref.WeakSet = weakref.WeakSet()
        # Pool slots (connection records) that have had a connection, and those
        # invalidated since: what tells a recycle from a reconnect in the log.
        self._used_records: weakref.WeakSet = weakref.WeakSet()
        self._invalidated_records: weakref.WeakSet = weakref.WeakSet()
        self._stats_lock = threading.Lock()
        self._pool = config.pool_class(
            driver.creator(params),
            dialect=driver.dialect,
            reset_on_return=None,  # see PooledConnection.release()
            **dict(config.arguments),
        )
        event.listen(self._pool, "connect", self._on_connect)
        event.listen(self._pool, "reset", self._on_reset)
        event.listen(self._pool, "invalidate", self._on_invalidate)
        self._capacity = None
        if config.pool_size and config.max_overflow is not None and config.max_overflow >= 0:
            self._capacity = config.pool_size + config.max_overflow
        timeout = dict(config.arguments).get("timeout", getattr(self._pool, "_timeout", 30.0))
        self._timeout = timeout if isinstance(timeout, (int, float)) else 30.0
        # Bounded pools hand connections to waiters in arrival order.
        self._gate = FairGate(self._capacity) if self._capacity is not None else None
        self._leak_watch: threading.Thread | None = None
        if config.leak_warning_after:
            self._leak_watch = leaks.watch(self, config.leak_warning_after)

    def __repr__(self) -> str:
        return (
            f"<ConnectionPool alias={self.alias!r} driver={self.driver.name!r} "
            f"{self.config.pool_class.__name__} size={self.config.pool_size} "
            f"overflow={self.config.max_overflow}>"
        )

    # ----- checkout ---------------------------------------------------------

    def checkout(self, owner: Any = None) -> PooledConnection:
        """Take a live connection; raise PoolTimeout when none frees up in time."""
        fairy = self._take()
        # A connection the server has closed while it sat idle is replaced
        # here. The check runs in this method rather than in a SQLAlchemy
        # "checkout" listener: the event dispatch would cost more than the
        # check itself on every checkout.
        info = fairy.info
        last_used = info.get(LAST_USED)
        if last_used is not None:  # None: fresh from connect()
            problem = idle_problem(self.driver, fairy.dbapi_connection, info, last_used,
                                   self.config.ping_after_idle)
            if problem is not None:
                fairy = self._replace_dead(fairy, problem)
        checkout = PooledConnection(self, fairy, owner)
        with self._stats_lock:
            self.stats.checkouts += 1
        self._checked_out.add(checkout)
        thread_checkouts().add(checkout)
        return checkout

    def _replace_dead(self, fairy: Any, problem: str) -> Any:
        """Close a dead connection and take another. Each pass either accepts a
        connection or closes a dead one, whose slot then reconnects."""
        for _ in range(len(self._connections) + 2):
            invalidate(fairy, sa_exc.DisconnectionError(problem))
            self.slot_freed()
            fairy = self._take()
            info = fairy.info
            last_used = info.get(LAST_USED)
            if last_used is None:
                return fairy
            problem = idle_problem(self.driver, fairy.dbapi_connection, info, last_used,
                                   self.config.ping_after_idle)
            if problem is None:
                return fairy
        invalidate(fairy, None)
        self.slot_freed()
        raise OperationalError(
            f"Could not get a live connection for database alias {self.alias!r}: "
            "every pooled connection tried was closed by the server"
        )

    def _take(self) -> Any:
        """A SQLAlchemy checkout, after a turn at the gate when the pool is full."""
        gate = self._gate
        if gate is not None and not gate.try_enter():
            start = time.monotonic()
            entered = gate.enter(self._timeout)
            with self._stats_lock:
                self.stats.waits += 1
                self.stats.wait_time += time.monotonic() - start
            if not entered:
                self._timed_out()
        try:
            return self._pool.connect()
        except sa_exc.TimeoutError:
            self.slot_freed()
            self._timed_out()
        except BaseException:
            self.slot_freed()
            raise

    def slot_freed(self) -> None:
        """A checkout has ended (however): its slot goes to the next in line."""
        if self._gate is not None:
            self._gate.leave()

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
        with self._stats_lock:
            self.stats.timeouts += 1
        logger.warning("Pool for %r exhausted: %s", self.alias, self.describe())
        raise PoolTimeout(
            f"No connection for database alias {self.alias!r} became free within "
            f"{self._timeout} s: all {self.checked_out()} connections are "
            f"checked out (pool_size={self.config.pool_size}, "
            f"max_overflow={self.config.max_overflow}). Close connections sooner "
            "(connections.close_all(), @auto_close_db), or raise pool_size, "
            "max_overflow or timeout in MYSQLPOOL_ARGUMENTS."
        ) from None

    # ----- SQLAlchemy's events ---------------------------------------------

    def _on_connect(self, dbapi_connection: Any, record: Any) -> None:
        with self._stats_lock:
            self.stats.connects += 1
        self._connections.add(dbapi_connection)
        # A slot that had a connection, not invalidated since: SQLAlchemy
        # replaced it for its age (``recycle``). Normal churn, so DEBUG.
        if record in self._used_records and record not in self._invalidated_records:
            logger.debug("Recycled a connection of %r (older than recycle=%s s)",
                         self.alias, getattr(self._pool, "_recycle", "?"))
        else:
            logger.debug("New connection for %r (%s)", self.alias, self.driver.name)
        self._used_records.add(record)
        self._invalidated_records.discard(record)

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
        with self._stats_lock:
            self.stats.invalidations += 1
        if record is not None:
            self._invalidated_records.add(record)
        expected = record.info.pop(EXPECTED, None) if record is not None else None
        if expected:
            # Part of normal operation (session state, retired pool): DEBUG,
            # so that INFO stays quiet unless something went wrong.
            logger.debug("Replacing a connection of %r: %s", self.alias, expected)
        else:
            failure = record.info.pop(FAILURE, None) if record is not None else None
            logger.info("Replacing a connection of %r: %s", self.alias,
                        exception or failure or "it lost its server connection")

    # ----- state ------------------------------------------------------------

    def checked_out(self) -> int:
        """Connections held by checkouts now."""
        try:
            return self._pool.checkedout()
        except AttributeError:
            return len(self._checked_out)

    def describe(self) -> str:
        return f"{self.checked_out()} checked out, {self._pool.status()}"

    def idle_records(self) -> list[Any]:
        """The pool's idle slots that hold an open connection (QueuePool)."""
        queue = getattr(getattr(self._pool, "_pool", None), "queue", None)
        if queue is None:
            return []
        # A slot whose connection was closed (invalidated) stays in the queue,
        # empty, until the next checkout reconnects it: not an idle connection.
        return [record for record in list(queue) if record.dbapi_connection is not None]

    def snapshot(self) -> dict[str, Any]:
        """This pool's figures for :func:`mysqlpool.stats`."""
        pool = self._pool
        idle = len(self.idle_records()) if hasattr(pool, "checkedin") else None
        stats = self.stats
        return {
            "alias": self.alias,
            "driver": self.driver.name,
            "pool_class": self.config.pool_class.__name__,
            "pool_size": self.config.pool_size,
            "max_overflow": self.config.max_overflow,
            "checked_out": self.checked_out(),
            "idle": idle,
            # SQLAlchemy counts unopened slots as negative overflow; report
            # only connections open beyond pool_size.
            "overflow": max(0, pool.overflow()) if hasattr(pool, "overflow") else None,
            "connects": stats.connects,
            "invalidations": stats.invalidations,
            "timeouts": stats.timeouts,
            "waits": stats.waits,
            "wait_time": round(stats.wait_time, 6),
            "checkouts": stats.checkouts,
        }

    # ----- ending -----------------------------------------------------------

    def retire(self) -> None:
        """Close idle connections now and checked-out ones when they come back."""
        self.retired = True
        self._pool.dispose()

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
