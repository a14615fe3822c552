"""mysql-connector's own "MySQL Connection not available" (OperationalError -1,
what it raises once the server closed its connection under it) counts as a
lost connection: the pool replaces the connection, and the next request
works. The other drivers have no such error.

Through Django's cursor mysqlpool's connector connection raises
mysqlclient's 2006 instead; the connector's own error comes from its own API
on the driver connection, here a cursor with the connector's options
(``dictionary=True``), which asks the server first whether it is there."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connections

import mysqlpool
from mysqlpool.drivers import get_driver
from tests.aliases import temporary_alias
from tests.conftest import connection_id, wait_for
from tests.users import LIMITED

pytestmark = [
    pytest.mark.skipif(
        get_driver(settings.MYSQLPOOL_DRIVER).name != "mysql-connector",
        reason="'MySQL Connection not available' is mysql-connector's own error",
    ),
    pytest.mark.usefixtures("database_access"),
]


def test_connection_not_available_is_a_disconnect_and_the_connection_is_replaced(
        admin, fresh_pools):
    default = connections["default"].settings_dict
    with temporary_alias("connector", HOST=default["HOST"], PORT=default["PORT"],
                         NAME=default["NAME"], USER=LIMITED.user, PASSWORD=LIMITED.password,
                         OPTIONS={"pool": {"pool_size": 1, "max_overflow": 0}}) as connection:
        driver = connection.driver
        first = connection_id("connector")
        # The server closes the connection under the request that holds it.
        admin.query(f"KILL {int(first)}")
        wait_for(lambda: first not in admin.connection_ids(LIMITED.user), 10,
                 "the killed connection is still on the server")
        with pytest.raises(driver.dbapi.OperationalError,
                           match="MySQL Connection not available") as raised:
            connection.connection.cursor(dictionary=True)
        assert driver.is_disconnect(raised.value)
        connection.close()  # the end of the request

        # The next requests get a new connection, which works.
        second = connection_id("connector")
        connection.close()
        assert second != first
        assert connection_id("connector") == second
        connection.close()
        assert mysqlpool.stats()["connector"]["invalidations"] == 1
