"""How a pooled wrapper connects and closes: Django's connect() and close(),
with the connection checked out of the alias's pool and returned to it, and
the connection a wrapper parked at its last close() taken back without the
setup it still has (a part of PoolingMixin, backends/pooling.py)."""

from __future__ import annotations

import os
import threading
import time
from asyncio import _get_running_loop
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.utils.asyncio import async_unsafe

from mysqlpool import pool as pools
from mysqlpool.checks import as_check_error
from mysqlpool.hosts import connect_unpooled

from .binding import Binding, pool_key
from .cursor import CursorWrapper
from .guards import called_from_celery_fixup, django_ensure_connection, refuse_in_event_loop

if TYPE_CHECKING:
    # What the mixin goes in front of: Django's MySQL DatabaseWrapper, or a
    # subclass of it (see backends.stock).
    from django.db.backends.mysql.base import DatabaseWrapper as _MySQLWrapper

    from mysqlpool.drivers import Driver
else:
    _MySQLWrapper = object


class ConnectionCycle(_MySQLWrapper):
    """connect() and close() of a pooled wrapper (PoolingMixin sets the state up)."""

    _checkout: pools.PooledConnection | None
    #: The connection this wrapper parked at its last close(), which its
    #: next connect() takes back if nobody took it over meanwhile.
    _parked: pools.PooledConnection | None
    _pool: pools.ConnectionPool | None
    _binding: Binding | None
    # The session state the checked-out connection had when connect() took
    # it, for init_connection_state() to skip what is already set.
    _checked_out_state: Any
    _failed_health_check: bool
    _session_statements_of: tuple[Any, tuple[str, ...]] | None

    if TYPE_CHECKING:
        @property
        def driver(self) -> Driver: ...

        def _resolve(self) -> Binding: ...

    # ----- connect and close --------------------------------------------------

    # Django's cursor() and ensure_connection(), run on every query, are
    # @async_unsafe: asyncio.get_running_loop() raises RuntimeError where no
    # event loop runs, and Django catches it, each call (about 4,500
    # instructions). The same check without an exception, then Django's own
    # code; the check in full (a call) only where an event loop runs.

    def cursor(self) -> Any:
        if _get_running_loop() is not None:
            refuse_in_event_loop()
        return self._cursor()  # type: ignore[attr-defined]  # private: not in django-stubs

    def ensure_connection(self) -> None:
        if _get_running_loop() is not None:
            refuse_in_event_loop()
        if self.connection is None:
            parked = self._parked
            # Each request's first query: the connection parked at the last
            # close() taken back, without Django's ensure_connection() and
            # connect() around it (what they check and reset is done here,
            # on every request: in as few calls as it can).
            if parked is not None and not (self.in_atomic_block and self.closed_in_transaction):
                self._parked = None
                try:
                    if self._take_back(parked):
                        return
                except BaseException as exc:
                    self._translate(exc)
                    raise
            django_ensure_connection(self)

    def _translate(self, exc: BaseException) -> None:
        """Raise ``exc`` as Django's ``with self.wrap_database_errors:`` would
        (a driver's error as Django's); return when it is not one."""
        self.wrap_database_errors.__exit__(type(exc), exc, exc.__traceback__)

    def connect(self) -> None:
        parked = self._parked
        if parked is not None:
            refuse_in_event_loop()
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
        # What Django's connect() resets before it connects.
        settings_dict = self.settings_dict
        self.in_atomic_block = False
        self.savepoint_ids = []
        self.atomic_blocks = []
        self.needs_rollback = False
        self.health_check_enabled = settings_dict["CONN_HEALTH_CHECKS"]
        max_age = settings_dict["CONN_MAX_AGE"]
        self.close_at = None if max_age is None else time.monotonic() + max_age
        self.closed_in_transaction = False
        self.errors_occurred = False
        self.health_check_done = True
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
        # Signal.send() returns at once without receivers: not called then.
        if connection_created.receivers:
            connection_created.send(sender=self.__class__, connection=self)
        self.run_on_commit = []
        return True

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
        try:
            if checkout.pool.finish(checkout, self.autocommit):
                self._parked = checkout
        except BaseException as exc:
            self._translate(exc)
            raise

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
            self._close()
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
        if called_from_celery_fixup():
            pool = pools.pool_for(self.alias)
            if pool is None or pool.pid == os.getpid():
                return
        pools.close_pool(self.alias)
