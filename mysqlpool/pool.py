"""Pools: one SQLAlchemy pool per alias and connection parameters.

A checkout costs no round trip in the common case:

- liveness: a connection whose socket the server has closed (restart, KILL,
  ``wait_timeout``) is readable while idle, which ``poll()`` sees for free;
  one idle longer than ``ping_after_idle`` is also pinged;
- session state is set once per physical connection (the backend keeps a flag
  in the connection record's ``info``);
- on return, ROLLBACK only when a transaction may be open, and a reset (or a
  new connection) only when a statement may have changed the session.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import logging
import os
import secrets
import select
import threading
import time
import traceback
import weakref
from collections.abc import Mapping
from typing import Any, NoReturn

from django.db.utils import OperationalError
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from . import session
from .config import PoolConfig
from .drivers import Driver

logger = logging.getLogger("mysqlpool")

# Keys of the connection record's info dict (it lives as long as the physical
# connection; SQLAlchemy clears it when the connection is replaced).
LAST_USED = "mysqlpool.last_used"
INITIALIZED = "mysqlpool.initialized"
RELEASED = "mysqlpool.released"
EXPECTED = "mysqlpool.expected_invalidation"
FAILURE = "mysqlpool.failure"
# A poll object registered on the connection's socket, made once per connection.
POLLER = "mysqlpool.poller"

_KEY_SECRET = secrets.token_bytes(32)


class PoolTimeout(OperationalError):
    """No pooled connection became free within the pool's ``timeout``."""


def password_digest(password: Any) -> str:
    """What a pool key holds instead of the password: a keyed, per-process hash."""
    return hmac.new(_KEY_SECRET, str(password).encode(), hashlib.sha256).hexdigest()


