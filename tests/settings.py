"""Django settings for the test suite: the same tests for every driver.

The driver comes from MYSQLPOOL_DRIVER (tox sets it per environment); the
server from MYSQLPOOL_TEST_URL, or a throwaway mariadbd (see tests/server.py).
"""

import importlib.util
import os

from tests.server import session_server
from tests.users import LIMITED, OTHER, create_users

SERVER = session_server()
create_users(SERVER)

POOLED = "mysqlpool.backends.mysqlpool"
MYSQLPOOL_DRIVER = os.environ.get("MYSQLPOOL_DRIVER") or None
# A test database per process, so runs against one shared server don't collide.
TEST_DATABASE = f"test_mysqlpool_{os.getpid()}"

DATABASES = {
    "default": {
        "ENGINE": POOLED,
        **SERVER.django(),
        "OPTIONS": {"pool": {"pool_size": 10, "max_overflow": 10, "timeout": 10}},
        "TEST": {"NAME": TEST_DATABASE, "CHARSET": "utf8mb4"},
    },
    # Same test database, another user: pools never mix users or aliases.
    "other": {
        "ENGINE": POOLED,
        **SERVER.django(USER=OTHER.user, PASSWORD=OTHER.password),
        "TEST": {"MIRROR": "default"},
    },
    # A small pool whose connections the tests count on the server.
    "limited": {
        "ENGINE": POOLED,
        **SERVER.django(USER=LIMITED.user, PASSWORD=LIMITED.password),
        "OPTIONS": {"pool": {"pool_size": 4, "max_overflow": 0, "timeout": 30}},
        "TEST": {"MIRROR": "default"},
    },
}

# Stock Django in the same settings: must stay unpooled. It needs mysqlclient,
# or PyMySQL standing in for it; with only mysql-connector it cannot load.
if any(importlib.util.find_spec(name) for name in ("MySQLdb", "pymysql")):
    DATABASES["stock"] = {
        "ENGINE": "django.db.backends.mysql",
        **SERVER.django(),
        "TEST": {"MIRROR": "default"},
    }

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "mysqlpool",
    "tests.app",
]
ROOT_URLCONF = "tests.urls"
SECRET_KEY = "mysqlpool-tests"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"mysqlpool": {"handlers": ["console"], "level": "WARNING"}},
}
