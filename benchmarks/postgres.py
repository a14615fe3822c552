"""Django's own PostgreSQL pool (psycopg_pool, ``OPTIONS["pool"]``), measured
as mysqlpool is: the pool Django ships, against stock connections to
PostgreSQL on the same machine, so that the two pools' ratios to their own
never-closed connections can be set side by side.

    python -m benchmarks.bench --drivers mysqlclient,postgresql \
        --cases never-closed,mysqlpool,django-pool

Opt-in (``--drivers postgresql``): it needs a PostgreSQL server
(``--postgres-url``, or $MYSQLPOOL_BENCH_POSTGRES_URL; default the local one
as ``postgres``) and ``psycopg[pool]``. The benchmark's database and table
are created there as on MySQL; connections are counted in
``pg_stat_activity`` for that database.
"""

from __future__ import annotations

from typing import Any

from benchmarks.cases import BENCH_DATABASE, NEVER_CLOSED_AGAIN, POSTGRES
from benchmarks.servers import ConnectionSampler, Server

DRIVER = POSTGRES
#: The cases that exist on PostgreSQL: stock Django's and Django's own pool.
CASES = ("stock-0", "never-closed", NEVER_CLOSED_AGAIN, "django-pool")
URL_VARIABLE = "MYSQLPOOL_BENCH_POSTGRES_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_from_url(url: str) -> Server:
    """The PostgreSQL server of ``--postgres-url``."""
    return Server.from_url(url, "--postgres-url", ("postgresql", "postgres"), 5432, "postgres")


def _connect(server: Server, database: str) -> Any:
    import psycopg

    return psycopg.connect(host=server.host, port=server.port, user=server.user,
                           password=server.password, dbname=database, autocommit=True)


def admin_connection(server: Server) -> Any:
    """A connection to the server's ``postgres`` database (not the benchmark's,
    whose connections it counts)."""
    return _connect(server, "postgres")


def prepare_server(server: Server, database: str, rows: int) -> str:
    """Create the benchmark's database, table and rows; return the server version."""
    connection = admin_connection(server)
    try:
        version = connection.execute("SHOW server_version").fetchone()[0]
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (database,)).fetchone() is None:
            connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        connection.close()
    connection = _connect(server, database)
    try:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS mysqlpool_bench_row ("
            " id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, quantity INT NOT NULL)")
        if connection.execute("SELECT COUNT(*) FROM mysqlpool_bench_row").fetchone()[0] != rows:
            connection.execute("DELETE FROM mysqlpool_bench_row")
            connection.execute(
                "INSERT INTO mysqlpool_bench_row (id, name, quantity) "
                "SELECT i, 'row ' || i, i %% 97 FROM generate_series(1, %s) AS i", (rows,))
        return str(version)
    finally:
        connection.close()


class PostgresConnectionSampler(ConnectionSampler):
    """Counts the client connections to the benchmark's database while a
    phase runs (from the ``postgres`` database: its own are not counted)."""

    def _connect(self) -> Any:
        return admin_connection(self.server)

    def _query_count(self) -> int:
        return self.connection.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s"
            " AND backend_type = 'client backend'", (BENCH_DATABASE,)).fetchone()[0]


def database_settings(case: str, server: Server, database: str, pool_size: int) -> dict[str, Any]:
    """Django's settings for a case: stock connections, or Django's own pool
    holding at most ``pool_size`` connections (as mysqlpool's cases do)."""
    settings: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": server.host,
        "PORT": str(server.port),
        "NAME": database,
        "USER": server.user,
        "PASSWORD": server.password,
    }
    if case == "django-pool":
        # A fixed size, as mysqlpool's pool_size with max_overflow=0 bounds it.
        settings["OPTIONS"] = {"pool": {"min_size": pool_size, "max_size": pool_size}}
    else:
        settings["CONN_MAX_AGE"] = 0 if case == "stock-0" else None
    return settings


def unsupported(case: str) -> str | None:
    """Why a case cannot run on PostgreSQL here, or None."""
    if case not in CASES:
        return "a MySQL case (mysqlpool pools MySQL and MariaDB)"
    try:
        import psycopg  # noqa: F401
        if case == "django-pool":
            import psycopg_pool  # noqa: F401
    except ImportError as exc:
        return f"needs psycopg[pool] ({exc})"
    return None
