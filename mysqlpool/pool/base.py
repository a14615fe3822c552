"""A pool of one driver's connections for one alias: SQLAlchemy's pool to open
connections and bound them, with a fair waiting line, connections parked on
the wrapper that used them between two uses, a checkout that costs no round
trip in the common case, a lifetime per connection, and the password of the
moment for new connections.

The steady state (a wrapper taking back the connection it parked) takes no
lock other than the connection's own claim and makes no system call; a
thread that would wait takes over a parked connection, and a return hands
its connection straight to the first thread in line (see checkout.py and
gate.py).
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
from types import TracebackType
from typing import Any, NoReturn

from django.db.utils import OperationalError
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy import pool as sa_pool_module

from .. import metrics
from ..config import PoolConfig
from ..drivers import Driver
from . import housekeeping, maintenance
from .checkout import PooledConnection
from .connecting import Opener
from .gate import FairGate, Turn
from .liveness import idle_problem, usable_as_parked
from .maintenance import RefillSchedule
from .returns import Returns
from .slot import KEY, Slot
from .state import PoolState
from .stats import PoolStats
from .threads import exiting, thread_checkouts
from .watchdog import PingTimeout

logger = logging.getLogger("mysqlpool")

#: A connection's lifetime is shortened by up to this part, at random.
LIFETIME_JITTER = 0.10
#: Seconds after a failover during which further ones are logged at DEBUG only.
FAILOVER_QUIET = 10.0

#: The modules a new connection's call goes through from the checkout to the
#: driver: SQLAlchemy's pool, this module's and connecting.py's.
_CONNECT_PATH = ("sqlalchemy.", __name__, f"{__package__}.connecting")


def _drop_frames_to_driver(traceback: TracebackType | None) -> None:
    """Unlink from ``traceback`` (in place), between its first frame (the
    checkout) and its last (where the error was raised), the frames of
    :data:`_CONNECT_PATH`: the exception keeps its class, message and cause,
    and its traceback goes from the checkout straight to the driver's connect."""
    kept = traceback
    while kept is not None and kept.tb_next is not None:
        following = kept.tb_next
        module = following.tb_frame.f_globals.get("__name__", "")
        if (following.tb_next is not None  # the frame that raised it stays
                and (module in _CONNECT_PATH or module.startswith(_CONNECT_PATH[0]))):
            kept.tb_next = following.tb_next
        else:
            kept = following


class PoolTimeout(OperationalError):
    """No pooled connection became free within the pool's ``timeout``."""