def freeze(value: Any) -> Any:
    """A hashable, comparable form of connection parameters."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(freeze(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


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
        timeout = self._pool_timeout()
        self._timeout = timeout if isinstance(timeout, (int, float)) else 30.0
        # Bounded pools hand connections to waiters in arrival order (see _FairGate).
        self._gate = _FairGate(self._capacity) if self._capacity is not None else None
        self._leak_watch: threading.Thread | None = None
        if config.leak_warning_after:
            self._start_leak_watch(config.leak_warning_after)

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
            problem = self._liveness_problem(fairy.dbapi_connection, info, last_used)
            if problem is not None:
                fairy = self._replace_dead(fairy, problem)
        self.stats.checkouts += 1
        checkout = PooledConnection(self, fairy, owner)
        self._checked_out.add(checkout)
        _thread_checkouts().add(checkout)
        return checkout

    def _replace_dead(self, fairy: Any, problem: str) -> Any:
        """Close a dead connection and take another. Each pass either accepts a
        connection or closes a dead one, whose slot then reconnects."""
        for _ in range(len(self._connections) + 2):
            _invalidate(fairy, sa_exc.DisconnectionError(problem))
            self._returned()
            fairy = self._take()
            info = fairy.info
            last_used = info.get(LAST_USED)
            if last_used is None:
                return fairy
            problem = self._liveness_problem(fairy.dbapi_connection, info, last_used)
            if problem is None:
                return fairy
        _invalidate(fairy, None)
        self._returned()
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
            self._returned()
            self._timed_out()
        except BaseException:
            self._returned()
            raise

    def _returned(self) -> None:
        """A checkout has ended (however): its slot goes to the next in line."""
        if self._gate is not None:
            self._gate.leave()

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

    def _liveness_problem(self, dbapi_connection: Any, info: dict,
                          last_used: float) -> str | None:
        """Why a connection that was idle cannot be used, or None when it can.

        No round trip when it was used within ``ping_after_idle``: a connection
        the server closed (restart, KILL, ``wait_timeout``) has a readable
        socket, which poll() sees for free.
        """
        poller = info.get(POLLER)
        if poller is None:
            fd = self.driver.socket_fd(dbapi_connection)
            if fd is None or fd < 0:
                poller = False
            else:
                poller = select.poll()
                poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
            info[POLLER] = poller
        # Readable while idle: closed, or an error packet waiting (MySQL 8
        # sends one before it closes an idle connection).
        if poller and poller.poll(0):
            return "the server closed the connection"
        limit = self.config.ping_after_idle
        if limit is not None and time.monotonic() - last_used > limit:
            try:
                self.driver.ping(dbapi_connection)
            except Exception as exc:  # noqa: BLE001 - any failure means not usable
                return f"ping failed: {exc}"
        return None

    def _on_reset(self, dbapi_connection: Any, record: Any, state: Any) -> None:
        if record is None or record.info.pop(RELEASED, False):
            return
        if self.pid != os.getpid():
            return  # the parent's connection, dropped in a forked child: leave it
        # Returned without PooledConnection.release(): the garbage collector
        # (or a dying thread) dropped a checkout whose state nobody knows.
        # Closing it makes the server roll back and release its locks.
        logger.warning(
            "A connection of %r was not returned to the pool (its thread ended or "
            "it was garbage collected); closing it", self.alias,
        )
        record.invalidate()
        self._returned()  # its slot at the gate too, or the pool shrinks for good

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
        try:
            return self._pool.checkedout()
        except AttributeError:
            return len(self._checked_out)

    def _pool_timeout(self) -> Any:
        return dict(self.config.arguments).get("timeout", getattr(self._pool, "_timeout", "?"))

    def describe(self) -> str:
        return f"{self.checked_out()} checked out, {self._pool.status()}"

    def snapshot(self) -> dict[str, Any]:
        """This pool's figures for :func:`mysqlpool.stats`."""
        pool = self._pool
        idle = pool.checkedin() if hasattr(pool, "checkedin") else None
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
            "connects": self.stats.connects,
            "invalidations": self.stats.invalidations,
            "timeouts": self.stats.timeouts,
            "waits": self.stats.waits,
            "wait_time": round(self.stats.wait_time, 6),
            "checkouts": self.stats.checkouts,
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
                fd = self.driver.socket_fd(connection)
                if fd is not None and fd >= 0:
                    os.dup2(devnull, fd)
        finally:
            os.close(devnull)
        for checkout in list(self._checked_out):
            checkout.abandon_inherited()

    # ----- leak detection ---------------------------------------------------

    def _start_leak_watch(self, threshold: float) -> None:
        pool_ref = weakref.ref(self)

        def watch() -> None:
            while True:
                time.sleep(min(threshold / 2, 5.0))
                pool = pool_ref()
                if pool is None or pool.retired:
                    return
                now = time.monotonic()
                for checkout in list(pool._checked_out):
                    if not checkout.leak_reported and now - checkout.checked_out_at > threshold:
                        checkout.leak_reported = True
                        logger.warning(
                            "A connection of %r has been checked out for %.1f s "
                            "(leak_warning_after=%s). It was checked out at:\n%s",
                            pool.alias, now - checkout.checked_out_at, threshold,
                            "".join(traceback.format_list(checkout.stack or [])),
                        )
                del pool

        self._leak_watch = threading.Thread(
            target=watch, name=f"mysqlpool-leaks-{self.alias}", daemon=True
        )
        self._leak_watch.start()


