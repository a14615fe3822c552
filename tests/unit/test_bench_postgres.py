"""The benchmark's comparison with Django's own PostgreSQL pool: its settings,
which cases exist on which server, and the goal of being ahead of it."""

from __future__ import annotations

import pytest

from benchmarks import postgres
from benchmarks.cases import POOL_SIZE
from benchmarks.report import evaluate_targets
from benchmarks.servers import Server
from benchmarks.worker import database_settings, unsupported

SERVER = Server("db.example", 5433, "bench", "secret")


@pytest.mark.parametrize(("url", "server"), [
    ("postgresql://postgres@127.0.0.1:5432/postgres",
     Server("127.0.0.1", 5432, "postgres", "")),
    ("postgres://u%40x:p%2Fw@db.example/", Server("db.example", 5432, "u@x", "p/w")),
    ("postgresql://", Server("127.0.0.1", 5432, "postgres", "")),
])
def test_server_from_url(url, server):
    assert postgres.server_from_url(url) == server


@pytest.mark.parametrize(("url", "server"), [
    ("mysql://root@127.0.0.1:3306/", Server("127.0.0.1", 3306, "root", "")),
    ("mariadb://u:p%40@db.example/", Server("db.example", 3306, "u", "p@")),
])
def test_mysql_server_from_url(url, server):
    assert Server.from_url(url) == server


@pytest.mark.parametrize(("parse", "url", "message"), [
    (postgres.server_from_url, "mysql://root@h/", r"--postgres-url 'mysql://root@h/'.*postgresql://"),
    (Server.from_url, "postgresql://u@h/", r"--url 'postgresql://u@h/'.*mysql://"),
])
def test_a_url_of_another_scheme_is_refused_with_the_expected_form(parse, url, message):
    with pytest.raises(SystemExit, match=message):
        parse(url)


@pytest.mark.parametrize(("case", "expected"), [
    ("never-closed", {"CONN_MAX_AGE": None}),
    ("stock-0", {"CONN_MAX_AGE": 0}),
    # Django's pool, bounded as mysqlpool's cases are (pool_size, no overflow).
    ("django-pool", {"OPTIONS": {"pool": {"min_size": POOL_SIZE, "max_size": POOL_SIZE}}}),
])
def test_django_settings_per_case(case, expected):
    settings = database_settings(postgres.DRIVER, case, SERVER)
    assert settings == {
        "ENGINE": "django.db.backends.postgresql", "HOST": "db.example", "PORT": "5433",
        "NAME": "mysqlpool_bench", "USER": "bench", "PASSWORD": "secret", **expected}


@pytest.mark.parametrize(("driver", "case", "reason"), [
    (postgres.DRIVER, "mysqlpool", "a MySQL case"),
    (postgres.DRIVER, "dbcp", "a MySQL case"),
    ("pymysql", "django-pool", "Django's own pool is PostgreSQL's"),
    ("mysqlclient", "django-pool", "Django's own pool is PostgreSQL's"),
])
def test_cases_of_the_other_server_do_not_run(driver, case, reason):
    assert reason in unsupported(driver, case)


def summary(driver: str, case: str, threads: int, rps: float) -> tuple:
    return (driver, case, threads), {"rps": rps, "ratio_median": None,
                                     "peak_connections": None}


@pytest.mark.parametrize(("mysqlpool_rps", "met"), [(960, True), (870, True), (860, False)])
def test_mysqlpool_is_compared_with_djangos_postgresql_pool_at_each_thread_count(
        mysqlpool_rps, met):
    summaries = dict([
        summary("pymysql", "never-closed", 8, 1000),
        summary("pymysql", "mysqlpool", 8, mysqlpool_rps),
        summary(postgres.DRIVER, "never-closed", 8, 2000),
        summary(postgres.DRIVER, "django-pool", 8, 1740),  # 0.87
    ])
    found = [t for t in evaluate_targets(summaries) if "PostgreSQL" in t["target"]]
    assert [(t["required"], t["met"]) for t in found] == [(0.87, met)]
    assert found[0]["target"].startswith("pymysql: mysqlpool / never closed at 8 threads")


def test_no_comparison_without_both_pools_measured():
    summaries = dict([
        summary("pymysql", "never-closed", 1, 1000),
        summary("pymysql", "mysqlpool", 1, 950),
        summary(postgres.DRIVER, "never-closed", 1, 2000),
    ])
    assert not [t for t in evaluate_targets(summaries) if "PostgreSQL" in t["target"]]
