"""Each tox environment installs one driver: the backend must need nothing else."""

import importlib.util
import os
import sys

import pytest
from django.conf import settings
from django.db import connections

from mysqlpool.drivers import DRIVERS

only_one_driver = pytest.mark.skipif(
    not os.environ.get("MYSQLPOOL_TEST_ONLY_DRIVER"),
    reason="set by tox, whose environments install a single driver",
)


def installed(cls) -> bool:
    return importlib.util.find_spec(cls.module_name.split(".")[0]) is not None


@only_one_driver
def test_only_the_chosen_driver_is_installed():
    chosen = settings.MYSQLPOOL_DRIVER
    assert [cls.name for cls in DRIVERS.values() if installed(cls)] == [chosen]


@pytest.mark.django_db
def test_the_backend_runs_on_the_chosen_driver():
    connection = connections["default"]
    connection.ensure_connection()
    expected = settings.MYSQLPOOL_DRIVER or next(
        cls.name for cls in DRIVERS.values() if installed(cls)
    )
    assert connection.driver.name == expected
    # Errors Django maps are the driver's own classes.
    assert connection.Database is connection.driver.dbapi


def test_no_mysqldb_is_left_behind_without_mysqlclient():
    if installed(DRIVERS["mysqlclient"]):
        pytest.skip("mysqlclient is installed: MySQLdb is the real one")
    connections["default"].driver  # noqa: B018 - loads the backend
    assert "MySQLdb" not in sys.modules