class _FairGate:
    """At most ``capacity`` checkouts at a time, granted in arrival order.

    SQLAlchemy's queue wakes a waiter when a connection comes back, but the
    thread that returned it still holds the GIL and usually takes it straight
    back for its next request. Under saturation (more threads than
    connections) some waiters then starve until their timeout. Here a freed
    slot is handed to the longest-waiting thread instead.
    """

    __slots__ = ("_lock", "_free", "_waiters")

    def __init__(self, capacity: int) -> None:
        self._lock = threading.Lock()
        self._free = capacity
        self._waiters: collections.deque = collections.deque()

    def try_enter(self) -> bool:
        """Take a free slot if nobody is waiting for one."""
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            return False

    def enter(self, timeout: float) -> bool:
        """Wait in line for a slot; False after ``timeout`` seconds."""
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        try:
            if turn.acquire(timeout=timeout):
                return True
        except BaseException:  # interrupted (KeyboardInterrupt, ...): don't keep a slot
            if not self._withdraw(turn):
                self.leave()
            raise
        return not self._withdraw(turn)  # or handed a slot just as the wait ended

    def _withdraw(self, turn: threading.Lock) -> bool:
        """Step out of line; False when a slot was already handed to ``turn``."""
        with self._lock:
            try:
                self._waiters.remove(turn)
            except ValueError:
                return False
            return True

    def leave(self) -> None:
        """Give the slot to the first waiter, or back to the free ones."""
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1


class PooledConnection:
    """One checkout: the driver connection plus what the request did with it."""

    __slots__ = (
        "pool", "fairy", "connection", "info", "owner", "effects", "broken",
        "checked_out_at", "stack", "leak_reported", "__weakref__",
    )

    def __init__(self, pool: ConnectionPool, fairy: Any, owner: Any) -> None:
        self.pool = pool
        self.fairy = fairy
        self.connection = fairy.dbapi_connection
        self.info = fairy.info
        self.owner = weakref.ref(owner) if owner is not None else None
        self.effects = session.CLEAN
        #: Why the connection must not be reused, once that is known.
        self.broken: str | None = None
        self.checked_out_at = time.monotonic()
        self.leak_reported = False
        self.stack = (
            traceback.extract_stack()[:-3] if pool.config.leak_warning_after else None
        )

    def note(self, sql: Any) -> None:
        """Record what a statement may leave behind (called before executing it)."""
        if self.effects != session.SESSION:
            effect = session.classify(sql)
            if effect > self.effects:
                self.effects = effect

    def note_error(self, exc: BaseException) -> None:
        if self.pool.driver.is_disconnect(exc):
            self.broken = "it lost its server connection"

    def release(self, autocommit: bool = True, *, abandoned: bool = False) -> None:
        """Return the connection, leaving no transaction or session state behind."""
        fairy, self.fairy = self.fairy, None
        if fairy is None:
            return
        pool = self.pool
        pool._checked_out.discard(self)
        _thread_checkouts().discard(self)
        if pool.pid != os.getpid():
            return  # inherited through fork(): never touch the parent's connection
        try:
            self._return(fairy, autocommit, abandoned)
        finally:
            # Only now: the next waiter finds the connection back in the pool.
            if pool._gate is not None:
                pool._gate.leave()

    def _return(self, fairy: Any, autocommit: bool, abandoned: bool) -> None:
        pool = self.pool
        if abandoned:  # already reported as a warning
            _invalidate(fairy, None, expected="its thread ended holding it")
            return
        if self.broken:
            _invalidate(fairy, None, failure=self.broken)
            return
        if pool.retired:
            _invalidate(fairy, None, expected="its pool was closed or its settings changed")
            return
        connection, driver = self.connection, pool.driver
        try:
            if self.effects == session.SESSION:
                if not driver.reset_session(connection):
                    _invalidate(fairy, None, expected="a statement changed its session")
                    return
                self.info[INITIALIZED] = False
            else:
                in_transaction = driver.in_transaction(connection)
                if in_transaction is None:
                    in_transaction = self.effects == session.TRANSACTION or not autocommit
                if in_transaction:
                    connection.rollback()
        except Exception as exc:
            _invalidate(fairy, exc)
            return
        self.info[LAST_USED] = time.monotonic()
        self.info[RELEASED] = True
        fairy.close()

    def abandon_inherited(self) -> None:
        """Forget this checkout in a forked child (see ConnectionPool.abandon_inherited)."""
        self.fairy = None
        owner = self.owner() if self.owner is not None else None
        if owner is not None:
            owner.forget_inherited_connection(self)

    def abandon_dead_thread(self) -> None:
        """The thread that checked this out ended without returning it."""
        if self.fairy is None or self.pool.pid != os.getpid():
            return
        owner = self.owner() if self.owner is not None else None
        if owner is not None and getattr(owner, "allow_thread_sharing", False):
            # Django lets a connection marked shared (inc_thread_sharing())
            # outlive the thread that opened it; its wrapper returns it on close.
            return
        logger.warning(
            "A thread ended holding a connection of %r; rolling back and closing it "
            "so its transaction and locks don't outlive it", self.pool.alias,
        )
        # A close alone lets the server roll back in its own time, possibly
        # after the next user already asked for the same locks; a ROLLBACK has
        # freed them when it returns. This runs in the ending thread itself, so
        # the round trip holds up no other thread.
        try:
            self.connection.rollback()
        except Exception:  # noqa: BLE001 - it is closed next either way
            logger.debug("ROLLBACK of an abandoned connection failed", exc_info=True)
        self.release(abandoned=True)


