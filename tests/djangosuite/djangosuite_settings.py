"""Settings for Django's own ``runtests.py`` with mysqlpool as the database backend.

``runtests.py --settings=djangosuite_settings`` (``run.py`` passes it). The
driver comes from ``MYSQLPOOL_DRIVER``, the server from ``MYSQLPOOL_TEST_URL``
(``mysql://user:password@host:port/database``). Everything else is what
Django's own ``tests/test_sqlite.py`` sets, plus what MySQL needs.

``DJANGOSUITE_ENGINE=stock``: Django's own ENGINE with ``OPTIONS["pool"]``
instead of mysqlpool's, on the MySQLdb it imports (PyMySQL installed as
MySQLdb for the pymysql driver, as its users do).
"""

import os
from urllib.parse import unquote, urlparse

import django

DEFAULT_URL = "mysql://root@127.0.0.1:3306/test"

_url = urlparse(os.environ.get("MYSQLPOOL_TEST_URL") or DEFAULT_URL)
MYSQLPOOL_DRIVER = os.environ.get("MYSQLPOOL_DRIVER") or None
STOCK_ENGINE = os.environ.get("DJANGOSUITE_ENGINE") == "stock"
if STOCK_ENGINE and MYSQLPOOL_DRIVER == "pymysql":
    import pymysql

    pymysql.install_as_MySQLdb()

# Test databases named after the driver, so the three environments can run at
# the same time against one server (DJANGOSUITE_DATABASE_PREFIX: runs from two
# checkouts, too).
_test_name = (os.environ.get("DJANGOSUITE_DATABASE_PREFIX") or "test_djangosuite_") + (
    "stock_" if STOCK_ENGINE else "") + (MYSQLPOOL_DRIVER or "default").replace("-", "_")


def _alias(test_name: str) -> dict:
    return {
        "ENGINE": "django.db.backends.mysql" if STOCK_ENGINE else "mysqlpool.backends.mysqlpool",
        "HOST": _url.hostname or "127.0.0.1",
        "PORT": str(_url.port or 3306),
        "USER": unquote(_url.username or "root"),
        "PASSWORD": unquote(_url.password or ""),
        "NAME": _url.path.lstrip("/") or "test",
        "TEST": {"NAME": test_name, "CHARSET": "utf8mb4"},
        **({"OPTIONS": {"pool": True}} if STOCK_ENGINE else {}),
    }


DATABASES = {
    "default": _alias(_test_name),
    "other": _alias(_test_name + "_other"),
}

SECRET_KEY = "django_tests_secret_key"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Django 6.x's tests expect the BigAutoField default; its older test settings
# set AutoField.
if django.VERSION < (6, 0):
    DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

USE_TZ = False

# Records every test's outcome for run.py to compare with the expected failures.
TEST_RUNNER = "djangosuite_runner.ConformanceRunner"
