"""Django's cursor and error wrappers, catching the chosen driver's errors
rather than MySQLdb's, and telling the checkout what each statement may leave
behind."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, utils
from django.db.backends.mysql.base import CursorWrapper as MySQLCursorWrapper

from mysqlpool.drivers import Driver
from mysqlpool.pool import PooledConnection


class CursorWrapper(MySQLCursorWrapper):
    """Django's MySQL cursor wrapper over the driver's cursor.

    ``checkout`` is None for statements that are the pool's own (session
    setup) or for an unpooled alias.
    """

    def __init__(self, cursor: Any, driver: Driver, checkout: PooledConnection | None):
        self.cursor = cursor  # all that Django's __init__ does (one call less per query)
        self.driver = driver
        self.checkout = checkout
        #: The connection's use this cursor belongs to (refused in any other).
        self.use = checkout.use if checkout is not None else 0

    def execute(self, query, args=None):
        if self.checkout is not None:
            self.checkout.note(query, self.use)
        try:
            # args is None means no string interpolation
            return self.cursor.execute(query, args)
        except self.driver.dbapi.Error as exc:
            self._raise(exc)

    def executemany(self, query, args):
        if self.checkout is not None:
            self.checkout.note(query, self.use)
        try:
            return self.cursor.executemany(query, args)
        except self.driver.dbapi.Error as exc:
            self._raise(exc)

    def callproc(self, procname, args=()):
        if self.checkout is not None:
            self.checkout.note("CALL", self.use)  # a procedure may change anything
        try:
            return self.cursor.callproc(procname, args)
        except self.driver.dbapi.Error as exc:
            self._raise(exc)

    def nextset(self):
        # Reads the next result from the server: not on a returned connection.
        if self.checkout is not None and not self.checkout.current(self.use):
            self.checkout.note("", self.use)  # raises the closed-cursor error
        return self.cursor.nextset()

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
        if isinstance(exc_value, ImproperlyConfigured):
            # Bad settings (a driver that is not installed, say): nothing of
            # the driver's to translate, nor a driver to ask.
            return None
        if exc_value is not None:
            translated = self.wrapper.driver.translate_error(exc_value)
            if translated is not exc_value:
                return super().__exit__(type(translated), translated, traceback)
        return super().__exit__(exc_type, exc_value, traceback)
