"""Pooling itself: reuse, limits, isolation between aliases, settings changes."""

import gc
import sys
import threading

import pytest
from django.conf import settings
from django.db import connections

import mysqlpool
from mysqlpool import pool as pools
from tests.conftest import connection_id, wait_for
from tests.support.threads import run_in_thread, run_threads
from tests.users import LIMITED

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_a_closed_connection_goes_back_to_the_pool(fresh_pools):
    # From an empty pool: earlier tests leave several idle connections, and a
    # FIFO pool would hand out another one of them.
    first = connection_id()
    connections["default"].close()
    assert connection_id() == first


def test_stock_alias_in_the_same_settings_stays_unpooled():
    if "stock" not in settings.DATABASES:
        pytest.skip("stock django.db.backends.mysql needs mysqlclient or PyMySQL")
    stock = connections["stock"]
    first = connection_id("stock")
    stock.close()
    second = connection_id("stock")
    stock.close()
    assert first != second, "stock Django opens a new connection after close()"
    assert "stock" not in mysqlpool.stats()
    assert type(stock).__module__ == "django.db.backends.mysql.base"


def test_32_threads_over_a_pool_of_4_hold_at_most_4_server_connections(admin, fresh_pools):
    seen, done = [], threading.Event()

    def monitor():
        while not done.is_set():
            seen.append(len(admin.connection_ids(LIMITED.user)))
            done.wait(0.005)

    def worker():
        for _ in range(5):
            with connections["limited"].cursor() as cursor:
                cursor.execute("SELECT SLEEP(0.01)")
            connections["limited"].close()

    watcher = threading.Thread(target=monitor)
    watcher.start()
    try:
        run_threads([worker] * 32)
    finally:
        done.set()
        watcher.join()
    assert max(seen) <= 4, max(seen)
    assert max(seen) >= 1
    assert mysqlpool.stats()["limited"]["connects"] <= 4


def test_changed_settings_get_a_new_pool_and_dispose_of_the_old():
    connection = connections["default"]
    first_id = connection_id()
    old = pools.pool_for("default")
    connection.close()
    saved = connection.settings_dict["OPTIONS"]
    connection.settings_dict["OPTIONS"] = {**saved, "init_command": "SET @mysqlpool_marker = 1"}
    try:
        assert connection_id() != first_id
        new = pools.pool_for("default")
        assert new is not old and old.retired
        with connection.cursor() as cursor:
            cursor.execute("SELECT @mysqlpool_marker")
            assert cursor.fetchone()[0] == 1
    finally:
        connection.close()
        connection.settings_dict["OPTIONS"] = saved


def test_close_pool_closes_idle_server_connections(admin, fresh_pools):
    connection_id("limited")
    connections["limited"].close()
    assert len(admin.connection_ids(LIMITED.user)) == 1
    mysqlpool.close_pool("limited")
    wait_for(lambda: admin.connection_ids(LIMITED.user) == set(), 5,
             "close_pool() left idle connections on the server")
    assert "limited" not in mysqlpool.stats()
    connection_id("limited")  # a new pool on next use
    assert "limited" in mysqlpool.stats()


def test_close_pool_of_everything(fresh_pools):
    connection_id("default")
    connection_id("other")
    connections.close_all()
    assert set(mysqlpool.stats()) >= {"default", "other"}
    mysqlpool.close_pool()
    assert mysqlpool.stats() == {}
    assert connection_id("default")


def test_session_changes_do_not_reach_the_next_request():
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        cursor.execute("SET @leftover = 42")
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT @leftover")
        assert cursor.fetchone()[0] is None
        # MariaDB < 11.1 names it tx_isolation, MySQL 8 transaction_isolation.
        name = "tx_isolation" if connection.mysql_is_mariadb else "transaction_isolation"
        cursor.execute(f"SELECT @@SESSION.{name}")
        assert cursor.fetchone()[0] == "READ-COMMITTED"


def test_a_shared_connection_outlives_the_thread_that_opened_it():
    # Django's inc_thread_sharing(): a thread handed another thread's wrapper may
    # open its connection; the wrapper keeps using it after that thread ends.
    connection = connections["default"]
    connection.close()
    connection.inc_thread_sharing()
    try:
        opened = []

        def opener():
            with connection.cursor() as cursor:
                cursor.execute("SELECT CONNECTION_ID()")
                opened.append(cursor.fetchone()[0])

        run_in_thread(opener)
        with connection.cursor() as cursor:
            cursor.execute("SELECT CONNECTION_ID()")
            assert cursor.fetchone()[0] == opened[0]
    finally:
        connection.close()
        connection.dec_thread_sharing()


def test_every_checkout_is_counted_under_concurrency(fresh_pools):
    threads, each = 16, 200
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads interleave far more than by default
    try:
        def worker() -> None:
            for _ in range(each):
                connections["default"].ensure_connection()
                connections["default"].close()

        run_threads([worker] * threads, timeout=120)
    finally:
        sys.setswitchinterval(switch_interval)
    assert mysqlpool.stats()["default"]["checkouts"] == threads * each


def test_a_connection_that_ends_leaves_no_reference_cycle(fresh_pools):
    # As Django's select_related memory-leak test checks: nothing the pool
    # drops may need the cycle collector (gc.garbage stays empty).
    from mysqlpool.pool import PooledConnection

    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(3):
            connection_id()
            connections["default"].close()
            mysqlpool.close_pool()  # every connection ends
        gc.collect()
        left = [item for item in gc.garbage if isinstance(item, PooledConnection)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == []
