"""What the benchmark measures: the drivers, the cases, the pool's size, the
table and its rows, and how long each mode runs."""

from __future__ import annotations

DRIVERS = ("mysqlclient", "pymysql", "mysql-connector")
#: On request: Django's own pool on PostgreSQL, for comparison (benchmarks.postgres).
POSTGRES = "postgresql"
ALL_DRIVERS = (*DRIVERS, POSTGRES)
NEVER_CLOSED_AGAIN = "never-closed-again"
DRIVER_MODULES = {
    "mysqlclient": "MySQLdb",
    "pymysql": "pymysql",
    "mysql-connector": "mysql.connector",
    POSTGRES: "psycopg",
}
DRIVER_DISTRIBUTIONS = {
    "mysqlclient": "mysqlclient",
    "pymysql": "PyMySQL",
    "mysql-connector": "mysql-connector-python",
    POSTGRES: "psycopg",
}
CASES = {
    "stock-0": "stock, CONN_MAX_AGE=0",
    "never-closed": "stock, never closed",
    # The control: the never-closed case measured again in each round, so
    # that a run shows how far two measurements of the same code differ.
    NEVER_CLOSED_AGAIN: "stock, never closed, again",
    "dbcp": "django-db-connection-pool",
    "mysqlpool": "mysqlpool",
    "mysqlpool-otel": "mysqlpool, OpenTelemetry SDK on",
    "mysqlpool-prometheus": "mysqlpool, Prometheus on",
    "django-pool": "Django's own pool",
}
#: Run when --cases is not given; the metrics cases on request.
DEFAULT_CASES = ("stock-0", "never-closed", NEVER_CLOSED_AGAIN, "dbcp", "mysqlpool")
POOL_SIZE = 10
MAX_OVERFLOW = 0
ROWS = 1000
BENCH_DATABASE = "mysqlpool_bench"
BENCH_USER = "mysqlpool_bench"
# A local account on the benchmark's own database, only so that its
# connections can be told apart from everyone else's on a shared server.
BENCH_PASSWORD = "mysqlpool-bench"

URL_VARIABLES = ("MYSQLPOOL_BENCH_URL", "MYSQLPOOL_TEST_URL")

MODES = {
    # rounds: each case runs this many times, interleaved with the other cases
    # of its driver so that a busy moment of a shared machine hits them all
    # (in a turning order: round_order); the best round of each case is reported.
    "quick": {"rounds": 1, "warmup": 0.3, "duration": 1.0, "warm_limit": 10.0},
    "full": {"rounds": 5, "warmup": 0.5, "duration": 2.0, "warm_limit": 60.0},
}


def round_order(runnable: list[tuple[str, str]], round_number: int) -> list[tuple[str, str]]:
    """The (driver, case) pairs in the order round ``round_number`` (from 1)
    runs them: drivers as given, each driver's cases turned by one place per
    round, so that over as many rounds as it has cases each case runs once
    in each place (first after another driver's cases, last before the next
    driver's), and where a case runs in a round favours none of them."""
    drivers = list(dict.fromkeys(driver for driver, _case in runnable))
    ordered = []
    for driver in drivers:
        cases = [pair for pair in runnable if pair[0] == driver]
        turn = (round_number - 1) % len(cases)
        ordered.extend(cases[turn:] + cases[:turn])
    return ordered
