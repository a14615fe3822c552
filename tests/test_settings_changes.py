"""What a wrapper works out from its settings is reused between connections,
and worked out again whenever the settings change: a changed setting always
gets its own pool."""

import pytest
from django.db import connections
from django.test import override_settings

from mysqlpool import pool as pools
from tests.conftest import connection_id
from tests.support.threads import run_in_thread

pytestmark = pytest.mark.django_db(transaction=True)


def current_pool(alias="default"):
    return pools.pool_for(alias)


def test_the_same_settings_reuse_the_pool():
    connection = connections["default"]
    connection_id()
    pool = current_pool()
    connection.close()
    connection_id()
    connection.close()
    assert current_pool() is pool


def test_a_database_renamed_in_place_gets_a_new_pool():
    connection = connections["default"]
    connection_id()
    old = current_pool()
    connection.close()
    name = connection.settings_dict["NAME"]
    try:
        connection.settings_dict["NAME"] = "mysql"  # as the test runner renames it
        with connection.cursor() as cursor:
            cursor.execute("SELECT DATABASE()")
            assert cursor.fetchone()[0] == "mysql"
        assert current_pool() is not old and old.retired
    finally:
        connection.close()
        connection.settings_dict["NAME"] = name
    with connection.cursor() as cursor:
        cursor.execute("SELECT DATABASE()")
        assert cursor.fetchone()[0] == name
    connection.close()


def test_threads_compare_with_one_snapshot_and_each_sees_a_change_in_place():
    def database_and_snapshot():
        connection = connections["default"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT DATABASE()")
            name = cursor.fetchone()[0]
        return name, connection._binding.settings

    connection = connections["default"]
    name, snapshot = database_and_snapshot()
    connection.close()
    other_name, other_snapshot = run_in_thread(database_and_snapshot)
    # Each thread's wrapper has its own binding, but the same snapshot.
    assert other_name == name and other_snapshot is snapshot
    try:
        connection.settings_dict["NAME"] = "mysql"
        assert run_in_thread(database_and_snapshot)[0] == "mysql"
        renamed, renamed_snapshot = database_and_snapshot()
        assert renamed == "mysql" and renamed_snapshot is not snapshot
        assert snapshot["NAME"] == name  # the shared one was not changed
    finally:
        connection.close()
        connection.settings_dict["NAME"] = name
    assert database_and_snapshot() == (name, snapshot)
    connection.close()


def test_pool_arguments_changed_in_place_get_a_new_pool():
    connection = connections["default"]
    connection_id()
    old = current_pool()
    connection.close()
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options["pool"])
    try:
        options["pool"]["pool_size"] = saved["pool_size"] + 1  # the nested dict itself
        connection_id()
        new = current_pool()
        assert new is not old and new.config.pool_size == saved["pool_size"] + 1
    finally:
        connection.close()
        options["pool"] = saved


def test_override_settings_gets_a_new_pool():
    connection = connections["default"]
    connection_id()
    old = current_pool()
    connection.close()
    with override_settings(MYSQLPOOL_ARGUMENTS={"ping_after_idle": 7}):
        connection_id()
        assert current_pool() is not old
        assert current_pool().config.ping_after_idle == 7
        connection.close()
    connection_id()
    assert current_pool().config.ping_after_idle != 7
    connection.close()


def test_close_pool_then_connect_gets_a_new_pool():
    import mysqlpool

    connection = connections["default"]
    connection_id()
    old = current_pool()
    connection.close()
    mysqlpool.close_pool("default")
    connection_id()
    assert current_pool() is not old
    connection.close()
