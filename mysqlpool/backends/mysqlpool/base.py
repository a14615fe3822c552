"""Django's MySQL backend with a pooled connection underneath.

Everything Django does stays Django's; this subclass only changes where a
connection comes from (a checkout) and where it goes on close (back to the
pool), and routes every call that Django makes on ``MySQLdb`` through the
chosen driver's adapter.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.db import IntegrityError, utils
from django.db.backends.base.base import NO_DB_ALIAS, BaseDatabaseWrapper
from django.utils.asyncio import async_unsafe
from django.utils.functional import cached_property

from mysqlpool import config as pool_settings
from mysqlpool import pool as pools
from mysqlpool.checks import check_pool_settings
from mysqlpool.config import PoolConfig, pool_config
from mysqlpool.drivers import Driver, get_driver, import_django_mysql

mysql_base = import_django_mysql(lambda: get_driver(getattr(settings, "MYSQLPOOL_DRIVER", None)))

from .creation import DatabaseCreation  # noqa: E402  (needs Django's backend first)
from .schema import DatabaseSchemaEditor  # noqa: E402
from .validation import DatabaseValidation  # noqa: E402

checks.register(check_pool_settings, "mysqlpool")


class CursorWrapper(mysql_base.CursorWrapper):
    """Django's cursor wrapper, catching the driver's errors rather than MySQLdb's,
    and telling the checkout what each statement may leave behind."""

    def __init__(self, cursor: Any, driver: Driver, checkout: pools.PooledConnection | None):
        super().__init__(cursor)
        self.driver = driver
        self.checkout = checkout

    def execute(self, query, args=None):
        if self.checkout is not None:
            self.checkout.note(query)
        try:
            # args is None means no string interpolation
            return self.cursor.execute(query, args)
        except self.driver.dbapi.Error as exc:
            self._raise(exc)

    def executemany(self, query, args):
        if self.checkout is not None:
            self.checkout.note(query)
        try:
            return self.cursor.executemany(query, args)
        except self.driver.dbapi.Error as exc:
            self._raise(exc)

    def callproc(self, procname, args=()):
        if self.checkout is not None:
            self.checkout.note("CALL")  # a procedure may change anything
        try:
            return self.cursor.callproc(procname, args)
        except self.driver.dbapi.Error as exc:
            self._raise(exc)

    def _raise(self, exc: BaseException):
        if self.checkout is not None:
            self.checkout.note_error(exc)
        exc = self.driver.translate_error(exc)
        if (
            isinstance(exc, self.driver.dbapi.OperationalError)
            and self.driver.error_code(exc) in self.codes_for_integrityerror
        ):
            # As Django's wrapper does: these codes are integrity problems.
            raise IntegrityError(*tuple(exc.args)) from exc
        raise exc


class DatabaseErrorWrapper(utils.DatabaseErrorWrapper):
    """Django's error mapping, after the driver has made its exception look like
    mysqlclient's (so every driver gives Django the same classes)."""

    def __exit__(self, exc_type, exc_value, traceback):
        if exc_type is None:
            return None  # the common case, seven times a request: skip the super() call
        if exc_value is not None:
            translated = self.wrapper.driver.translate_error(exc_value)
            if translated is not exc_value:
                return super().__exit__(type(translated), translated, traceback)
        return super().__exit__(exc_type, exc_value, traceback)