def _invalidate(fairy: Any, exc: BaseException | None, expected: str | None = None,
                failure: str | None = None) -> None:
    """Close the physical connection; its pool slot opens a new one when needed.

    ``expected`` says why, when that is part of normal operation; ``failure``
    says what went wrong when there is no exception to tell.
    """
    fairy.info[RELEASED] = True
    if expected:
        fairy.info[EXPECTED] = expected
    if failure:
        fairy.info[FAILURE] = failure
    fairy.invalidate(exc)


class _ThreadCheckouts(set):
    """The checkouts of one thread, abandoned if the thread ends holding them."""

    def __del__(self) -> None:
        # Also runs in a forked child for the parent's other threads; release()
        # leaves connections of another process alone.
        for checkout in list(self):
            try:
                checkout.abandon_dead_thread()
            except Exception:  # noqa: BLE001 - never raise from a finalizer
                logger.debug("Closing an abandoned connection failed", exc_info=True)


_local = threading.local()


def _thread_checkouts() -> _ThreadCheckouts:
    try:
        return _local.checkouts
    except AttributeError:
        checkouts = _local.checkouts = _ThreadCheckouts()
        return checkouts


# ----- registry ---------------------------------------------------------------

_pools: dict[str, ConnectionPool] = {}
_registry_lock = threading.Lock()


def get_pool(alias: str, key: tuple, driver: Driver, config: PoolConfig,
             params: Mapping[str, Any]) -> ConnectionPool:
    """The pool for ``alias`` with these settings; replaces a pool whose settings
    changed (the test runner renames the database, for instance)."""
    pool = _pools.get(alias)
    if pool is not None and pool.key == key:
        return pool
    with _registry_lock:
        pool = _pools.get(alias)
        if pool is None or pool.key != key:
            old = pool
            pool = _pools[alias] = ConnectionPool(alias, key, driver, config, params)
            if old is not None:
                logger.info("Settings of %r changed; disposing of its old pool", alias)
                old.retire()
    return pool


def close_pool(alias: str | None = None) -> None:
    """Dispose of the pools: all of them, or the one of ``alias``.

    Idle connections are closed now; checked-out ones when they are returned.
    Call it before ``fork()`` to leave the children nothing to inherit.
    """
    with _registry_lock:
        if alias is None:
            pools = list(_pools.values())
            _pools.clear()
        else:
            pool = _pools.pop(alias, None)
            pools = [pool] if pool is not None else []
    for pool in pools:
        pool.retire()


def pools() -> list[ConnectionPool]:
    return list(_pools.values())


def _after_fork_in_child() -> None:
    global _registry_lock, _local
    # Neuter the inherited sockets before anything can drop (and so close) a
    # connection object; only then let go of the pools.
    for pool in list(_pools.values()):
        try:
            pool.abandon_inherited()
        except Exception:  # noqa: BLE001 - a fork hook must not raise
            logger.debug("Could not detach an inherited pool", exc_info=True)
    _pools.clear()
    _registry_lock = threading.Lock()
    _local = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
