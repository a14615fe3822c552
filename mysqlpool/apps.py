from django.apps import AppConfig
from django.core import checks


class MySQLPoolConfig(AppConfig):
    """Pools the aliases of Django's own MySQL ENGINE (and backends derived
    from it) whose OPTIONS have "pool", and adds the ``mysqlpool_stats``
    command. mysqlpool's own ENGINE works without it."""

    name = "mysqlpool"
    verbose_name = "MySQL connection pool"

    def ready(self) -> None:
        from .backends import stock
        from .checks import check_green_threads, check_pool_settings

        stock.install()

        checks.register(check_pool_settings, "mysqlpool")
        checks.register(check_green_threads, "mysqlpool")
