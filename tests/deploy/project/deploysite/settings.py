"""Settings from the environment the tests give each process.

DEPLOY_DB_* name the database and its user; DEPLOY_ENGINE is ``pooled``
(mysqlpool) or ``stock`` (Django's MySQL backend, for comparison);
DEPLOY_POOL_IN says where the pool settings go: ``options``
(``OPTIONS["pool"]``, Django's convention) or ``arguments``
(``MYSQLPOOL_ARGUMENTS``); DEPLOY_DRIVER sets ``MYSQLPOOL_DRIVER`` (unset:
mysqlpool detects one); DEPLOY_PROMETHEUS=1 sets ``MYSQLPOOL_PROMETHEUS``.
"""

import os

env = os.environ.get

SECRET_KEY = "mysqlpool-deploy-tests"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "deploysite.urls"
INSTALLED_APPS = ["mysqlpool", "deploysite"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

POOL = {
    "pool_size": int(env("DEPLOY_POOL_SIZE", "10")),
    "max_overflow": int(env("DEPLOY_MAX_OVERFLOW", "0")),
    "timeout": float(env("DEPLOY_POOL_TIMEOUT", "30")),
}
DATABASES = {
    "default": {
        "ENGINE": "mysqlpool.backends.mysqlpool",
        "NAME": env("DEPLOY_DB_NAME"),
        "USER": env("DEPLOY_DB_USER"),
        "PASSWORD": env("DEPLOY_DB_PASSWORD"),
        "HOST": env("DEPLOY_DB_HOST", "127.0.0.1"),
        "PORT": env("DEPLOY_DB_PORT", "3306"),
        "OPTIONS": {"connect_timeout": 10},
    },
}
if env("DEPLOY_ENGINE", "pooled") == "stock":
    DATABASES["default"]["ENGINE"] = "django.db.backends.mysql"
    DATABASES["default"]["CONN_MAX_AGE"] = None
    if env("DEPLOY_DRIVER") == "pymysql":
        import pymysql

        pymysql.install_as_MySQLdb()
elif env("DEPLOY_POOL_IN", "arguments") == "options":
    DATABASES["default"]["OPTIONS"]["pool"] = POOL
else:
    MYSQLPOOL_ARGUMENTS = POOL
if env("DEPLOY_DRIVER"):
    MYSQLPOOL_DRIVER = env("DEPLOY_DRIVER")
# Prometheus metrics, in prometheus_client's multi-process mode when
# PROMETHEUS_MULTIPROC_DIR is set (served at /metrics/).
MYSQLPOOL_PROMETHEUS = env("DEPLOY_PROMETHEUS") == "1"

# Celery: the Redis broker, a queue of the test's own.
CELERY_BROKER_URL = env("DEPLOY_BROKER", "redis://127.0.0.1:6379/0")
CELERY_TASK_DEFAULT_QUEUE = env("DEPLOY_QUEUE", "deploysite")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "mysqlpool": {"handlers": ["console"], "level": "WARNING"},
        "django.request": {"handlers": ["console"], "level": "ERROR"},
    },
}
