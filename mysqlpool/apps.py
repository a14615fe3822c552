from django.apps import AppConfig
from django.core import checks


class MySQLPoolConfig(AppConfig):
    """Optional: adds the ``mysqlpool_stats`` command. The checks and the
    backend work without it."""

    name = "mysqlpool"
    verbose_name = "MySQL connection pool"

    def ready(self) -> None:
        from .checks import check_green_threads, check_pool_settings

        checks.register(check_pool_settings, "mysqlpool")
        checks.register(check_green_threads, "mysqlpool")