class DatabaseWrapper(mysql_base.DatabaseWrapper):
    """A MySQL connection checked out of a per-alias pool."""

    SchemaEditorClass = DatabaseSchemaEditor
    creation_class = DatabaseCreation
    validation_class = DatabaseValidation

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._checkout: pools.PooledConnection | None = None
        self._pool: pools.ConnectionPool | None = None
        self._binding: _Binding | None = None
        # Set by a checkout whose connection init_connection_state() already set up.
        self._session_ready = False
        self._conn_max_age_checked = False
        self._failed_health_check = False

    # ----- the driver, in place of MySQLdb ------------------------------------

    @property
    def driver(self) -> Driver:
        binding = self._binding
        if binding is not None and binding.generation == pool_settings.generation:
            return binding.driver
        return get_driver(getattr(settings, "MYSQLPOOL_DRIVER", None))

    @property
    def Database(self):  # noqa: N802 - the attribute name Django looks up
        return self.driver.dbapi

    @cached_property
    def wrap_database_errors(self) -> DatabaseErrorWrapper:
        return DatabaseErrorWrapper(self)

    # ----- configuration ------------------------------------------------------

    def _resolve(self) -> _Binding:
        """What the settings give: driver, pool settings, connect parameters,
        pool. Worked out again only when the settings change (the test runner
        renames the database, override_settings, close_pool(), fork)."""
        binding = self._binding
        if (
            binding is not None
            and binding.generation == pool_settings.generation
            and (binding.pool is None or not binding.pool.retired)
            and self.settings_dict == binding.settings
        ):
            return binding
        generation = pool_settings.generation
        snapshot = _snapshot(self.settings_dict)
        driver = get_driver(getattr(settings, "MYSQLPOOL_DRIVER", None))
        config = None
        if self.alias != NO_DB_ALIAS:  # Django's short-lived connection without a database
            # CONN_MAX_AGE counts at this connection's first connect, as it
            # does when Django's PostgreSQL pool is created. Set later on a
            # live connection, as Django's own tests do, it gets Django's
            # persistent-connection behaviour: the checkout is held across
            # requests until close().
            config = pool_config(
                self.alias, self.settings_dict,
                check_conn_max_age=not self._conn_max_age_checked,
            )
            self._conn_max_age_checked = True
        params = super().get_connection_params()
        params.pop("pool", None)  # our OPTIONS key, not the driver's
        if params.get("conv") is mysql_base.django_conversions:
            if driver.conversions is None:
                del params["conv"]
            else:
                params["conv"] = driver.conversions
        pool = None
        if config is not None:
            key = _pool_key(driver, config, params)
            pool = pools.get_pool(self.alias, key, driver, config, params)
        binding = self._binding = _Binding(generation, snapshot, driver, config, params, pool)
        return binding

    def pool_config(self) -> PoolConfig | None:
        """This alias's pool settings, or None when it is not pooled."""
        return self._resolve().config

    def get_connection_params(self) -> dict[str, Any]:
        # Resolving also checks the pool settings (ImproperlyConfigured) and
        # sets self.isolation_level as Django's method does. A copy: callers
        # may change it, and then get their own pool (see get_new_connection).
        return dict(self._resolve().params)

    # ----- connect and close --------------------------------------------------

    @async_unsafe
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        binding = self._binding
        if binding is None or (binding.pool is not None and binding.pool.retired):
            binding = self._resolve()
        # Otherwise connect() has just resolved it, in get_connection_params().
        driver = binding.driver
        if binding.config is None:
            return driver.connect(driver.connect_params(conn_params))
        pool = binding.pool
        if conn_params != binding.params:
            # Called with parameters of the caller's own: their own pool.
            pool = pools.get_pool(
                self.alias, _pool_key(driver, binding.config, conn_params), driver,
                binding.config, conn_params,
            )
        self._pool = pool
        self._checkout = pool.checkout(owner=self)
        self._session_ready = bool(self._checkout.info.get(pools.INITIALIZED))
        return self._checkout.connection

    def init_connection_state(self) -> None:
        BaseDatabaseWrapper.init_connection_state(self)
        checkout = self._checkout
        if self._session_ready:
            # connect() on a physical connection that already has the session
            # state below. A later, explicit call applies it again.
            self._session_ready = False
            return
        statements = []
        if self.features.is_sql_auto_is_null_enabled:
            statements.append("SET SQL_AUTO_IS_NULL = 0")
        if self.isolation_level:
            statements.append(
                f"SET SESSION TRANSACTION ISOLATION LEVEL {self.isolation_level.upper()}"
            )
        if statements:
            # A cursor that doesn't tell the checkout: these are the pool's own
            # settings, not changes a request made. Still Django's cursor, so
            # they show in connection.queries like stock Django's. One statement
            # each needs no multi-statement support.
            raw = CursorWrapper(self.driver.cursor(self.connection), self.driver, None)
            with self._prepare_cursor(raw) as cursor:
                for statement in statements:
                    cursor.execute(statement)
        if checkout is not None:
            checkout.info[pools.INITIALIZED] = True

    def _close(self) -> None:
        checkout = self._checkout
        if checkout is None:
            return super()._close()
        self._checkout = None
        if self._failed_health_check:
            checkout.broken = "it failed Django's health check (CONN_HEALTH_CHECKS)"
        # As Django's PostgreSQL pool does: the connection is gone from this
        # wrapper even inside an atomic block (Django then refuses to reconnect).
        self.connection = None
        with self.wrap_database_errors:
            checkout.release(autocommit=self.autocommit)

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
        if self._checkout is checkout:
            self._checkout = None
            self.connection = None
            if self.in_atomic_block:
                self.closed_in_transaction = True
                self.needs_rollback = True

    def close_pool(self) -> None:
        """Dispose of this alias's pool (Django's pool convention)."""
        pools.close_pool(self.alias)

    # ----- what Django's backend calls on MySQLdb -----------------------------

    @async_unsafe
    def create_cursor(self, name: str | None = None) -> CursorWrapper:
        driver = self.driver
        return CursorWrapper(driver.cursor(self.connection), driver, self._checkout)

    def _rollback(self) -> None:
        try:
            BaseDatabaseWrapper._rollback(self)
        except self.Database.NotSupportedError:
            pass

    def _set_autocommit(self, autocommit: bool) -> None:
        with self.wrap_database_errors:
            self.driver.set_autocommit(self.connection, autocommit)

    def is_usable(self) -> bool:
        if self.connection is None:
            return False  # _close() gave it back to the pool
        try:
            self.driver.ping(self.connection)
        except self.Database.Error:
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