class ConnectionPool(Returns, PoolState):
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

    # ----- checkout ---------------------------------------------------------

    def checkout(self, owner: Any = None) -> PooledConnection:
        """Take a live connection; raise PoolTimeout when none frees up in time."""
        started = time.monotonic()
        try:
            entry = self._take()
        except self.driver.dbapi.Error as exc:
            # The server refused a new connection (a wrong password, a server
            # down): the driver's error, raised through SQLAlchemy's pool and
            # this one's, whose frames say nothing about it.
            _drop_frames_to_driver(exc.__traceback__)
            raise
        now = time.monotonic()
        entry.begin(owner, now)
        if self.observer is not None:
            self.observer.waited(self, now - started)
        return entry

    def reclaim(self, entry: PooledConnection, owner: Any) -> bool:
        """Take back the connection ``owner`` parked, if it is still free and
        usable (the wrapper's next connect(): nothing to set up again)."""
        if not entry.claimed():
            return False  # taken over by another thread meanwhile, or gone
        if self.retired:
            self.end(entry, expected="its pool was closed or its settings changed")
            return False
        if entry.owner is None or entry.owner() is not owner:
            # Parked since by another wrapper (it took it over and gave it
            # back): not this wrapper's to resume, and free for anyone.
            self._park(entry)
            return False
        now = time.monotonic()
        slot = entry.slot
        if not (slot.host is None and slot.opened_at >= self.failed_over_at
                and usable_as_parked(self.driver, entry.connection, slot, now,
                                     self.config.ping_after_idle)):
            if self._problem(entry, now, free_slot=True) is not None:
                return False
        entry.resume(now)
        if self.observer is not None:
            self.observer.waited(self, time.monotonic() - now)
        return True

    def _take(self) -> PooledConnection:
        """A connection in use by the caller: a free slot's, else one taken
        over from a wrapper that parked it, else one handed over after a
        wait in line."""
        entry = self._own_parked()
        if entry is not None:
            return entry
        gate = self.gate
        if gate is None or gate.try_enter():
            return self._open_slot()
        turn = gate.register()
        if turn is None:
            return self._open_slot()
        entry = self._take_over_parked()
        if entry is not None:
            if not gate.withdraw(turn):
                self._return_turn(turn)  # handed something just now: not needed
            return entry
        start = time.monotonic()
        try:
            entered = gate.wait(turn, self._timeout, give_back=self.give_back)
        finally:
            waited = time.monotonic() - start
            with self.stats.lock:
                self.stats.waits += 1
                self.stats.wait_time += waited
        if not entered:
            self._timed_out()
        handed = turn.payload
        # A connection handed over was in use a moment ago: nothing to check.
        return handed if handed is not None else self._open_slot()

    def _own_parked(self) -> PooledConnection | None:
        """A connection of this pool that another wrapper of this thread
        parked (a copy of the alias's wrapper, one made by
        connections.create_connection()): this thread's to use first."""
        for entry in tuple(thread_checkouts()):
            if entry.pool is self and entry.parked and entry.claimed():
                if self._problem(entry, time.monotonic(), free_slot=False) is None:
                    return entry
                return self._open_slot()  # in the slot of the one just closed
        return None

    def _take_over_parked(self) -> PooledConnection | None:
        """A parked connection nobody is using, claimed for the caller."""
        for entry in tuple(self.entries):
            if entry.parked and entry.claimed():
                if self._problem(entry, time.monotonic(), free_slot=False) is None:
                    return entry
                return self._open_slot()  # in the slot of the one just closed
        return None

    def _return_turn(self, turn: Turn) -> None:
        """What a waiter was handed after all but does not need: to the next."""
        if turn.payload is None:
            self.slot_freed()
        else:
            self.give_back(turn.payload)

    def _open_slot(self) -> PooledConnection:
        """A connection from SQLAlchemy's pool for the slot the caller holds:
        an idle one that passes the liveness check, or a new one. Each pass
        either accepts a connection or closes an unusable one, whose slot
        then reconnects."""
        for _ in range(len(self.entries) + (self._capacity or 0) + 2):
            try:
                fairy = self.sa_pool.connect()
            except sa_exc.TimeoutError:
                self.slot_freed()
                self._timed_out()
            except BaseException:
                self.slot_freed()
                raise
            slot: Slot = fairy.info[KEY]
            slot.released = False
            entry = PooledConnection(self, fairy, slot)
            with self._entries_lock:
                self.entries.append(entry)
            if slot.last_used is None:  # fresh from connect()
                return entry
            if self._problem(entry, time.monotonic(), free_slot=False) is None:
                return entry
        self.slot_freed()
        raise OperationalError(
            f"Could not get a live connection for database alias {self.alias!r}: "
            "every pooled connection tried was closed by the server"
        )

    def _problem(self, entry: PooledConnection, now: float, *, free_slot: bool) -> str | None:
        """Why an idle connection cannot be handed out (it is then closed,
        its slot freed or kept for the caller), or None."""
        slot = entry.slot
        behind = slot.host is not None and self.opener.replicas.behind(slot.host)
        if slot.opened_at < self.failed_over_at:
            problem: tuple[str, bool] | None = ("it was opened before a failover", False)
        elif behind:
            self.stats.add("behind_closed")
            self.end(entry, expected=f"its replica is behind ({behind})", free_slot=free_slot)
            return behind
        else:
            try:
                problem = idle_problem(self.driver, entry.connection, slot, now, self.config)
            except PingTimeout:
                self._ping_timed_out(entry)
        if problem is None:
            return None
        why, expected = problem
        if expected:
            self.stats.add("lifetime_closed")
            self.end(entry, expected=why, free_slot=free_slot)
        else:
            self.end(entry, exc=sa_exc.DisconnectionError(why), free_slot=free_slot)
        return why

    def _ping_timed_out(self, entry: PooledConnection) -> NoReturn:
        # A server that answers no ping would hold a new connection as long:
        # fail now rather than wait for a connect timeout.
        self.stats.add("ping_timeouts")
        self.end(entry, failure=f"no answer to a ping within "
                 f"ping_timeout={self.config.ping_timeout} s")
        raise OperationalError(
            f"The server of database alias {self.alias!r} did not answer a ping within "
            f"{self.config.ping_timeout} s (ping_timeout); the connection was closed. "
            "The server may be frozen or unreachable."
        )

    def try_take_slot(self) -> bool:
        """A slot for housekeeping's own use (closing or opening a connection),
        only if one is free and no checkout is waiting; give it back with
        slot_freed()."""
        return self.gate is None or self.gate.try_enter()

    def _timed_out(self) -> NoReturn:
        self.stats.add("timeouts")
        # The PoolTimeout says it all to the application; the pool's state
        # (SQLAlchemy's count of its connections) is for debugging.
        logger.debug("Pool for %r exhausted: %s", self.alias, self.describe())
        raise PoolTimeout(
            f"No connection for database alias {self.alias!r} became free within "
            f"{self._timeout} s: all {self.checked_out()} connections are "
            f"checked out (pool_size={self.config.pool_size}, "
            f"max_overflow={self.config.max_overflow}). Close connections sooner "
            "(connections.close_all(), @auto_close_db), or raise pool_size, "
            f"max_overflow or timeout in DATABASES[{self.alias!r}]['OPTIONS']['pool'] "
            "(or in MYSQLPOOL_ARGUMENTS, for every alias)."
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
