"""Pooling itself: reuse, limits, isolation between aliases, settings changes."""

import sys
import threading
import time

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

import mysqlpool
from mysqlpool import pool as pools
from tests.conftest import connection_id
from tests.users import LIMITED, OTHER

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


def test_no_extra_statements_on_checkout():
    connection = connections["default"]
    connection_id()
    connection.close()
    with CaptureQueriesContext(connection) as captured:
        connection_id()
    # Only the query itself: no isolation-level SET, no version query.
    assert [q["sql"] for q in captured.captured_queries] == ["SELECT CONNECTION_ID()"]


def test_32_threads_over_a_pool_of_4_hold_at_most_4_server_connections(admin, fresh_pools):
    seen, errors, done = [], [], threading.Event()

    def monitor():
        while not done.is_set():
            seen.append(len(admin.connection_ids(LIMITED.user)))
            time.sleep(0.005)

    def worker():
        try:
            for _ in range(5):
                with connections["limited"].cursor() as cursor:
                    cursor.execute("SELECT SLEEP(0.01)")
                connections["limited"].close()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    watcher = threading.Thread(target=monitor)
    watcher.start()
    workers = [threading.Thread(target=worker) for _ in range(32)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(60)
    done.set()
    watcher.join()
    assert errors == []
    assert max(seen) <= 4, max(seen)
    assert max(seen) >= 1
    assert mysqlpool.stats()["limited"]["connects"] <= 4


def test_two_aliases_with_different_users_never_share(fresh_pools):
    wrong = []

    def worker(alias, user):
        for _ in range(20):
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT CURRENT_USER()")
                current = cursor.fetchone()[0]
            if not current.startswith(user + "@"):
                wrong.append((alias, current))
            connections[alias].close()
        connections.close_all()

    threads = [
        threading.Thread(target=worker, args=(alias, user))
        for alias, user in [("other", OTHER.user), ("limited", LIMITED.user)] * 4
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert wrong == []
    stats = mysqlpool.stats()
    assert stats["other"]["connects"] >= 1 and stats["limited"]["connects"] >= 1


def test_pool_keys_hold_no_plaintext_password():
    connection_id("other")
    pool = pools.pool_for("other")
    assert OTHER.password not in repr(pool.key)
    assert OTHER.password not in repr(pool)
    assert OTHER.password not in repr(mysqlpool.stats())


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
    deadline = time.monotonic() + 5
    while admin.connection_ids(LIMITED.user) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert admin.connection_ids(LIMITED.user) == set()
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


def test_a_connection_returned_mid_transaction_is_rolled_back():
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute("START TRANSACTION")
        cursor.execute("INSERT INTO app_item (name, quantity, created) VALUES ('x', 1, NOW())")
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM app_item WHERE name = 'x'")
        assert cursor.fetchone()[0] == 0


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

        thread = threading.Thread(target=opener)
        thread.start()
        thread.join()
        with connection.cursor() as cursor:
            cursor.execute("SELECT CONNECTION_ID()")
            assert cursor.fetchone()[0] == opened[0]
    finally:
        connection.close()
        connection.dec_thread_sharing()


def test_a_transaction_that_only_read_is_rolled_back_on_return(admin):
    # Its only statement returns rows, whose closing packet PyMySQL does not
    # read the server status from. Left open, its row lock stays in the pool
    # (and the next checkout's SET autocommit=1 would commit it).
    from django.db import transaction

    from tests.app.models import Item

    item = Item.objects.create(name="locked")
    connection = connections["default"]
    with transaction.atomic():
        Item.objects.select_for_update().get(pk=item.pk)
        server_id = connection_id()
        connection.close()
    open_transactions = admin.query(
        "SELECT trx_id FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = %s",
        (server_id,),
    )
    assert open_transactions == []


def test_every_checkout_is_counted_under_concurrency(fresh_pools):
    threads, each = 16, 200
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads interleave far more than by default
    try:
        workers = [threading.Thread(target=lambda: [
            (connections["default"].ensure_connection(), connections["default"].close())
            for _ in range(each)]) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
    finally:
        sys.setswitchinterval(switch_interval)
    assert mysqlpool.stats()["default"]["checkouts"] == threads * each
