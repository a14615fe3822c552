"""mysqlpool's ENGINE: Django's MySQL backend with a pooled connection
underneath, on the driver MYSQLPOOL_DRIVER names (or the one detected).

Everything Django does stays Django's; the pooling is backends.pooling's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core import checks

from mysqlpool.backends.binding import current_driver
from mysqlpool.checks import check_green_threads, check_pool_settings
from mysqlpool.drivers import import_django_mysql

if TYPE_CHECKING:
    from django.db.backends.mysql import base as mysql_base
else:
    mysql_base = import_django_mysql(current_driver)

from mysqlpool.backends.pooling import PoolingMixin  # noqa: E402  (after Django's backend)

from .creation import DatabaseCreation  # noqa: E402
from .schema import DatabaseSchemaEditor  # noqa: E402
from .validation import DatabaseValidation  # noqa: E402

checks.register(check_pool_settings, "mysqlpool")
checks.register(check_green_threads, "mysqlpool")


class DatabaseWrapper(PoolingMixin, mysql_base.DatabaseWrapper):
    """A MySQL connection checked out of a per-alias pool."""

    SchemaEditorClass = DatabaseSchemaEditor
    creation_class = DatabaseCreation
    validation_class = DatabaseValidation
