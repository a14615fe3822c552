"""What makes a Django MySQL DatabaseWrapper a pooled one.

Everything Django does stays Django's: this only changes where a connection
comes from (a checkout) and where it goes on close (back to the pool), and
routes every call Django makes on ``MySQLdb`` through the driver's adapter.
mysqlpool's own ENGINE is this over Django's MySQL backend; backends.stock
puts it over Django's own ENGINE, GeoDjango's and their subclasses when their
OPTIONS ask for a pool.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from asyncio import _get_running_loop
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured, SynchronousOnlyOperation
from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.utils.asyncio import async_unsafe
from django.utils.functional import cached_property

from mysqlpool import config as pool_settings
from mysqlpool import pool as pools
from mysqlpool.checks import as_check_error
from mysqlpool.config import PoolConfig
from mysqlpool.drivers import Driver
from mysqlpool.green import installed as green_installed
from mysqlpool.green import patched_by
from mysqlpool.hosts import connect_unpooled

from .binding import Binding, current_driver, pool_key, resolve
from .cursor import CursorWrapper, DatabaseErrorWrapper

_GREEN_THREADS_INSTALLED = bool(green_installed())

#: Celery's Django fixup, which calls close_pool() around every task.
CELERY_FIXUP = "celery.fixups.django"


def _called_from_celery_fixup() -> bool:
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
_django_ensure_connection = BaseDatabaseWrapper.ensure_connection.__wrapped__  # type: ignore[attr-defined]


def _refuse_in_event_loop() -> None:
    """Django's @async_unsafe check, without the exception that
    asyncio.get_running_loop() raises and Django catches on every call made
    where no event loop runs (the common case)."""
    if _get_running_loop() is not None and not os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE"):
        raise SynchronousOnlyOperation(
            "You cannot call this from an async context - use a thread or sync_to_async.")


if TYPE_CHECKING:
    from types import FrameType

    # What the mixin goes in front of: Django's MySQL DatabaseWrapper, or a
    # subclass of it (see backends.stock).
    from django.db.backends.mysql.base import DatabaseWrapper as _MySQLWrapper
else:
    _MySQLWrapper = object


class PoolingMixin(_MySQLWrapper):
    """Before a Django MySQL DatabaseWrapper class in the bases: a MySQL
    connection checked out of a per-alias pool."""

    #: Whether an alias is pooled without OPTIONS["pool"] (mysqlpool's ENGINE).
    pool_by_default = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_pooling()

    def _init_pooling(self) -> None:
        """The pool's part of a wrapper (also for one made before its class
        was made a pooled one: see backends.stock)."""
        self._checkout: pools.PooledConnection | None = None
        #: The connection this wrapper parked at its last close(), which its
        #: next connect() takes back if nobody took it over meanwhile.
        self._parked: pools.PooledConnection | None = None
        self._pool: pools.ConnectionPool | None = None
        self._binding: Binding | None = None
        # The session state the checked-out connection had when connect() took
        # it, for init_connection_state() to skip what is already set.
        self._checked_out_state: Any = None
        self._conn_max_age_checked = False
        self._failed_health_check = False
        self._session_statements_of: tuple[Any, tuple[str, ...]] | None = None
        self._made_before_green_threads = patched_by() is None
        if _GREEN_THREADS_INSTALLED:
            # Only where gevent or eventlet could patch: the clear error for
            # a wrapper made before (an extra frame on every cursor otherwise).
            # On the instance, over the class's method.
            self.validate_thread_sharing = (  # type: ignore[method-assign]
                self._validate_thread_sharing_green)

    # ----- the driver, in place of MySQLdb ------------------------------------

    @property
    def driver(self) -> Driver:
        binding = self._binding
        # The driver depends on MYSQLPOOL_DRIVER alone: the generation tells,
        # without comparing the alias's settings on every cursor.
        if binding is not None and binding.generation == pool_settings.generation:
            return binding.driver
        return self.choose_driver()

    def choose_driver(self) -> Driver:
        """The driver for this wrapper: MYSQLPOOL_DRIVER's, or the detected one."""
        return current_driver()

    @property
    def django_conversions(self) -> dict:
        """Django's converters for MySQLdb, which the driver's replace."""
        return sys.modules["django.db.backends.mysql.base"].django_conversions

    @property
    def Database(self):  # noqa: N802 - the attribute name Django looks up
        return self.driver.dbapi

    @cached_property
    def wrap_database_errors(self) -> DatabaseErrorWrapper:
        return DatabaseErrorWrapper(self)

    # ----- configuration ------------------------------------------------------

    def _resolve(self) -> Binding:
        """What the settings give: driver, pool settings, connect parameters,
        pool. Worked out again only when the settings change (the test runner
        renames the database, override_settings, close_pool(), fork)."""
        binding = self._binding
        if binding is not None and binding.current(self.settings_dict):
            return binding
        # CONN_MAX_AGE counts at this connection's first connect, as it does
        # when Django's PostgreSQL pool is created. Set later on a live
        # connection, as Django's own tests do, it gets Django's
        # persistent-connection behaviour: the checkout is held across
        # requests until close().
        binding = self._binding = resolve(
            self, check_conn_max_age=not self._conn_max_age_checked)
        self._conn_max_age_checked = True
        return binding

    def django_connection_params(self) -> dict[str, Any]:
        """Django's own connect parameters for these settings."""
        return super().get_connection_params()

    def pool_config(self) -> PoolConfig | None:
        """This alias's pool settings, or None when it is not pooled."""
        return self._resolve().config

    def get_connection_params(self) -> dict[str, Any]:
        # Resolving also checks the pool settings (ImproperlyConfigured) and
        # sets self.isolation_level as Django's method does. A copy: callers
        # may change it, and then get their own pool (see get_new_connection).
        return dict(self._resolve().params)

    # ----- connect and close --------------------------------------------------

    # Django's cursor() and ensure_connection(), run on every query, are
    # @async_unsafe: asyncio.get_running_loop() raises RuntimeError where no
    # event loop runs, and Django catches it, each call (about 4,500
    # instructions). The same check without an exception, then Django's own code.

    def cursor(self) -> Any:
        _refuse_in_event_loop()
        return self._cursor()  # type: ignore[attr-defined]  # private: not in django-stubs

    def ensure_connection(self) -> None:
        _refuse_in_event_loop()
        if self.connection is None:
            _django_ensure_connection(self)

    def connect(self) -> None:
        parked = self._parked
        if parked is not None:
            _refuse_in_event_loop()
            self._parked = None
            if self._take_back(parked):
                return
        self._connect()

    @async_unsafe
    def _connect(self) -> None:
        """Django's connect(): a connection out of the pool (get_new_connection)."""
        try:
            super().connect()
        except ImproperlyConfigured as exc:
            # In manage.py, bad settings read as the system check's errors.
            reported = as_check_error(self.alias, self.settings_dict, exc)
            if reported is None:
                raise
            raise reported from exc

    def _take_back(self, parked: pools.PooledConnection) -> bool:
        """Connect again after a close() that parked ``parked``, as Django's
        connect() would, without what stays true: the settings the connection
        was made for, autocommit on (it is parked only then), the session set
        up for this wrapper. When another thread took it over meanwhile (it
        would otherwise have waited), another connection of the same pool,
        which needs no setup either when it was parked too. Sends
        ``connection_created``, as stock Django's connect() does after each
        close(): receivers that set something up per connection see every
        use, as without a pool. False: the settings changed, or the parked
        connection was closed (Django's connect() then takes a new one)."""
        binding = self._binding
        pool = parked.pool
        if (binding is None or binding.pool is not pool
                or not binding.current(self.settings_dict)):
            return False
        self._reset_for_connect()
        if pool.reclaim(parked, self):
            self._attach(parked)
        elif parked.fairy is None or pool.retired:
            # Closed (unusable, or its pool closed): Django's connect(), as
            # for any new connection.
            return False
        else:
            # Taken over by a thread that would otherwise have waited.
            checkout = pool.checkout(owner=self)
            self._attach(checkout)
            if not (checkout.ready and checkout.slot.session_state == self._session_statements()):
                # Not known to be set up (fresh, reset, or returned outside
                # autocommit): the rest of Django's connect().
                self._checked_out_state = checkout.slot.session_state
                self.set_autocommit(self.settings_dict["AUTOCOMMIT"])
                self.init_connection_state()
        connection_created.send(sender=self.__class__, connection=self)
        self.run_on_commit = []
        return True

    def _reset_for_connect(self) -> None:
        """What Django's connect() resets before it connects."""
        self.in_atomic_block = False
        self.savepoint_ids = []
        self.atomic_blocks = []
        self.needs_rollback = False
        self.health_check_enabled = self.settings_dict["CONN_HEALTH_CHECKS"]
        max_age = self.settings_dict["CONN_MAX_AGE"]
        self.close_at = None if max_age is None else time.monotonic() + max_age
        self.closed_in_transaction = False
        self.errors_occurred = False
        self.health_check_done = True

    def _attach(self, checkout: pools.PooledConnection) -> None:
        self.connection = checkout.connection
        self._checkout = checkout
        self._pool = checkout.pool  # type: ignore[assignment]  # a ConnectionPool

    @async_unsafe
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        binding = self._binding
        if binding is None or (binding.pool is not None and binding.pool.retired):
            binding = self._resolve()
        # Otherwise connect() has just resolved it, in get_connection_params().
        driver = binding.driver
        if binding.config is None:
            return connect_unpooled(driver, self.alias, conn_params)
        pool = binding.pool
        if conn_params != binding.params:
            # Called with parameters of the caller's own: their own pool.
            pool = pools.get_pool(
                self.alias, pool_key(driver, binding.config, conn_params), driver,
                binding.config, conn_params, self.settings_dict,
            )
        self._pool = pool
        # A binding with a config has its pool (see binding.resolve).
        checkout = self._checkout = pool.checkout(owner=self)  # type: ignore[union-attr]
        self._checked_out_state = checkout.slot.session_state
        return checkout.connection

    def _session_statements(self) -> tuple[str, ...]:
        """Django's session setup for this wrapper (its isolation level, ...)."""
        cached = self._session_statements_of
        if cached is not None and cached[0] == self.isolation_level:
            return cached[1]
        statements = []
        if self.features.is_sql_auto_is_null_enabled:
            statements.append("SET SQL_AUTO_IS_NULL = 0")
        if self.isolation_level:
            statements.append(
                f"SET SESSION TRANSACTION ISOLATION LEVEL {self.isolation_level.upper()}"
            )
        self._session_statements_of = (self.isolation_level, tuple(statements))
        return self._session_statements_of[1]

    def _base_connection_state(self) -> None:
        """What Django's BaseDatabaseWrapper sets up on a new connection (the
        server version check), which Django's MySQL backend runs too."""
        BaseDatabaseWrapper.init_connection_state(self)

    def init_connection_state(self) -> None:
        self._base_connection_state()
        checkout = self._checkout
        statements = self._session_statements()
        seen, self._checked_out_state = self._checked_out_state, None
        if checkout is not None and seen == statements:
            # connect() on a physical connection that already has this session
            # state (set up by this or another wrapper with the same settings).
            # A later, explicit call applies it again.
            return
        if statements:
            # A cursor that doesn't tell the checkout: these are the pool's own
            # settings, not changes a request made. Still Django's cursor, so
            # they show in connection.queries like stock Django's. One statement
            # each needs no multi-statement support.
            raw = CursorWrapper(self.driver.cursor(self.connection), self.driver, None)
            # Django's private method, not in django-stubs.
            with self._prepare_cursor(raw) as cursor:  # type: ignore[attr-defined]
                for statement in statements:
                    cursor.execute(statement)
        if checkout is not None:
            checkout.slot.session_state = statements

    def _close(self) -> None:
        checkout = self._checkout
        if checkout is None:
            return super()._close()  # type: ignore[misc]  # private: not in django-stubs
        self._checkout = None
        if self._failed_health_check:
            checkout.mark_broken("it failed Django's health check (CONN_HEALTH_CHECKS)")
        # As Django's PostgreSQL pool does: the connection is gone from this
        # wrapper even inside an atomic block (Django then refuses to reconnect).
        self.connection = None
        with self.wrap_database_errors:
            if checkout.release(autocommit=self.autocommit):
                self._parked = checkout

    def close_if_unusable_or_obsolete(self) -> None:
        # Django's method (at each request's start and end), in one call where
        # it ends in close() as it does at every request's end with a pool
        # (CONN_MAX_AGE = 0): nothing of it skipped, but its get_autocommit()
        # and close() go through @async_unsafe, which raises and catches an
        # exception per call where no event loop runs.
        if (self._checkout is not None and self.connection is not None
                and not self.errors_occurred and not self.in_atomic_block
                and not self.closed_in_transaction and self.close_at is not None
                and self.autocommit == self.settings_dict["AUTOCOMMIT"]
                and self._thread_ident == threading.get_ident()  # type: ignore[attr-defined]
                and _get_running_loop() is None and time.monotonic() >= self.close_at):
            self.health_check_done = False
            self.run_on_commit = []
            try:
                self._close()
            finally:
                self.connection = None
            return
        super().close_if_unusable_or_obsolete()

    def close_if_health_check_failed(self) -> None:
        if not self.health_check_enabled:
            return  # as Django's method would, without the bookkeeping below
        # Django closes here only a connection that failed is_usable(): a
        # broken one, which must not go back to the pool for the next request.
        self._failed_health_check = True
        try:
            super().close_if_health_check_failed()
        finally:
            self._failed_health_check = False

    def forget_inherited_connection(self, checkout: pools.PooledConnection) -> None:
        """In a forked child: drop the parent's connection without touching it."""
        if self._parked is checkout:
            self._parked = None
        if self._checkout is checkout:
            self._checkout = None
            self.connection = None
            if self.in_atomic_block:
                self.closed_in_transaction = True
                self.needs_rollback = True

    def _validate_thread_sharing_green(self) -> None:
        try:
            super().validate_thread_sharing()
        except DatabaseError as exc:
            library = patched_by()
            if library is None or not self._made_before_green_threads:
                raise
            # Django's connections were set up before the process was
            # monkey-patched (gunicorn --preload with gevent workers): every
            # green thread gets this same wrapper. Stock Django fails the same
            # way; say why, and what to do.
            raise DatabaseError(
                f"The connection for database alias {self.alias!r} was created before "
                f"{library} monkey-patched this process, so every green thread shares it "
                "and Django refuses it (\"DatabaseWrapper objects created in a thread can "
                "only be used in that same thread\"). With gunicorn this is --preload: the "
                f"app is loaded in the master, and each {library} worker patches only after "
                f"it is forked. Run {library} workers without --preload (or monkey-patch "
                "before Django is imported, in a process that is not forked afterwards)."
            ) from exc

    def close_pool(self) -> None:
        """Dispose of this alias's pool (Django's pool convention): idle
        connections close now, checked-out ones when they are returned, and
        the next connect opens a new pool.

        Except when Celery's Django fixup calls it: in prefork workers it does
        so before and after every task, to keep a pool from being shared with
        the process it was forked from (celery#9953). mysqlpool's pools never
        are: a forked child abandons every pool it inherited (pool.registry),
        so that call keeps this process's own pool, and tasks don't reconnect.
        """
        if _called_from_celery_fixup():
            pool = pools.pool_for(self.alias)
            if pool is None or pool.pid == os.getpid():
                return
        pools.close_pool(self.alias)

    def _mark_broken(self, why: str, exc: BaseException | None = None) -> None:
        checkout = self._checkout
        if checkout is not None:
            if exc is not None:
                checkout.note_error(exc)
            checkout.mark_broken(why)

    # ----- what Django's backend calls on MySQLdb -----------------------------

    def create_cursor(self, name: str | None = None) -> CursorWrapper:
        _refuse_in_event_loop()  # Django's @async_unsafe, cheaper (once per query)
        driver = self.driver
        return CursorWrapper(driver.cursor(self.connection), driver, self._checkout)

    # A failed COMMIT, ROLLBACK or autocommit change leaves the session in a
    # state nobody knows: the connection is closed when it is returned.

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]  # private: not in django-stubs
        except Exception as exc:
            self._mark_broken("COMMIT failed on it", exc)
            raise

    def _rollback(self) -> None:
        try:
            BaseDatabaseWrapper._rollback(self)  # type: ignore[attr-defined]  # as _commit
        except self.Database.NotSupportedError:
            pass
        except Exception as exc:
            self._mark_broken("ROLLBACK failed on it", exc)
            raise

    def _set_autocommit(self, autocommit: bool) -> None:
        try:
            with self.wrap_database_errors:
                self.driver.set_autocommit(self.connection, autocommit)
        except Exception as exc:
            self._mark_broken("changing autocommit failed on it", exc)
            raise

    def is_usable(self) -> bool:
        if self.connection is None:
            return False  # _close() gave it back to the pool
        checkout = self._checkout
        if checkout is not None and checkout.broken:
            # Known unusable (a timeout, a lost connection): no ping, which
            # could wait the driver's whole read timeout on a dead server.
            return False
        try:
            self.driver.ping(self.connection)
        except self.Database.Error:
            self._mark_broken("it failed Django's is_usable() check")
            return False
        return True

    @cached_property
    def mysql_server_data(self) -> dict[str, Any]:
        # The same server answers for the whole pool: ask once per pool, not
        # once per thread's DatabaseWrapper.
        with self.temporary_connection():
            pool = self._pool
            if pool is not None and pool.server_data is not None:
                return pool.server_data
            data = super().mysql_server_data
            if pool is not None:
                pool.server_data = data
            return data