class _Binding:
    """One wrapper's settings, resolved; reused while they stay the same."""

    __slots__ = ("generation", "settings", "driver", "config", "params", "pool")

    def __init__(self, generation: int, settings_snapshot: dict, driver: Driver,
                 config: PoolConfig | None, params: dict[str, Any],
                 pool: pools.ConnectionPool | None) -> None:
        self.generation = generation
        self.settings = settings_snapshot
        self.driver = driver
        self.config = config
        self.params = params
        self.pool = pool


def _snapshot(value: Any) -> Any:
    """A copy of the settings to compare with later: containers are copied, so
    a change made in place (settings_dict["NAME"] = ...) shows up as a difference."""
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_snapshot(item) for item in value]
    return value


# Connect arguments that hold secrets: the drivers' password spellings, the
# connector's multi-factor passwords, PyMySQL's client key password.
_SECRET_PARAMS = frozenset({
    "password", "passwd", "password1", "password2", "password3", "ssl_key_password",
})


def _pool_key(driver: Driver, config: PoolConfig, params: dict[str, Any]) -> tuple:
    """What makes two connections interchangeable. No plaintext password."""
    items = []
    for name, value in params.items():
        if name in _SECRET_PARAMS:
            value = pools.password_digest(value)
        elif name == "conv" and value is driver.conversions:
            value = "driver default"
        elif name == "ssl" and isinstance(value, dict) and "password" in value:
            # PyMySQL reads the client key's password from the ssl dict.
            value = {**value, "password": pools.password_digest(value["password"])}
        items.append((name, pools.freeze(value)))
    items.sort()
    return (driver.name, config, tuple(items))
