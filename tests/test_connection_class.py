"""Which connection class each driver uses: mysql-connector's pure-Python one,
always, whose socket the pool watches; ``OPTIONS["use_pure"] = False`` is refused.

The C extension's connection (``CMySQLConnection``) has no socket object:
no liveness check without a round trip, no protection after a fork. It cannot
even load here (it needs OpenSSL 3.2), so it would run untested.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from mysqlpool.drivers import get_driver
from tests.aliases import temporary_alias

pytestmark = pytest.mark.usefixtures("database_access")


DRIVER = get_driver(settings.MYSQLPOOL_DRIVER)
#: The class each driver's connections are (or derive from).
CLASSES = {
    "mysqlclient": "MySQLdb.connections.Connection",
    "pymysql": "pymysql.connections.Connection",
    "mysql-connector": "mysql.connector.connection.MySQLConnection",
}


def entry(**options) -> dict:
    settings_dict = {**connections["default"].settings_dict}
    settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], **options}
    return settings_dict


def class_names(connection) -> set[str]:
    return {f"{cls.__module__}.{cls.__qualname__}" for cls in type(connection).__mro__}


def test_the_connection_class_has_a_socket_the_pool_can_watch():
    # use_pure=True (the one value allowed) used to reach mysqlclient and
    # PyMySQL as an unknown connect argument.
    for options in ({}, {"use_pure": True}):
        with temporary_alias("classes", **entry(**options)) as connection:
            connection.ensure_connection()
            raw = connection.connection
            assert CLASSES[DRIVER.name] in class_names(raw)
            assert not any("cext" in name.lower() for name in class_names(raw))
            assert DRIVER.socket_state(raw) is not None


@pytest.mark.parametrize("value", [False, 0, "no"])
def test_use_pure_other_than_true_is_refused(value):
    # With mysql-connector, use_pure=False used to fail only when connecting,
    # with the connector's ImportError ("C Extension not available").
    with temporary_alias("bad", **entry(use_pure=value)) as connection:
        with pytest.raises(ImproperlyConfigured) as refused:
            connection.ensure_connection()
    message = str(refused.value)
    assert f"DATABASES['bad']['OPTIONS']['use_pure'] = {value!r}" in message, message
    assert "pure-Python" in message and "set it to True" in message, message
