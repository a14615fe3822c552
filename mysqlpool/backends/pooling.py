"""What makes a Django MySQL DatabaseWrapper a pooled one.

Everything Django does stays Django's: this only changes where a connection
comes from (a checkout) and where it goes on close (back to the pool), and
routes every call Django makes on ``MySQLdb`` through the driver's adapter.
mysqlpool's own ENGINE is this over Django's MySQL backend; backends.stock
puts it over Django's own ENGINE, GeoDjango's and their subclasses when their
OPTIONS ask for a pool.
"""

from __future__ import annotations

import sys
from asyncio import _get_running_loop
from typing import Any

from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.functional import cached_property

from mysqlpool import config as pool_settings
from mysqlpool.config import PoolConfig
from mysqlpool.drivers import Driver
from mysqlpool.green import installed as green_installed
from mysqlpool.green import patched_by

from .binding import Binding, current_driver, resolve
from .connecting import ConnectionCycle
from .cursor import CursorWrapper, DatabaseErrorWrapper
from .guards import refuse_in_event_loop

_GREEN_THREADS_INSTALLED = bool(green_installed())


class PoolingMixin(ConnectionCycle):
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
        self._checkout = None
        self._parked = None
        self._pool = None
        self._binding = None
        self._checked_out_state = None
        self._conn_max_age_checked = False
        self._failed_health_check = False
        self._session_statements_of = None
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

    def _mark_broken(self, why: str, exc: BaseException | None = None) -> None:
        checkout = self._checkout
        if checkout is not None:
            if exc is not None:
                checkout.note_error(exc)
            checkout.mark_broken(why)

    # ----- what Django's backend calls on MySQLdb -----------------------------

    def create_cursor(self, name: str | None = None) -> CursorWrapper:
        if _get_running_loop() is not None:  # Django's @async_unsafe, cheaper
            refuse_in_event_loop()
        checkout = self._checkout
        # The driver of the pool the connection came from (the property
        # looks at the settings again).
        driver = checkout.pool.driver if checkout is not None else self.driver
        return CursorWrapper(driver.cursor(self.connection), driver, checkout)

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
